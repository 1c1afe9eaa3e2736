"""A local Salesforce + HubSpot emulator that the real SDKs talk HTTPS to (demo, e2e, benchmarks).

`worker.sandbox.server.Sandbox` is the entry point; this package init imports nothing so the
emulator packages can import `clock`, `world` and `activity` without cycles.
"""
