"""Batching of writes into sObject Collections and Composite requests, and reading their results.

REST API Developer Guide:
- "sObject Collections" (resources_composite_sobjects_collections.htm): up to 200 records of one
  type per request, `allOrNone: false` for per-record results in request order; create with
  `POST /composite/sobjects`, update with `PATCH /composite/sobjects`.
- "Composite" (resources_composite_composite.htm): up to 25 subrequests in one API call, at most
  5 of them sObject Collections or queries; each subresponse has `httpStatusCode` and `body`.
So N records take ceil(N/1000) calls when packed five collections to a composite request.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from worker.sync.base import RecordError, WriteResult

COLLECTION_SIZE = 200
COLLECTIONS_PER_COMPOSITE = 5
_HTTP_OK = 200


@dataclass(frozen=True)
class Collection:
    """One sObject Collections request: records of one type, each answering for its dedup keys.

    `create`: the records are new (POST); otherwise each carries the id it updates (PATCH).
    """

    sobject: str
    records: tuple[Mapping[str, Any], ...]
    keys: tuple[tuple[str, ...], ...]
    create: bool = False

    path = "composite/sobjects"
    """The resource path below `/services/data/vXX.X/`."""

    @property
    def method(self) -> str:
        """POST creates, PATCH updates."""
        return "POST" if self.create else "PATCH"

    def body(self) -> dict[str, Any]:
        """The JSON body: `allOrNone: false` so one bad record never sinks the others."""
        return {"allOrNone": False, "records": [dict(r) for r in self.records]}


def json_value(value: Any) -> Any:
    """A Python value as Salesforce's JSON expects it (dateTime in UTC with milliseconds)."""
    if isinstance(value, datetime):
        utc = value.astimezone(UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.isoformat()
    return value


def record(sobject: str, fields: Mapping[str, Any], record_id: str | None = None) -> dict[str, Any]:
    """One collection record: the `attributes.type` map, the id when updating, the fields."""
    body: dict[str, Any] = {"attributes": {"type": sobject}}
    if record_id is not None:
        body["id"] = record_id
    body.update({name: json_value(value) for name, value in fields.items()})
    return body


def chunk_collections(
    sobject: str,
    items: Sequence[tuple[Mapping[str, Any], tuple[str, ...]]],
    *,
    create: bool = False,
) -> list[Collection]:
    """Split records of one type into collections of at most 200."""
    return [
        Collection(
            sobject=sobject,
            records=tuple(r for r, _ in items[start : start + COLLECTION_SIZE]),
            keys=tuple(k for _, k in items[start : start + COLLECTION_SIZE]),
            create=create,
        )
        for start in range(0, len(items), COLLECTION_SIZE)
    ]


def calls(collections: Sequence[Collection]) -> Iterator[Sequence[Collection]]:
    """Group collections into API calls: one alone goes direct, more share a composite request."""
    for start in range(0, len(collections), COLLECTIONS_PER_COMPOSITE):
        yield collections[start : start + COLLECTIONS_PER_COMPOSITE]


def composite_body(group: Sequence[Collection], api_version: str) -> dict[str, Any]:
    """A Composite request carrying each collection as one subrequest."""
    return {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": collection.method,
                "url": f"/services/data/v{api_version}/{collection.path}",
                "referenceId": f"c{index}",
                "body": collection.body(),
            }
            for index, collection in enumerate(group)
        ],
    }


def collection_results(collection: Collection, body: Any) -> list[WriteResult]:
    """Per-record results of one collection, matched by position as the API guarantees."""
    if not isinstance(body, list) or len(body) != len(collection.records):
        return _whole_failure(collection, RecordError("UNEXPECTED_RESPONSE", str(body)[:200]))
    results: list[WriteResult] = []
    for keys, outcome in zip(collection.keys, body, strict=True):
        if outcome.get("success"):
            results.extend(WriteResult(key, crm_id=outcome.get("id")) for key in keys)
            continue
        errors = outcome.get("errors") or [{}]
        first = errors[0]
        error = RecordError(
            code=str(first.get("statusCode", "UNKNOWN")),
            message=str(first.get("message", "")),
            fields=tuple(first.get("fields") or ()),
        )
        results.extend(WriteResult(key, crm_id=outcome.get("id"), error=error) for key in keys)
    return results


def composite_results(group: Sequence[Collection], body: Any) -> list[WriteResult]:
    """Per-record results of a Composite request, one subresponse per collection."""
    responses = {r.get("referenceId"): r for r in (body or {}).get("compositeResponse", [])}
    results: list[WriteResult] = []
    for index, collection in enumerate(group):
        response = responses.get(f"c{index}")
        if response is None:
            results.extend(_whole_failure(collection, RecordError("NO_SUBRESPONSE", "")))
        elif response.get("httpStatusCode") != _HTTP_OK:
            sub = response.get("body")
            first = sub[0] if isinstance(sub, list) and sub else {}
            error = RecordError(
                code=str(first.get("errorCode", response.get("httpStatusCode"))),
                message=str(first.get("message", "")),
            )
            results.extend(_whole_failure(collection, error))
        else:
            results.extend(collection_results(collection, response.get("body")))
    return results


def _whole_failure(collection: Collection, error: RecordError) -> list[WriteResult]:
    return [WriteResult(key, error=error) for keys in collection.keys for key in keys]
