"""How a planned survey reaches a person and how the answer comes back (DESIGN.md section 9)."""
