"""CRM connection settings: which CRM, how to authenticate, API budget, objects and fields."""

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from worker.config.base import Section
from worker.config.errors import invalid
from worker.config.values import (
    Duration,
    EnvVarName,
    FieldName,
    HttpUrl,
    duration_between,
    pattern,
)


class BudgetShare(Section):
    """Shares of the CRM's daily API allocation the worker may spend, by kind of work."""

    non_essential: float = Field(0.5, gt=0, le=1)
    essential: float = Field(0.8, gt=0, le=1)

    @model_validator(mode="after")
    def _essential_covers_non_essential(self) -> "BudgetShare":
        if self.non_essential > self.essential:
            raise invalid("must not exceed 'essential'", "non_essential")
        return self


class JwtAuth(Section):
    """Salesforce OAuth 2.0 JWT bearer flow (a connected app with a certificate)."""

    username_env: EnvVarName = "SALESFORCE_USERNAME"
    consumer_key_env: EnvVarName = "SALESFORCE_CONSUMER_KEY"
    private_key_env: EnvVarName | None = None
    private_key_file_env: EnvVarName | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_key_source(cls, data: Any) -> Any:
        if isinstance(data, dict) and not (
            data.get("private_key_env") or data.get("private_key_file_env")
        ):
            return {**data, "private_key_file_env": "SALESFORCE_PRIVATE_KEY_FILE"}
        return data

    @model_validator(mode="after")
    def _one_key_source(self) -> "JwtAuth":
        if self.private_key_env and self.private_key_file_env:
            raise invalid(
                "set private_key_env or private_key_file_env, not both", "private_key_env"
            )
        return self


class ClientCredentialsAuth(Section):
    """Salesforce OAuth 2.0 client credentials flow (needs a My Domain as `domain`)."""

    consumer_key_env: EnvVarName = "SALESFORCE_CONSUMER_KEY"
    consumer_secret_env: EnvVarName = "SALESFORCE_CONSUMER_SECRET"  # noqa: S105 (a variable name, not a secret)


class PasswordAuth(Section):
    """Salesforce username, password and security token (legacy orgs)."""

    username_env: EnvVarName = "SALESFORCE_USERNAME"
    password_env: EnvVarName = "SALESFORCE_PASSWORD"  # noqa: S105 (a variable name, not a secret)
    security_token_env: EnvVarName = "SALESFORCE_SECURITY_TOKEN"  # noqa: S105 (a variable name, not a secret)


class SalesforceAuth(Section):
    """The Salesforce authentication flow in use (`method`), and the settings of each flow."""

    method: Literal["jwt", "client_credentials", "password"] = "jwt"
    jwt: JwtAuth = Field(default_factory=JwtAuth)
    client_credentials: ClientCredentialsAuth = Field(default_factory=ClientCredentialsAuth)
    password: PasswordAuth = Field(default_factory=PasswordAuth)

    @property
    def active(self) -> JwtAuth | ClientCredentialsAuth | PasswordAuth:
        """Settings of the flow `method` names."""
        flows: dict[str, JwtAuth | ClientCredentialsAuth | PasswordAuth] = {
            "jwt": self.jwt,
            "client_credentials": self.client_credentials,
            "password": self.password,
        }
        return flows[self.method]


class SalesforceAccount(Section):
    """Which SObject is the account and which of its fields mean what."""

    object: FieldName = "Account"
    name: FieldName = "Name"
    owner: FieldName | None = "OwnerId"
    customer_since: FieldName | None = "CreatedDate"
    """When the account became a customer, for promoter asks' `min_tenure`."""


class SalesforceContact(Section):
    """Which SObject is the contact and which of its fields mean what (null: not mapped)."""

    object: FieldName = "Contact"
    email: FieldName = "Email"
    first_name: FieldName | None = "FirstName"
    last_name: FieldName | None = "LastName"
    account: FieldName = "AccountId"
    owner: FieldName | None = "OwnerId"
    opted_out: FieldName | None = "HasOptedOutOfEmail"
    language: FieldName | None = None
    time_zone: FieldName | None = None


class TriggerObject(Section):
    """A CRM object programs can trigger on, and how its records lead to a contact and account."""

    contact_field: FieldName | None = None
    account_field: FieldName | None = None
    fields: tuple[FieldName, ...] = ()
    title: FieldName | None = None
    """The field naming a record to people (a case's subject, a deal's name): follow-up tasks
    and invitations say which moment the survey asked about."""


def _api_version(value: Any) -> Any:
    return f"{value:.1f}" if isinstance(value, float) else value


SalesforceObjectName = Annotated[
    str, pattern(r"[A-Za-z][A-Za-z0-9_]*", "SObject name", "e.g. Case or Foo__c")
]


def default_salesforce_triggers() -> dict[str, TriggerObject]:
    return {
        "Case": TriggerObject(
            contact_field="ContactId", account_field="AccountId", title="Subject"
        ),
        "Opportunity": TriggerObject(
            contact_field="ContactId", account_field="AccountId", title="Name"
        ),
    }


class SalesforceConfig(Section):
    """Everything the Salesforce connector needs besides the secrets themselves."""

    auth: SalesforceAuth = Field(default_factory=SalesforceAuth)
    domain: str = "login"
    api_version: Annotated[
        str, BeforeValidator(_api_version), pattern(r"\d{2,3}\.0", "API version", "e.g. 60.0")
    ] = "60.0"
    daily_budget_share: BudgetShare = Field(default_factory=BudgetShare)
    bulk_threshold: int = Field(10_000, ge=1)
    lookback: Annotated[Duration, duration_between("0s", "1h")] = dt.timedelta(minutes=5)
    """Overlap of incremental pulls: a transaction commits records stamped when it began."""
    account: SalesforceAccount = Field(default_factory=SalesforceAccount)
    contact: SalesforceContact = Field(default_factory=SalesforceContact)
    triggers: dict[SalesforceObjectName, TriggerObject] = Field(
        default_factory=default_salesforce_triggers
    )

    @model_validator(mode="after")
    def _domain_fits_auth(self) -> "SalesforceConfig":
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.-]*", self.domain):
            raise invalid(
                f"invalid domain '{self.domain}' (login, test, or your My Domain, e.g. acme.my)",
                "domain",
            )
        if self.auth.method == "client_credentials" and self.domain in ("login", "test"):
            raise invalid(
                "client_credentials needs your My Domain (e.g. acme.my), not login or test",
                "domain",
            )
        return self


class HubSpotCompany(Section):
    """Which HubSpot object is the account (companies) and which properties mean what."""

    object: Literal["companies"] = "companies"
    name: FieldName = "name"
    owner: FieldName | None = "hubspot_owner_id"
    customer_since: FieldName | None = "createdate"
    """When the company became a customer, for promoter asks' `min_tenure`."""


class HubSpotContact(Section):
    """HubSpot contact properties for each domain attribute (null: not mapped)."""

    object: Literal["contacts"] = "contacts"
    email: FieldName = "email"
    first_name: FieldName | None = "firstname"
    last_name: FieldName | None = "lastname"
    account: FieldName = "associatedcompanyid"
    owner: FieldName | None = "hubspot_owner_id"
    opted_out: FieldName | None = "hs_email_optout"
    language: FieldName | None = "hs_language"
    time_zone: FieldName | None = "hs_timezone"


HubSpotObjectType = Annotated[
    str,
    pattern(r"[a-z][a-z_]*|\d+-\d+", "object type", "e.g. tickets, deals or 2-1234567"),
]


def default_hubspot_triggers() -> dict[str, TriggerObject]:
    return {"tickets": TriggerObject(title="subject"), "deals": TriggerObject(title="dealname")}


class HubSpotConfig(Section):
    """Everything the HubSpot connector needs besides the private-app token itself."""

    access_token_env: EnvVarName = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 (a variable name, not a secret)
    tier: Literal[100, 190] = 100
    search_per_second: int = Field(4, ge=1, le=5)
    """Searches a second, kept exactly: HubSpot allows 5 per portal, shared by every app on it
    (4 leaves one to the others; 5 is safe where nothing else searches)."""
    daily_budget_share: BudgetShare = Field(default_factory=BudgetShare)
    lookback: Annotated[Duration, duration_between("0s", "1h")] = dt.timedelta(minutes=5)
    index_wait: Annotated[Duration, duration_between("0s", "5m")] = dt.timedelta(seconds=30)
    """After a create HubSpot may have applied (a 5xx, a dropped connection), how long to wait
    before searching for what it made: new records reach search "after a few moments"."""
    archive_listing_every: Annotated[Duration, duration_between("1h", "30d")] = dt.timedelta(
        hours=24
    )
    """How often deletions are found by listing the whole archive (HubSpot keeps archived
    records 90 days); between listings, only records the loop is acting on are checked."""
    account: HubSpotCompany = Field(default_factory=HubSpotCompany)
    contact: HubSpotContact = Field(default_factory=HubSpotContact)
    triggers: dict[HubSpotObjectType, TriggerObject] = Field(
        default_factory=default_hubspot_triggers
    )


class CrmConfig(Section):
    """The CRM this worker serves; both sub-sections may be present, `kind` picks one.

    `endpoint` sends every CRM request to another base URL (the sandbox emulator, or an egress
    proxy) instead of the vendor's hosts; `ca_bundle` names extra certificate authorities to
    trust for it.
    """

    kind: Literal["salesforce", "hubspot"]
    endpoint: HttpUrl | None = None
    ca_bundle: str | None = Field(None, min_length=1)
    salesforce: SalesforceConfig = Field(default_factory=SalesforceConfig)
    hubspot: HubSpotConfig = Field(default_factory=HubSpotConfig)

    @property
    def object_names(self) -> frozenset[str]:
        """CRM objects of the active kind that a program may name as its trigger object."""
        active = self.salesforce if self.kind == "salesforce" else self.hubspot
        return frozenset({active.account.object, active.contact.object, *active.triggers})
