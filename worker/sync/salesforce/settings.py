"""What the Salesforce connector needs to know beyond the field mapping."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from worker.config.crm import SalesforceConfig
from worker.sync.retry import RetryPolicy
from worker.sync.salesforce.auth import (
    ClientCredentialsAuth,
    JwtBearerAuth,
    PasswordAuth,
    SalesforceAuth,
)

DEFAULT_API_VERSION = "59.0"
SALESFORCE_RETRY = RetryPolicy(attempts=4, max_delay_s=8.0)
"""A few quick retries: simple-salesforce calls are synchronous and the budget is daily."""


@dataclass(frozen=True)
class SalesforceSettings:
    """Credentials by env var name, API version, budget shares, and the task dedup field.

    `task_dedup_field` is a text External ID field on Activity (see `salesforce/` at the repo
    root): tasks and response notes are upserted on it, so a retried batch never creates a
    second task. `bulk_threshold`: a first sync of an object with more records than this goes
    through Bulk API 2.0 after its first REST page (None: always REST). `managers` are the
    config's `followup.managers`, which override the org's `User.ManagerId`. `lookback`: a
    committed cursor never claims records stamped later than this before the org's time of the
    read (see `client.SalesforceClient.pull`).
    """

    auth: SalesforceAuth
    api_version: str = DEFAULT_API_VERSION
    normal_share: float = 0.5
    essential_share: float = 0.8
    task_dedup_field: str = "NPS_Dedup_Key__c"
    bulk_threshold: int | None = None
    bulk_page_records: int = 50_000
    bulk_poll_s: float = 2.0
    lookback: timedelta = timedelta(minutes=5)
    note_subject: str = "NPS response"
    retry: RetryPolicy = SALESFORCE_RETRY
    managers: Mapping[str, str] = field(default_factory=dict)


def auth_from_config(config: SalesforceConfig) -> SalesforceAuth:
    """The flow `crm.salesforce.auth.method` names, with its variable names and the domain."""
    auth = config.auth
    if auth.method == "jwt":
        return JwtBearerAuth(
            username_env=auth.jwt.username_env,
            consumer_key_env=auth.jwt.consumer_key_env,
            private_key_env=auth.jwt.private_key_env,
            private_key_file_env=auth.jwt.private_key_file_env,
            domain=config.domain,
        )
    if auth.method == "client_credentials":
        return ClientCredentialsAuth(
            consumer_key_env=auth.client_credentials.consumer_key_env,
            consumer_secret_env=auth.client_credentials.consumer_secret_env,
            domain=config.domain,
        )
    return PasswordAuth(
        username_env=auth.password.username_env,
        password_env=auth.password.password_env,
        security_token_env=auth.password.security_token_env,
        domain=config.domain,
    )


def settings_from_config(
    config: SalesforceConfig, managers: Mapping[str, str] | None = None
) -> SalesforceSettings:
    """Connector settings from the `crm.salesforce` section (and `followup.managers`)."""
    return SalesforceSettings(
        auth=auth_from_config(config),
        api_version=config.api_version,
        normal_share=config.daily_budget_share.non_essential,
        essential_share=config.daily_budget_share.essential,
        bulk_threshold=config.bulk_threshold,
        lookback=config.lookback,
        managers=dict(managers or {}),
    )
