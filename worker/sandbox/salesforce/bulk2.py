"""Bulk API 2.0 query jobs: create, poll, page through CSV results with `Sforce-Locator`.

Bulk API 2.0 Developer Guide: "Create a Query Job" (query_create_job.htm), "Get Information
About a Query Job" (query_get_one_job.htm: states UploadComplete, InProgress, JobComplete,
Failed, Aborted), "Get Results for a Query Job" (query_get_job_results.htm: `maxRecords`,
`locator`, headers `Sforce-Locator` ("null" on the last page) and `Sforce-NumberOfRecords`),
"Use Compression for Bulk API 2.0 Query Responses" (query_compression.htm: with
`Accept-Encoding: gzip` the results come gzip-compressed, `Content-Encoding: gzip`), "Abort a
Query Job", "Delete a Query Job". A job takes time: it is UploadComplete when created,
InProgress while polled, and reaches its end state at the `polls`-th status read; injected
faults end some jobs Failed or Aborted. Results are the snapshot taken when the job was created
and can be read only once the job is complete.
"""

import base64
import csv
import gzip
import io
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.sandbox.salesforce.errors import SalesforceApiError, not_found
from worker.sandbox.salesforce.ids import IdFactory
from worker.sandbox.salesforce.query import CompiledQuery, QueryEngine
from worker.sandbox.salesforce.rest import AccessOf, ApiRequest, ApiResult, RestApi, Strikes
from worker.sandbox.salesforce.store import Record
from worker.sandbox.salesforce.values import format_datetime

DEFAULT_MAX_RECORDS = 50_000
_DELIMITERS = {
    "COMMA": ",",
    "TAB": "\t",
    "PIPE": "|",
    "SEMICOLON": ";",
    "CARET": "^",
    "BACKQUOTE": "`",
}
_LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
_OPERATIONS = frozenset({"query", "queryAll"})
JOB_COMPLETE = "JobComplete"
_FAILED_MESSAGE = "InvalidBatch : Failed to process query: the query took too long to run"


@dataclass
class _Job:
    id: str
    operation: str
    compiled: CompiledQuery
    rows: list[Record]
    created_by: str
    created: datetime
    delimiter: str
    line_ending: str
    version: str
    fate: str = JOB_COMPLETE
    polls_left: int = 1
    state: str = "UploadComplete"

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.compiled.definition.name,
            "createdById": self.created_by,
            "createdDate": format_datetime(self.created),
            "systemModstamp": format_datetime(self.created),
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "jobType": "V2Query",
            "numberRecordsProcessed": len(self.rows) if self.state == JOB_COMPLETE else 0,
            "retries": 0,
            "totalProcessingTime": 0,
            **({"errorMessage": _FAILED_MESSAGE} if self.state == "Failed" else {}),
        }

    def poll(self) -> None:
        """One status read: the job moves on, and ends after its last poll."""
        if self.state not in {"UploadComplete", "InProgress"}:
            return
        self.polls_left -= 1
        self.state = self.fate if self.polls_left <= 0 else "InProgress"


class BulkQueryJobs:
    """The org's Bulk API 2.0 query jobs, served under `jobs/query`."""

    def __init__(
        self,
        engine: QueryEngine,
        ids: IdFactory,
        access_of: AccessOf,
        strikes: Strikes,
        *,
        polls: int = 3,
    ) -> None:
        self._engine = engine
        self._ids = ids
        self._access_of = access_of
        self._strikes = strikes
        self._polls = max(1, polls)
        self._lock = threading.Lock()
        self._jobs: dict[str, _Job] = {}

    def register(self, api: RestApi) -> None:
        """Add the job resources to the data API dispatcher."""
        api.add("POST", r"jobs/query", lambda request, _m: self.create(request))
        api.add("GET", r"jobs/query/(?P<job>\w+)", lambda request, m: self.get(m["job"]))
        api.add(
            "PATCH", r"jobs/query/(?P<job>\w+)", lambda request, m: self.abort(request, m["job"])
        )
        api.add("DELETE", r"jobs/query/(?P<job>\w+)", lambda request, m: self.delete(m["job"]))
        api.add(
            "GET",
            r"jobs/query/(?P<job>\w+)/results",
            lambda request, m: self.results(request, m["job"]),
        )

    def create(self, request: ApiRequest) -> ApiResult:
        """Create a query job from `{"operation", "query", "columnDelimiter", "lineEnding"}`."""
        body = request.json_body()
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise SalesforceApiError(400, "INVALIDJOB", "Query is required for query jobs")
        operation = body.get("operation", "query")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if operation not in _OPERATIONS:
            raise SalesforceApiError(400, "INVALIDJOB", f"Invalid operation: {operation}")
        if delimiter not in _DELIMITERS or line_ending not in _LINE_ENDINGS:
            raise SalesforceApiError(400, "INVALIDJOB", "Invalid columnDelimiter or lineEnding")
        compiled = self._engine.compile(
            body["query"], now=request.now, access=self._access_of(request.user_id)
        )
        if compiled.count:
            raise SalesforceApiError(
                400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0"
            )
        rows = self._engine.run(compiled, include_deleted=operation == "queryAll")
        path = f"/services/data/v{request.version}/jobs/query"
        fate = JOB_COMPLETE
        if self._strikes(path, "bulk_failed"):
            fate = "Failed"
        elif self._strikes(path, "bulk_aborted"):
            fate = "Aborted"
        job = _Job(
            id=self._ids.next_id("750"),
            operation=operation,
            compiled=compiled,
            rows=rows,
            created_by=request.user_id,
            created=request.now,
            delimiter=delimiter,
            line_ending=line_ending,
            version=request.version,
            fate=fate,
            polls_left=self._polls,
        )
        with self._lock:
            self._jobs[job.id] = job
        return ApiResult(200, job.info())

    def get(self, job_id: str) -> ApiResult:
        """The job's information; each read moves a running job on."""
        job = self._job(job_id)
        with self._lock:
            job.poll()
        return ApiResult(200, job.info())

    def abort(self, request: ApiRequest, job_id: str) -> ApiResult:
        """Abort a job that has not completed (`{"state": "Aborted"}`)."""
        job = self._job(job_id)
        body = request.json_body()
        if not isinstance(body, dict) or body.get("state") != "Aborted":
            raise SalesforceApiError(
                400, "INVALIDJOB", "Only state Aborted can be set on a query job"
            )
        if job.state in {JOB_COMPLETE, "Failed"}:
            raise SalesforceApiError(
                400, "INVALIDJOBSTATE", "Job is already complete and cannot be aborted"
            )
        job.state = "Aborted"
        return ApiResult(200, job.info())

    def delete(self, job_id: str) -> ApiResult:
        """Delete a job and its results."""
        self._job(job_id)
        with self._lock:
            del self._jobs[job_id]
        return ApiResult(204)

    def results(self, request: ApiRequest, job_id: str) -> ApiResult:
        """One page of CSV results, from `locator` for up to `maxRecords` records."""
        job = self._job(job_id)
        if job.state != JOB_COMPLETE:
            raise SalesforceApiError(
                400, "INVALIDJOBSTATE", f"Job is {job.state}; results come once it is complete"
            )
        start = _offset(request.params.get("locator"))
        size = _max_records(request.params.get("maxRecords"))
        page = job.rows[start : start + size]
        end = start + len(page)
        locator = _locator(end) if end < len(job.rows) else "null"
        headers = {"Sforce-Locator": locator, "Sforce-NumberOfRecords": str(len(page))}
        content = self._csv(job, page).encode("utf-8")
        if "gzip" in request.headers.get("accept-encoding", "").lower():
            content = gzip.compress(content)
            headers["Content-Encoding"] = "gzip"
        return ApiResult(
            200,
            content=content,
            media_type="text/csv; charset=UTF-8",
            headers=headers,
            records_out=len(page),
        )

    def _job(self, job_id: str) -> _Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def _csv(self, job: _Job, rows: list[Record]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter=_DELIMITERS[job.delimiter],
            lineterminator=_LINE_ENDINGS[job.line_ending],
            quoting=csv.QUOTE_ALL,
        )
        columns = [(*s.relationship_names, s.field.name) for s in job.compiled.select]
        writer.writerow([".".join(column) for column in columns])
        for row in rows:
            rendered = self._engine.render(job.compiled, row, job.version)
            writer.writerow([_cell(rendered, column) for column in columns])
        return buffer.getvalue()


def _cell(rendered: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = rendered
    for step in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(step)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and _RENDERED_DATETIME.match(value):
        return value.replace("+0000", "Z")
    return str(value)


_RENDERED_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")


def _locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def _offset(locator: str | None) -> int:
    if not locator:
        return 0
    try:
        decoded = base64.b64decode(locator + "=" * (-len(locator) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if not decoded.isdigit():
        raise SalesforceApiError(400, "INVALIDLOCATOR", f"Invalid locator: {locator}")
    return int(decoded)


def _max_records(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_MAX_RECORDS
    if not raw.isdigit() or int(raw) < 1:
        raise SalesforceApiError(400, "INVALIDPARAMETER", f"Invalid maxRecords: {raw}")
    return int(raw)
