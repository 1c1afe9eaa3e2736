"""Records, batches and pages rendered as the CRM object APIs return them."""

from collections.abc import Iterable
from datetime import datetime

from worker.sandbox.hubspot.objects import ObjectType
from worker.sandbox.hubspot.properties import PropertyCatalog
from worker.sandbox.hubspot.store import Record
from worker.sandbox.hubspot.timefmt import iso_ms

# SimplePublicObject / BatchResponseSimplePublicObject(WithErrors) /
# CollectionResponse...ForwardPaging, as in the CRM objects OpenAPI specs
# (the CRM specs in HubSpot/HubSpot-public-api-spec-collection).


def record_json(
    kind: ObjectType,
    record: Record,
    catalog: PropertyCatalog,
    requested: Iterable[str] | None,
) -> dict[str, object]:
    """One record with the requested properties (or the defaults) plus the system ones.

    Requested properties the object does not define are left out; defined but empty ones
    come back as null, as HubSpot does.
    """
    names = kind.default_properties if requested is None else tuple(requested)
    wanted = dict.fromkeys([*names, *kind.always_returned])
    properties = {
        name: record.properties.get(name) for name in wanted if name in catalog.properties
    }
    body: dict[str, object] = {
        "id": record.id,
        "properties": properties,
        "createdAt": iso_ms(record.created_at),
        "updatedAt": iso_ms(record.updated_at),
        "archived": record.archived,
    }
    if record.archived_at is not None:
        body["archivedAt"] = iso_ms(record.archived_at)
    return body


def written_json(kind: ObjectType, record: Record, catalog: PropertyCatalog) -> dict[str, object]:
    """A record as create/update responses return it: defaults plus what was just written."""
    return record_json(kind, record, catalog, [*kind.default_properties, *sorted(record.touched)])


def batch_json(
    results: list[dict[str, object]],
    errors: list[dict[str, object]],
    started_at: datetime,
    completed_at: datetime,
) -> dict[str, object]:
    """A batch response; with errors it is the 207 `...WithErrors` shape."""
    body: dict[str, object] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started_at),
        "completedAt": iso_ms(completed_at),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    return body


def paging_json(after: str | None, link: str | None) -> dict[str, object]:
    """`paging.next` when there is a next page, else nothing."""
    if after is None:
        return {}
    following: dict[str, object] = {"after": after}
    if link is not None:
        following["link"] = link
    return {"paging": {"next": following}}
