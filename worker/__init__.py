"""nps-worker: a self-hosted closed-loop NPS worker beside Salesforce and HubSpot."""
