"""The worker's state: models, engines and sessions, and schema migrations."""
