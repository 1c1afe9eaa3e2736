"""Pure translations between CRM records and domain values, one module per CRM; no I/O."""
