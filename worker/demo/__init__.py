"""`nps-worker demo`: the whole loop on embedded defaults, against the sandbox CRM."""
