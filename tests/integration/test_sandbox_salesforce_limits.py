"""The daily API allocation over HTTPS: the usage header, the limits resource, refusals."""

from datetime import timedelta

import pytest
import requests
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceRefusedRequest

from tests.sandbox_session import sandbox_session
from worker.sandbox.salesforce import client_for
from worker.sandbox.server import Sandbox


@pytest.fixture
def sf(sandbox: Sandbox) -> Salesforce:
    """A simple-salesforce client logged in to the default sandbox."""
    return client_for(sandbox_session(sandbox))


def test_every_call_counts_and_reports_usage(sf: Salesforce, sandbox: Sandbox) -> None:
    """Each data-API call counts one; the login does not; sf.api_usage follows the header."""
    assert sandbox.salesforce.api_usage() == (0, 100_000)
    sf.query("SELECT Id FROM Account LIMIT 1")
    contact = sf.Contact
    contact.describe()
    assert contact.api_usage["api-usage"].used == 2
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100_000, "Remaining": 100_000 - 3}
    assert (sf.api_usage["api-usage"].used, sf.api_usage["api-usage"].total) == (3, 100_000)


def test_error_responses_carry_the_usage_header(sandbox: Sandbox) -> None:
    """Even a refused call answers with Sforce-Limit-Info."""
    response = sandbox_session(sandbox).get(
        f"{sandbox.base_url}/services/data/v59.0/query", timeout=10
    )
    assert response.headers["Sforce-Limit-Info"] == "api-usage=0/100000"


def test_spent_allocation_refuses_calls(sf: Salesforce, sandbox: Sandbox) -> None:
    """Past the daily limit every call is 403 REQUEST_LIMIT_EXCEEDED and is not counted."""
    sandbox.salesforce.budget.limit = 3
    for _ in range(3):
        sf.query("SELECT COUNT() FROM Contact")
    with pytest.raises(SalesforceRefusedRequest) as caught:
        sf.query("SELECT COUNT() FROM Contact")
    assert caught.value.status == 403
    assert caught.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sandbox.salesforce.api_usage() == (3, 3)


def test_allocation_is_a_rolling_24_hours(sf: Salesforce, sandbox: Sandbox) -> None:
    """Calls older than 24 hours on the sandbox clock no longer count."""
    sandbox.salesforce.budget.limit = 2
    sf.query("SELECT COUNT() FROM Contact")
    sandbox.clock.advance(timedelta(hours=12))
    sf.query("SELECT COUNT() FROM Contact")
    sandbox.clock.advance(timedelta(hours=12, minutes=2))
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 50
    assert sandbox.salesforce.api_usage() == (2, 2)


@pytest.mark.parametrize(
    ("status", "error_code"),
    [
        pytest.param(503, "SERVER_UNAVAILABLE", id="503"),
        pytest.param(500, "UNKNOWN_EXCEPTION", id="500"),
        pytest.param(429, "REQUEST_LIMIT_EXCEEDED", id="429"),
    ],
)
def test_fault_responses_use_salesforce_error_format(
    sandbox: Sandbox, status: int, error_code: str
) -> None:
    """Injected faults answer in Salesforce's JSON error array, with Retry-After when given."""
    response = sandbox.salesforce.error_response(status, retry_after_s=7)
    assert response.status_code == status
    assert response.headers["Retry-After"] == "7"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    body = requests.models.complexjson.loads(response.body)
    assert body[0]["errorCode"] == error_code
    assert set(body[0]) == {"message", "errorCode"}
