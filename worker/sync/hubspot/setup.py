"""`setup-crm` and `check` for HubSpot: create, then verify, every property the mapping uses."""

import structlog

from worker.mappers.hubspot import (
    HubSpotMapping,
    field_problems,
    read_properties,
    required_properties,
)
from worker.sync.hubspot.client import HubSpotClient

log = structlog.get_logger(__name__)


def setup_properties(client: HubSpotClient, mapping: HubSpotMapping) -> list[str]:
    """Create what is missing (idempotent) and say what: groups, properties, enum options.

    An existing property of the wrong type is left alone (changing it could lose data);
    `check` reports it.

    Properties API: https://developers.hubspot.com/docs/api/crm/properties (custom properties
    need both `type` and `fieldType`, and belong in their own group).
    """
    created: list[str] = []
    group = mapping.property_group
    by_object: dict[str, list[str]] = {}
    specs = required_properties(mapping)
    for spec in specs:
        by_object.setdefault(spec.object, []).append(spec.name)
    for object_name in by_object:
        if group not in client.property_groups(object_name):
            client.create_property_group(object_name, group, group.upper())
            created.append(f"{object_name}.{group} (group)")
    existing = {object_name: client.describe(object_name) for object_name in by_object}
    for spec in specs:
        found = existing[spec.object].get(spec.name)
        if found is None:
            client.create_property(spec, group)
            created.append(f"{spec.object}.{spec.name}")
            continue
        missing = [value for value, _ in spec.options if value not in found.options]
        if missing and found.type == spec.kind:
            client.add_options(spec, missing)
            created.append(f"{spec.object}.{spec.name} options: {', '.join(missing)}")
    log.info("hubspot_setup_done", created=len(created))
    return created


def check_properties(client: HubSpotClient, mapping: HubSpotMapping) -> list[str]:
    """`check` for HubSpot: every mapped property, read from the portal's definitions."""
    objects = {spec.object for spec in required_properties(mapping)}
    objects.update(read_properties(mapping))
    described = {name: client.describe(name) for name in sorted(objects)}
    return field_problems(mapping, described)
