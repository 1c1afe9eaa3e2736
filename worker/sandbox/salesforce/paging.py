"""Query result pages: batches of up to 2,000 records linked by `nextRecordsUrl` locators.

REST API Developer Guide, "Query" (resources_query.htm: `nextRecordsUrl` of the form
`/services/data/vXX.X/query/01gD0000002HU6KIAW-2000`) and "Query Options Header"
(headers_queryoptions.htm: `Sforce-Query-Options: batchSize=N`, 200..2,000, default 2,000,
a hint the server may not honour exactly).
"""

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from worker.sandbox.salesforce.errors import SalesforceApiError
from worker.sandbox.salesforce.ids import IdFactory
from worker.sandbox.salesforce.query import CompiledQuery
from worker.sandbox.salesforce.store import Record

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_OPEN_CURSORS = 50
_BATCH_OPTION = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)

Renderer = Callable[[CompiledQuery, Record, str], dict[str, Any]]


@dataclass
class _Cursor:
    compiled: CompiledQuery
    rows: list[Record]
    batch: int
    endpoint: str


def batch_size(header: str | None) -> int:
    """The page size a `Sforce-Query-Options` header asks for, clamped to 200..2,000."""
    match = _BATCH_OPTION.search(header or "")
    if match is None:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match.group(1))))


class QueryCursors:
    """Open query results, served page by page; the oldest are dropped past a bound."""

    def __init__(self, ids: IdFactory, render: Renderer) -> None:
        self._ids = ids
        self._render = render
        self._lock = threading.Lock()
        self._open: OrderedDict[str, _Cursor] = OrderedDict()

    def first_page(
        self,
        compiled: CompiledQuery,
        rows: list[Record],
        *,
        batch: int,
        endpoint: str,
        version: str,
    ) -> dict[str, Any]:
        """The first page of a result; opens a cursor when more pages follow."""
        cursor = _Cursor(compiled, rows, batch, endpoint)
        locator = None
        if len(rows) > batch:
            locator = self._ids.next_id("01g")
            with self._lock:
                self._open[locator] = cursor
                while len(self._open) > MAX_OPEN_CURSORS:
                    self._open.popitem(last=False)
        return self._page(cursor, locator, 0, version)

    def next_page(self, token: str, version: str) -> dict[str, Any]:
        """The page a `nextRecordsUrl` names; raises INVALID_QUERY_LOCATOR when it is unknown."""
        locator, _, start = token.rpartition("-")
        with self._lock:
            cursor = self._open.get(locator)
            if cursor is not None:
                self._open.move_to_end(locator)
        if cursor is None or not start.isdigit() or int(start) > len(cursor.rows):
            raise SalesforceApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, locator, int(start), version)

    def _page(
        self, cursor: _Cursor, locator: str | None, start: int, version: str
    ) -> dict[str, Any]:
        end = start + cursor.batch
        done = end >= len(cursor.rows)
        body: dict[str, Any] = {"totalSize": len(cursor.rows), "done": done}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{locator}-{end}"
        body["records"] = [
            self._render(cursor.compiled, record, version) for record in cursor.rows[start:end]
        ]
        return body
