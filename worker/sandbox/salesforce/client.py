"""The one place that builds a simple-salesforce client for the sandbox org."""

from typing import Any

import requests
from simple_salesforce.api import Salesforce

from worker.sandbox.salesforce.org import DEFAULT_CREDENTIALS, SalesforceOrg

# Client credentials need a My Domain (simple-salesforce refuses 'login'/'test' for that flow);
# the sandbox's transport adapter sends every *.salesforce.com host to the sandbox.
SANDBOX_MY_DOMAIN = "northstar-sandbox.my"


def client_for(session: requests.Session, **auth: Any) -> Salesforce:
    """A client logged in through the org's real login endpoints (client credentials by default).

    `session` must route *.salesforce.com to the sandbox (the worker's endpoint adapter does);
    `auth` takes simple-salesforce's own keyword arguments to pick another flow (username +
    password + security_token for the SOAP login, username + consumer_key + privatekey for the
    JWT bearer flow, ...).
    """
    options = auth or {
        "consumer_key": DEFAULT_CREDENTIALS.consumer_key,
        "consumer_secret": DEFAULT_CREDENTIALS.consumer_secret,
        "domain": SANDBOX_MY_DOMAIN,
    }
    return Salesforce(session=session, **options)


def admin_client_for(session: requests.Session, org: SalesforceOrg, base_url: str) -> Salesforce:
    """A client acting as the org's System Administrator, for what the integration user may not
    do (delete records, create accounts): tests set the org up with it as a person would."""
    return Salesforce(session_id=org.issue_admin_session(), instance_url=base_url, session=session)
