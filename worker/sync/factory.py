"""Build the configured CRM's client, and check or set up its mapped fields.

The one place that turns `crm.kind` into a vendor: everything above it holds a `CrmClient`.
"""

import dataclasses
from collections.abc import Mapping
from pathlib import Path

from worker.config import Config
from worker.mappers import hubspot as hubspot_mapping
from worker.mappers import salesforce as salesforce_mapping
from worker.sync import hubspot, salesforce
from worker.sync.base import CrmClient
from worker.sync.endpoint import endpoint_session
from worker.sync.hubspot.settings import HUBSPOT_API
from worker.sync.retry import QUICK
from worker.sync.salesforce.check import check_fields

SALESFORCE_SETUP = (
    "Salesforce fields are created by deploying the metadata in salesforce/ with the "
    "Salesforce CLI: sf project deploy start --source-dir force-app (see salesforce/README.md)"
)


def connect(
    config: Config, env: Mapping[str, str] | None = None, *, interactive: bool = False
) -> CrmClient:
    """The configured CRM's client (on `crm.endpoint` when set).

    `interactive` clients (a person waiting at `check`) log in now and give up on an
    unreachable CRM after one quick retry. The daemon's clients log in at their first call,
    inside a recorded cycle step, and keep backing off: an unreachable CRM is a failed cycle
    that the next one retries, never a failed start.
    """
    ca_bundle = Path(config.crm.ca_bundle) if config.crm.ca_bundle else None
    session = endpoint_session(config.crm.endpoint, ca_bundle)
    if config.crm.kind == "salesforce":
        settings = salesforce.settings_from_config(config.crm.salesforce, config.followup.managers)
        if interactive:
            settings = dataclasses.replace(settings, retry=QUICK)
        return salesforce.make_salesforce_client(
            settings, session=session, environ=env, defer_login=not interactive
        )
    hubspot_settings = hubspot.settings_from_config(
        config, base_url=config.crm.endpoint or HUBSPOT_API
    )
    retry = QUICK if interactive else None
    return hubspot.build_client(hubspot_settings, env=env, session=session, retry=retry)


def field_problems(config: Config, client: CrmClient) -> list[str]:
    """Each right the connected user lacks, each mapped field that the CRM's metadata says is
    missing, read-only or mistyped, and (Salesforce) each value rules compare a picklist with
    that the picklist lacks."""
    if isinstance(client, salesforce.SalesforceClient):
        mapping = salesforce_mapping.mapping_from_config(config, config.program_fields())
        dedup_field = salesforce.settings_from_config(config.crm.salesforce).task_dedup_field
        return check_fields(
            client,
            salesforce_mapping.expected_fields(mapping, dedup_field),
            salesforce_mapping.required_rights(mapping),
            config.compared_values(),
        )
    if isinstance(client, hubspot.HubSpotClient):
        return hubspot.check_properties(client, hubspot_mapping.mapping_from_config(config))
    raise TypeError(f"no field check for {type(client).__name__}")


def set_up_fields(config: Config, client: hubspot.HubSpotClient) -> list[str]:
    """Create the HubSpot property group and properties the mapping needs; what was created.

    Salesforce fields are metadata, deployed from `salesforce/` (`SALESFORCE_SETUP`).
    """
    return hubspot.setup_properties(client, hubspot_mapping.mapping_from_config(config))
