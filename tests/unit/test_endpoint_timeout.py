"""Every CRM call has a timeout: a CRM that hangs costs one failed call, not a stuck worker."""

from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from worker.sync.endpoint import CRM_TIMEOUT, endpoint_session


@pytest.mark.parametrize(
    ("base_url", "given", "expected"),
    [
        pytest.param(None, None, CRM_TIMEOUT, id="direct, no timeout given"),
        pytest.param("https://127.0.0.1:8443", None, CRM_TIMEOUT, id="routed to the sandbox"),
        pytest.param(None, 5, 5, id="the caller's own timeout wins"),
    ],
)
def test_requests_get_the_crm_timeout_unless_they_set_one(
    monkeypatch: pytest.MonkeyPatch, base_url: str | None, given: float | None, expected: Any
) -> None:
    seen: dict[str, Any] = {}

    def send(_adapter: HTTPAdapter, _request: Any, **kwargs: Any) -> requests.Response:
        seen.update(kwargs)
        raise requests.ConnectionError("not sent in a unit test")

    monkeypatch.setattr(HTTPAdapter, "send", send)
    session = endpoint_session(base_url, None)
    with pytest.raises(requests.ConnectionError):
        session.get("https://acme.my.salesforce.com/services/data", timeout=given)
    assert seen["timeout"] == expected
