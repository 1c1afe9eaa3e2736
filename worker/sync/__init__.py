"""CRM clients behind one Protocol (base.py); paging, batching, limits and retries live here."""
