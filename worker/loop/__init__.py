"""The steps of one cycle (DESIGN.md section 2), each wiring pure rules to the store and CRMs."""
