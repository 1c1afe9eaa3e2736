"""First syncs of large objects through Bulk API 2.0 query jobs, as pages like the REST pull's.

Bulk API 2.0 Developer Guide, "Understanding Bulk API 2.0 Query" (queries.htm): a job runs the
SOQL asynchronously and its results are read as CSV, `maxRecords` a request, following the
`Sforce-Locator` header. ORDER BY disables PK chunking and is advised against, so the results
are unordered: every page but the last carries the cursor the job started from, and the last
one the greatest (SystemModstamp, Id) of the whole job, which is then safe to commit.
CSV has no types: values are typed back from the object's describe (booleans, numbers, empty
as null) and datetimes rewritten in the REST format, so bulk and REST pulls compare equal.
A job takes a while (UploadComplete, InProgress) and may end Failed or Aborted ("Get
Information About a Query Job", query_get_one_job.htm): such a job gave nothing, and the pull
goes on through REST. Results are asked for gzip-compressed ("Use Compression for Bulk API 2.0
Query Responses": `Accept-Encoding: gzip`, answered with `Content-Encoding: gzip`) and read
as the UTF-8 the API sends. Every step goes through simple-salesforce's request method, so a
session that expired during a long job is renewed (401 INVALID_SESSION_ID, a new login, the
call again) like any other call's.
"""

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC
from itertools import islice
from typing import Any

import requests
import structlog
from simple_salesforce.api import Salesforce

from worker.sync.base import (
    CrmRecord,
    Cursor,
    FieldInfo,
    FieldType,
    NotFound,
    Page,
    Priority,
    Unavailable,
)
from worker.sync.salesforce import soql
from worker.sync.salesforce.errors import CRM
from worker.sync.salesforce.transport import Transport

log = structlog.get_logger(__name__)

JOB_COMPLETE = "JobComplete"
JOB_FAILED = frozenset({"Failed", "Aborted"})
RESULT_HEADERS = {"Accept": "text/csv", "Accept-Encoding": "gzip"}


class BulkUnavailable(Exception):
    """The query job gave nothing: the org refused to create it (no Bulk API 2.0), or it ended
    Failed or Aborted. Nothing was read from it."""


def _converter(info: FieldInfo | None) -> Callable[[str], Any]:
    """How one column's CSV cells become the values the REST API would have returned, chosen
    once per column of a result page (a look-up per cell cost more than the conversions)."""
    kind = info.type if info else FieldType.OTHER
    if kind is FieldType.BOOLEAN:
        return _boolean
    if kind is FieldType.NUMBER:
        return _number
    if kind is FieldType.DATETIME:
        return _rest_datetime
    return _text


def _text(value: str) -> str | None:
    return value if value != "" else None


def _boolean(value: str) -> bool | None:
    return value.lower() == "true" if value != "" else None


def _number(value: str) -> float | None:
    return float(value) if value != "" else None


def _rest_datetime(value: str) -> str | None:
    if value == "":
        return None
    if len(value) == 24 and value[19] == "." and value[23] == "Z":
        return value[:23] + "+0000"  # already UTC to the millisecond: only the zone differs
    moment = soql.parse_datetime(value.replace("Z", "+0000"))
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}+0000"
    )


def nested(row: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted CSV columns (`Owner.Name`) as the nested objects REST returns."""
    result: dict[str, Any] = {}
    for column, value in row.items():
        *parents, leaf = column.split(".")
        target = result
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return result


STORE_BATCH = 2000
"""Records per page handed to the store: a REST query page's size."""


class BulkPull:
    """Runs one Bulk API 2.0 query job per large first sync and yields its result pages.

    Each step (create, status, one results page) is one retryable call through `Transport`.
    """

    def __init__(
        self,
        sf: Salesforce,
        transport: Transport,
        describe: Callable[[str], Mapping[str, FieldInfo]],
        *,
        max_records: int,
        poll_s: float,
        sleep: Callable[[float], None],
    ) -> None:
        self._sf = sf
        self._transport = transport
        self._describe = describe
        self._max_records = max_records
        self._poll_s = poll_s
        self._sleep = sleep

    def pages(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        """Records of `object_name` after `since`, in result pages of the bulk job.

        Raises `BulkUnavailable` before yielding anything when the job cannot be created.
        """
        infos = {name.lower(): info for name, info in self._describe(object_name).items()}
        query = soql.incremental(object_name, fields, since, deleted=False, ordered=False)
        body = {"operation": "query", "query": query}
        try:
            job = self._transport.call(
                "bulk_create",
                Priority.NORMAL,
                lambda: self._sf.restful("jobs/query", method="POST", json=body),
            )
        except NotFound as error:
            raise BulkUnavailable(object_name) from error
        if not job:
            raise Unavailable(CRM, "BULK_JOB_NOT_CREATED", "no job in the response")
        job_id = str(job["id"])
        self._wait(job_id, object_name)
        cursor = since
        locator: str | None = None
        while True:
            text, locator = self._results(job_id, locator)
            parsed = _records(object_name, text, infos)
            fresh = (r for r in parsed if soql.is_after(r.modified_at, r.id, since))
            # Stored STORE_BATCH records at a time, so memory holds one batch of records (and
            # the page's CSV text), not a whole result page of `maxRecords`.
            batch = list(islice(fresh, STORE_BATCH))
            while True:
                for record in batch:
                    if soql.is_after(record.modified_at, record.id, cursor):
                        cursor = Cursor(record.modified_at, record.id)
                following = list(islice(fresh, STORE_BATCH))
                last = not locator and not following
                yield Page(records=batch, cursor=cursor if last else since)
                if not following:
                    break
                batch = following
            if not locator:
                return

    def _wait(self, job_id: str, object_name: str) -> None:
        """Poll the job until it completes; raises BulkUnavailable when it ends otherwise."""
        while True:
            info = self._transport.call(
                "bulk_status",
                Priority.NORMAL,
                lambda: self._sf.restful(f"jobs/query/{job_id}", method="GET"),
            )
            info = info or {}
            state = str(info.get("state"))
            if state == JOB_COMPLETE:
                return
            if state in JOB_FAILED:
                log.warning(
                    "salesforce_bulk_job_ended",
                    object=object_name,
                    job=job_id,
                    state=state,
                    reason=str(info.get("errorMessage") or ""),
                )
                raise BulkUnavailable(f"{object_name}: job {job_id} {state}")
            self._sleep(self._poll_s)

    def _results(self, job_id: str, locator: str | None) -> tuple[str, str | None]:
        """One page of CSV results and the locator of the next (None after the last).

        `restful` would parse JSON, so the SDK's own request method is called: it carries the
        current session and logs in again when the org answers INVALID_SESSION_ID.
        """
        params: dict[str, str | int] = {"maxRecords": self._max_records}
        if locator:
            params["locator"] = locator
        url = f"{self._sf.base_url}jobs/query/{job_id}/results"

        def fetch() -> requests.Response:
            response: requests.Response = self._sf._call_salesforce(
                "GET", url, name="bulk_results", headers=RESULT_HEADERS, params=params
            )
            return response

        response = self._transport.call("bulk_results", Priority.NORMAL, fetch)
        following = response.headers.get("Sforce-Locator")
        text = response.content.decode("utf-8")
        return text, None if following in (None, "", "null") else following


def _records(object_name: str, text: str, infos: Mapping[str, FieldInfo]) -> Iterator[CrmRecord]:
    """The records of one page of CSV results, typed as REST returns them, read lazily."""
    reader = csv.reader(_lines(text))
    header = next(reader, None)
    if header is None:
        return
    converters = [_converter(infos.get(name.lower())) for name in header]
    dotted = any("." in name for name in header)
    for row in reader:
        if not row:
            continue  # a blank line, as `csv.DictReader` skips
        values = {
            name: convert(cell)
            for name, convert, cell in zip(header, converters, row, strict=False)
        }
        if dotted:
            values = nested(values)
        yield CrmRecord(
            object=object_name,
            id=str(values["Id"]),
            modified_at=soql.parse_datetime(str(values[soql.MODSTAMP])),
            fields=values,
        )


def _lines(text: str) -> Iterator[str]:
    """The lines of `text`, line ends kept (a quoted cell may span lines), one at a time:
    `io.StringIO` would copy a whole result page again, at four bytes a character."""
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start)
        if end < 0:
            yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1
