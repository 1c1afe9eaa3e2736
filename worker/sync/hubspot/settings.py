"""Connection, pacing and pull settings of the HubSpot connector, read from the config."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from worker.config import Config
from worker.mappers.hubspot import associations_to_read, mapping_from_config

HUBSPOT_API = "https://api.hubapi.com"


@dataclass(frozen=True)
class HubSpotSettings:
    """What the connector needs besides the token's value: where, how fast, what to link."""

    token_env: str = "HUBSPOT_ACCESS_TOKEN"  # noqa: S105 - a variable name, not a token
    base_url: str = HUBSPOT_API
    tier: int = 100  # requests per rolling ten seconds: 100 (Free/Starter) or 190
    search_per_second: int = 4  # our share of the portal's 5 searches a second
    normal_share: float = 0.5
    essential_share: float = 0.8
    lookback: timedelta = timedelta(minutes=5)
    associations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    dedup_property: str = "nps_dedup_key"
    index_wait_s: float = 30.0  # wait before re-checking what an interrupted create made
    archive_listing_every: timedelta = timedelta(hours=24)  # full listings of the archive
    timeout_s: float = 30.0
    managers: Mapping[str, str] = field(default_factory=dict)  # followup.managers: owner -> manager


def settings_from_config(config: Config, base_url: str = HUBSPOT_API) -> HubSpotSettings:
    """The connector settings the config's `crm.hubspot` section describes."""
    hubspot = config.crm.hubspot
    mapping = mapping_from_config(config)
    return HubSpotSettings(
        token_env=hubspot.access_token_env,
        base_url=base_url,
        tier=hubspot.tier,
        search_per_second=hubspot.search_per_second,
        normal_share=hubspot.daily_budget_share.non_essential,
        essential_share=hubspot.daily_budget_share.essential,
        lookback=hubspot.lookback,
        index_wait_s=hubspot.index_wait.total_seconds(),
        archive_listing_every=hubspot.archive_listing_every,
        associations={
            name: links
            for name in hubspot.triggers
            if (links := associations_to_read(mapping, name))
        },
        dedup_property=mapping.dedup_property,
        managers=dict(config.followup.managers),
    )
