"""The sandbox's HubSpot emulator: CRM objects v3, search, properties, associations v4, owners."""

from worker.sandbox.hubspot.client import client_for
from worker.sandbox.hubspot.portal import HubSpotPortal

__all__ = ["HubSpotPortal", "client_for"]
