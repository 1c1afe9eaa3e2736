"""CRM sessions honour the proxy and CA variables of the environment, read once per origin,
and never let `~/.netrc` replace a call's own credentials."""

from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from worker.sync.endpoint import endpoint_session

HUBSPOT = "https://api.hubapi.com/crm/v3/objects/contacts/search"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[requests.PreparedRequest, dict[str, Any]]]:
    """What reached the adapter, per request, instead of the network."""
    seen: list[tuple[requests.PreparedRequest, dict[str, Any]]] = []

    def send(_adapter: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        seen.append((request, kwargs))
        raise requests.ConnectionError("not sent in a unit test")

    monkeypatch.setattr(HTTPAdapter, "send", send)
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "REQUESTS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return seen


def _post(session: requests.Session, url: str = HUBSPOT, **kwargs: Any) -> None:
    with pytest.raises(requests.ConnectionError):
        session.post(url, data=b"{}", **kwargs)


def test_the_environments_proxy_is_used(
    monkeypatch: pytest.MonkeyPatch, sent: list[tuple[requests.PreparedRequest, dict[str, Any]]]
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    _post(endpoint_session(None, None))
    assert sent[0][1]["proxies"]["https"] == "http://egress.internal:3128"


def test_no_proxy_sends_that_host_direct(
    monkeypatch: pytest.MonkeyPatch, sent: list[tuple[requests.PreparedRequest, dict[str, Any]]]
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    monkeypatch.setenv("NO_PROXY", "hubapi.com")
    session = endpoint_session(None, None)
    _post(session)
    _post(session, "https://login.salesforce.com/services/oauth2/token")
    assert "https" not in sent[0][1]["proxies"]
    assert sent[1][1]["proxies"]["https"] == "http://egress.internal:3128"


def test_a_callers_own_proxy_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, sent: list[tuple[requests.PreparedRequest, dict[str, Any]]]
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    _post(endpoint_session(None, None), proxies={"https": "http://other:8080"})
    assert sent[0][1]["proxies"]["https"] == "http://other:8080"


def test_the_environment_is_read_once_per_origin(
    monkeypatch: pytest.MonkeyPatch, sent: list[tuple[requests.PreparedRequest, dict[str, Any]]]
) -> None:
    session = endpoint_session(None, None)
    _post(session)
    monkeypatch.setenv("HTTPS_PROXY", "http://egress.internal:3128")
    _post(session)
    _post(session, "https://acme.my.salesforce.com/services/data")
    assert "https" not in sent[1][1]["proxies"], "the first answer for the origin is kept"
    assert sent[2][1]["proxies"]["https"] == "http://egress.internal:3128"


def test_requests_ca_bundle_is_honoured(
    monkeypatch: pytest.MonkeyPatch,
    sent: list[tuple[requests.PreparedRequest, dict[str, Any]]],
    tmp_path: Path,
) -> None:
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("not read in a unit test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    _post(endpoint_session(None, None))
    assert sent[0][1]["verify"] == str(bundle)


def test_netrc_never_replaces_the_calls_own_credentials(
    monkeypatch: pytest.MonkeyPatch,
    sent: list[tuple[requests.PreparedRequest, dict[str, Any]]],
    tmp_path: Path,
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine api.hubapi.com login someone password secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    _post(endpoint_session(None, None), headers={"Authorization": "Bearer the-token"})
    assert sent[0][0].headers["Authorization"] == "Bearer the-token"
