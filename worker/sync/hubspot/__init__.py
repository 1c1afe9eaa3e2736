"""The HubSpot connector: `build_client` makes the CrmClient; setup-crm and check helpers."""

from worker.sync.hubspot.client import HubSpotClient, build_client, modified_property
from worker.sync.hubspot.settings import HubSpotSettings, settings_from_config
from worker.sync.hubspot.setup import check_properties, setup_properties
from worker.sync.retry import RetryPolicy

__all__ = [
    "HubSpotClient",
    "HubSpotSettings",
    "RetryPolicy",
    "build_client",
    "check_properties",
    "modified_property",
    "settings_from_config",
    "setup_properties",
]
