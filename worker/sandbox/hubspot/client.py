"""A real hubspot-api-client pointed at the sandbox over TLS."""

from pathlib import Path

from hubspot import HubSpot


def client_for(
    sandbox_base_url: str,
    ca_path: Path,
    access_token: str = "sandbox-token",  # noqa: S107 - the emulator accepts any bearer token
) -> HubSpot:
    """An SDK client whose every generated API talks to the sandbox and trusts its CA.

    hubspot-api-client copies each extra keyword onto every generated `Configuration`
    (`hubspot/discovery/discovery_base.py`): `host` replaces https://api.hubapi.com (the
    `Configuration.host` setter) and `ssl_ca_cert` is the CA bundle urllib3 verifies with.
    """
    return HubSpot(
        access_token=access_token,
        host=sandbox_base_url.rstrip("/"),
        ssl_ca_cert=str(ca_path),
    )
