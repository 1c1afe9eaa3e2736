"""Which tasks the org already holds for a set of dedup keys: what makes task creation idempotent.

Why not upsert on the key: "Upsert Records Using sObject Rows by External ID"
(resources_sobject_upsert_patch.htm) says an upsert on an External ID field that is not also
Unique needs the "View All Data" permission, which a least-privilege integration user does not
have, and `salesforce/` deploys the key as a plain (non-unique) External ID. So keys are looked
up first, as the HubSpot connector does, and only the missing tasks are created. The External
ID flag still matters: it indexes the field, which keeps these lookups selective.
The lookups read queryAll (resources_queryall.htm), so a task a rep has since deleted or that
the org archived still counts as made, and is never opened a second time.
Composite (resources_composite_composite.htm) carries up to five query subrequests in one call:
1,000 keys take one lookup call.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from worker.sync.salesforce import soql

KEYS_PER_QUERY = 200
QUERIES_PER_COMPOSITE = 5
MAX_KEY_CHARACTERS = 8000
"""Characters of quoted keys per query: query URLs stay short (long ones get 414 URI Too Long)."""


def string_literal(value: str) -> str:
    """A SOQL string literal ("Quoted String Escape Sequences" of the SOQL reference)."""
    escaped = (
        value.replace("\\", "\\\\")
        .replace("'", "\\'")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f"'{escaped}'"


def lookup_queries(sobject: str, key_field: str, keys: Sequence[str]) -> list[str]:
    """SOQL reading `Id` and the key of every record holding one of `keys`, in small queries."""
    queries: list[str] = []
    for chunk in _chunks(keys):
        literals = ", ".join(string_literal(key) for key in chunk)
        queries.append(
            f"SELECT Id, {soql.api_name(key_field)} FROM {soql.api_name(sobject)} "  # noqa: S608 - validated names, escaped literals
            f"WHERE {key_field} IN ({literals})"
        )
    return queries


def _chunks(keys: Sequence[str]) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for key in keys:
        length = len(string_literal(key)) + 2
        if chunk and (len(chunk) == KEYS_PER_QUERY or size + length > MAX_KEY_CHARACTERS):
            yield chunk
            chunk, size = [], 0
        chunk.append(key)
        size += length
    if chunk:
        yield chunk


def composite_lookup(queries: Sequence[str], api_version: str) -> dict[str, Any]:
    """A Composite request running each query (queryAll) as one subrequest."""
    return {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": "GET",
                "url": f"/services/data/v{api_version}/queryAll/?q={quote(query)}",
                "referenceId": f"q{index}",
            }
            for index, query in enumerate(queries)
        ],
    }


def found(records: Sequence[Mapping[str, Any]], key_field: str, wanted: set[str]) -> dict[str, str]:
    """Key -> the first record id holding it, for keys in `wanted`, matched exactly.

    SOQL compares text without regard to case; the worker's keys are case-sensitive.
    """
    by_key: dict[str, str] = {}
    for record in records:
        key = record.get(key_field)
        if isinstance(key, str) and key in wanted and key not in by_key:
            by_key[key] = str(record["Id"])
    return by_key
