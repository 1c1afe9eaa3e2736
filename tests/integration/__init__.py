"""Integration tests: real SDKs over mocked HTTP, and the store on SQLite and PostgreSQL."""
