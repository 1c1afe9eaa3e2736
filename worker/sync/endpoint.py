"""Send CRM traffic to another base URL (the sandbox emulator, an egress proxy) unchanged.

simple-salesforce builds its login URLs from `domain` + ".salesforce.com" and hubspot-api-client
defaults to api.hubapi.com; rewriting scheme, host and port at the transport (path and query
kept) lets both SDKs run their real code paths against the other endpoint.
"""

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

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


class CrmSession(requests.Session):
    """A session that reads the proxy and CA variables of the environment once per origin.

    requests reads them again for every call (the whole environment, twice, and `~/.netrc`):
    0.4 ms of the 2.5 ms of CPU a 90 KB HubSpot search answer costs, for values that do not
    change while the worker runs. `~/.netrc` is not read at all: every CRM call carries its
    own credentials, and a netrc entry for the CRM's host would replace them.
    """

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # netrc, and requests' own per-call reading of the environment
        self._ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._proxies: dict[tuple[str, str | None], dict[str, str]] = {}

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """requests' merge with the environment as it was when first asked for this origin."""
        text = url.decode() if isinstance(url, bytes) else str(url or "")
        parts = urlsplit(text)
        no_proxy = proxies.get("no_proxy") if proxies is not None else None
        key = (f"{parts.scheme}://{parts.netloc}", no_proxy)
        if key not in self._proxies:
            self._proxies[key] = get_environ_proxies(text, no_proxy=no_proxy)
        merged = {**self._proxies[key], **(proxies or {})}
        if verify is True or verify is None:
            verify = self._ca_bundle or verify
        return super().merge_environment_settings(url, merged, stream, verify, cert)


def endpoint_session(base_url: str | None, ca_path: Path | None) -> requests.Session:
    """A session for CRM calls, with timeouts: direct when `base_url` is None, else routed there."""
    session = CrmSession()
    adapter = EndpointAdapter(base_url, ca_path) if base_url else TimeoutAdapter()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    if ca_path:
        session.verify = str(ca_path)
    return session
