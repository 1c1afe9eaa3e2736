"""The outer loop: NPS by segment and touchpoint, themes, operating KPIs and the report."""
