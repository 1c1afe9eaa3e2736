"""Send CRM traffic to another base URL (the sandbox emulator, an egress proxy) unchanged.

simple-salesforce builds its login URLs from `domain` + ".salesforce.com" and hubspot-api-client
defaults to api.hubapi.com; rewriting scheme, host and port at the transport (path and query
kept) lets both SDKs run their real code paths against the other endpoint.
"""

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

VENDOR_HOST_SUFFIXES = ("salesforce.com", "hubapi.com")


def _vendor_host(host: str) -> bool:
    return any(host == suffix or host.endswith("." + suffix) for suffix in VENDOR_HOST_SUFFIXES)


CRM_TIMEOUT = (10.0, 120.0)
"""(connect, read) seconds for a CRM call; simple-salesforce sets none, and a CRM that hangs
must cost one failed call (retried later), never a worker stuck for good."""


class TimeoutAdapter(HTTPAdapter):
    """Gives every request without its own timeout the CRM default."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with `CRM_TIMEOUT` unless the caller chose a timeout."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = CRM_TIMEOUT
        return super().send(request, **kwargs)


class EndpointAdapter(TimeoutAdapter):
    """Rewrites requests for Salesforce and HubSpot hosts to `base_url`, trusting `ca_path`.

    The CA is set per request because requests lets `REQUESTS_CA_BUNDLE` override
    `Session.verify` (psf/requests issue 3829).
    """

    def __init__(self, base_url: str, ca_path: Path | None) -> None:
        super().__init__()
        target = urlsplit(base_url)
        self._scheme = target.scheme
        self._netloc = target.netloc
        self._ca = str(ca_path) if ca_path else None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Rewrite the URL when it names a vendor host, then send as usual."""
        parts = urlsplit(request.url or "")
        if _vendor_host((parts.hostname or "").lower()):
            request = request.copy()
            request.url = urlunsplit(
                (self._scheme, self._netloc, parts.path, parts.query, parts.fragment)
            )
            parts = urlsplit(request.url)
        if self._ca and parts.netloc == self._netloc:
            kwargs["verify"] = self._ca
        return super().send(request, **kwargs)


def endpoint_session(base_url: str | None, ca_path: Path | None) -> requests.Session:
    """A session for CRM calls, with timeouts: direct when `base_url` is None, else routed there."""
    session = requests.Session()
    adapter = EndpointAdapter(base_url, ca_path) if base_url else TimeoutAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if ca_path:
        session.verify = str(ca_path)
    return session
