"""A worker config pointed at a running sandbox, and what follows from it, for e2e tests."""

from functools import partial

from worker.config import Config, parse_config
from worker.mappers import hubspot as hubspot_mapping
from worker.mappers import salesforce as salesforce_mapping
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.sync.pull import PullTarget

ENV = {
    "SALESFORCE_CONSUMER_KEY": DEFAULT_CREDENTIALS.consumer_key,
    "SALESFORCE_CONSUMER_SECRET": DEFAULT_CREDENTIALS.consumer_secret,
    "HUBSPOT_ACCESS_TOKEN": "sandbox-token",
}


def crm_config(kind: str, base_url: str, ca_path: str) -> Config:
    """A config of `kind` whose CRM calls go to the sandbox at `base_url`."""
    return parse_config(
        f"crm:\n  kind: {kind}\n  endpoint: {base_url}\n  ca_bundle: {ca_path}\n"
        f"  salesforce:\n    domain: {SANDBOX_MY_DOMAIN}\n"
        "    auth: {method: client_credentials}\n",
        env=ENV,
    )


def contacts_target(config: Config) -> PullTarget:
    """The contact pull as the config maps it."""
    if config.crm.kind == "salesforce":
        sf = salesforce_mapping.mapping_from_config(config)
        to_contact = partial(salesforce_mapping.to_contact, mapping=sf.contact)
        return PullTarget(
            sf.contact.object, "contact", sf.read_fields()[sf.contact.object], to_contact
        )
    hs = hubspot_mapping.mapping_from_config(config)
    to_hs_contact = partial(hubspot_mapping.to_contact, mapping=hs)
    return PullTarget(
        "contacts", "contact", hubspot_mapping.pull_properties(hs, "contacts"), to_hs_contact
    )


def live_contacts(sandbox: Sandbox, kind: str) -> set[str]:
    """Ids of every live contact in the sandbox CRM of `kind`."""
    if kind == "salesforce":
        return {record["Id"] for record in sandbox.salesforce.records("Contact")}
    return {record["hs_object_id"] for record in sandbox.hubspot.records("contacts")}
