"""The Salesforce connector: `make_salesforce_client` builds the `CrmClient` (simple-salesforce)."""

from worker.sync.retry import RetryPolicy
from worker.sync.salesforce.auth import (
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    SalesforceAuth,
)
from worker.sync.salesforce.client import SalesforceClient, make_salesforce_client
from worker.sync.salesforce.settings import SalesforceSettings, settings_from_config

__all__ = [
    "ClientCredentialsAuth",
    "JwtBearerAuth",
    "PasswordAuth",
    "RetryPolicy",
    "SalesforceAuth",
    "SalesforceClient",
    "SalesforceSettings",
    "make_salesforce_client",
    "settings_from_config",
]
