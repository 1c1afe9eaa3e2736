"""Logging in to the sandbox org through simple-salesforce's real login code, every flow; how
its login endpoints fail; and the owners it accepts."""

from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from tests.sandbox_session import sandbox_session
from worker.sandbox.faults import FaultKind, FaultRule
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS, client_for
from worker.sandbox.server import Sandbox

CREDS = DEFAULT_CREDENTIALS


def _flows(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    return {
        "client-credentials": {},
        "soap-password-token": {
            "username": CREDS.username,
            "password": CREDS.password,
            "security_token": CREDS.security_token,
        },
        "oauth-password": {
            "username": CREDS.username,
            "password": CREDS.password,
            "consumer_key": CREDS.consumer_key,
            "consumer_secret": CREDS.consumer_secret,
        },
        "jwt-bearer": {
            "username": CREDS.username,
            "consumer_key": CREDS.consumer_key,
            "privatekey": sandbox.salesforce.connected_app_private_key(),
        },
    }


@pytest.mark.parametrize(
    "flow",
    [
        pytest.param("client-credentials", id="client-credentials"),
        pytest.param("soap-password-token", id="soap-password-token"),
        pytest.param("oauth-password", id="oauth-password"),
        pytest.param("jwt-bearer", id="jwt-bearer"),
    ],
)
def test_each_login_flow_reaches_the_data_api(sandbox: Sandbox, flow: str) -> None:
    """Every auth kind the connector offers logs in and the session works on the data API."""
    sf = client_for(sandbox_session(sandbox), **_flows(sandbox)[flow])
    assert sf.sf_instance == sandbox.base_url.removeprefix("https://")
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 50


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        pytest.param(
            {"consumer_key": CREDS.consumer_key, "consumer_secret": "wrong", "domain": "acme.my"},
            "invalid_client",
            id="client-credentials-bad-secret",
        ),
        pytest.param(
            {"consumer_key": "unknown", "consumer_secret": "x", "domain": "acme.my"},
            "invalid_client_id",
            id="client-credentials-unknown-app",
        ),
        pytest.param(
            {"username": CREDS.username, "password": "wrong", "security_token": "x"},
            "INVALID_LOGIN",
            id="soap-bad-password",
        ),
        pytest.param(
            {
                "username": CREDS.username,
                "password": "wrong",
                "consumer_key": CREDS.consumer_key,
                "consumer_secret": CREDS.consumer_secret,
            },
            "invalid_grant",
            id="oauth-password-bad-password",
        ),
    ],
)
def test_bad_credentials_are_refused(sandbox: Sandbox, auth: dict[str, str], code: str) -> None:
    """Wrong secrets fail the login with the OAuth error or SOAP LoginFault code."""
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        client_for(sandbox_session(sandbox), **auth)
    assert caught.value.code == code


def test_jwt_signed_by_an_untrusted_key_is_refused(sandbox: Sandbox) -> None:
    """A JWT assertion is only accepted when signed by the connected app's certificate key."""
    sandbox.salesforce.connected_app_private_key()
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        client_for(
            sandbox_session(sandbox),
            username=CREDS.username,
            consumer_key=CREDS.consumer_key,
            privatekey=other,
        )
    assert caught.value.code == "invalid_grant"


def test_token_response_has_the_documented_fields(sandbox: Sandbox) -> None:
    """The token endpoint answers with access_token, instance_url, id, token_type, issued_at,
    signature; instance_url is the host the request reached."""
    response = sandbox_session(sandbox).post(
        "https://login.salesforce.com/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": CREDS.consumer_key,
            "client_secret": CREDS.consumer_secret,
            "username": CREDS.username,
            "password": CREDS.password + CREDS.security_token,
        },
        timeout=10,
    )
    body = response.json()
    assert response.status_code == 200
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(
        body
    )
    assert body["instance_url"] == sandbox.base_url
    assert body["token_type"] == "Bearer"
    assert body["id"].endswith("/" + sandbox.salesforce.integration_user_id)
    assert int(body["issued_at"]) == pytest.approx(sandbox.clock.now().timestamp() * 1000, abs=5000)


def test_unsupported_grant_type_is_an_oauth_error(sandbox: Sandbox) -> None:
    """An unknown grant_type gets 400 unsupported_grant_type."""
    response = sandbox_session(sandbox).post(
        "https://login.salesforce.com/services/oauth2/token",
        data={"grant_type": "authorization_code", "code": "x"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no-authorization"),
        pytest.param({"Authorization": "Bearer not-a-session"}, id="unknown-token"),
    ],
)
def test_data_api_needs_a_live_session(sandbox: Sandbox, headers: dict[str, str]) -> None:
    """Without a valid bearer token the data API answers 401 INVALID_SESSION_ID, uncounted."""
    response = sandbox_session(sandbox).get(
        f"{sandbox.base_url}/services/data/v59.0/limits", headers=headers, timeout=10
    )
    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    assert sandbox.salesforce.api_usage()[0] == 0


def test_expired_session_is_refreshed_by_the_sdk(sandbox: Sandbox) -> None:
    """After every session expires, simple-salesforce logs in again on the 401 and succeeds."""
    sf = client_for(sandbox_session(sandbox))
    first_session = sf.session_id
    sandbox.salesforce.expire_sessions()
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    assert sf.Contact.describe()["name"] == "Contact"
    assert sf.session_id != first_session
    logins = sandbox.log.entries(crm="salesforce", path_pattern="oauth2/token")
    assert len(logins) == 2


def test_direct_session_without_login_raises_expired(sandbox: Sandbox) -> None:
    """A client built from a session id alone cannot refresh: an expired one raises."""
    session = sandbox_session(sandbox)
    sf = Salesforce(
        session_id=sandbox.salesforce.issue_session(),
        instance_url=sandbox.base_url,
        session=session,
    )
    assert sf.query("SELECT COUNT() FROM User")["totalSize"] > 0
    sandbox.salesforce.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT COUNT() FROM User")


def test_versions_list_is_public(sandbox: Sandbox) -> None:
    """GET /services/data/ lists API versions without a session, as Salesforce does."""
    response = requests.get(
        f"{sandbox.base_url}/services/data/", verify=str(sandbox.ca_path), timeout=10
    )
    versions = [entry["version"] for entry in response.json()]
    assert response.status_code == 200
    assert "59.0" in versions
    assert response.json()[0]["url"] == f"/services/data/v{versions[0]}"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param("503", "unknown_error", id="unavailable"),
        pytest.param("500", "unknown_error", id="server-error"),
        pytest.param("429", "rate_limit_exceeded", id="too-many-logins"),
    ],
)
def test_token_endpoint_faults_answer_as_oauth_errors(
    sandbox: Sandbox, status: FaultKind, error: str
) -> None:
    """An injected fault on the token endpoint answers `{"error", "error_description"}` as
    Salesforce's OAuth server does, which simple-salesforce reads into its login error."""
    sandbox.faults.add(FaultRule("salesforce", "^/services/oauth2/token$", status, 1.0))
    response = sandbox_session(sandbox).post(
        "https://login.salesforce.com/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert response.status_code == int(status)
    assert set(response.json()) == {"error", "error_description"}
    assert response.json()["error"] == error

    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        client_for(sandbox_session(sandbox))
    assert caught.value.code == error


def test_soap_login_faults_answer_as_login_faults(sandbox: Sandbox) -> None:
    """An injected fault on the SOAP login answers a LoginFault envelope, code included."""
    sandbox.faults.add(FaultRule("salesforce", "^/services/Soap/u/", "503", 1.0))
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        client_for(sandbox_session(sandbox), **_flows(sandbox)["soap-password-token"])
    assert caught.value.code == "SERVER_UNAVAILABLE"


def test_a_task_for_an_inactive_owner_is_refused_per_record(sandbox: Sandbox) -> None:
    """A real org refuses to give a record to an inactive user (INACTIVE_OWNER_OR_USER) and,
    in an sObject Collection, saves the other records of the request."""
    org = sandbox.salesforce
    gone, stays = sorted(
        str(user["Id"]) for user in org.records("User") if user["Id"] != org.integration_user_id
    )[:2]
    org.update("User", gone, {"IsActive": False})
    sf = client_for(sandbox_session(sandbox))
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Task"}, "Subject": "Call back", "OwnerId": gone},
            {"attributes": {"type": "Task"}, "Subject": "Call back", "OwnerId": stays},
        ],
    }

    results = sf.restful("composite/sobjects", method="POST", json=body)

    refused, saved = results
    assert refused["success"] is False
    assert refused["errors"][0]["statusCode"] == "INACTIVE_OWNER_OR_USER"
    assert refused["errors"][0]["fields"] == ["OwnerId"]
    assert saved["success"] is True
    assert org.record(saved["id"])["OwnerId"] == stays
