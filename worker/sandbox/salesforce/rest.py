"""The REST data API of the org (`/services/data/vXX.X/...`): one dispatcher that HTTP routes and
Composite subrequests share, so a subrequest behaves exactly like the call it stands for.

Resources from the REST API Developer Guide: Versions (resources_versions.htm), Resources by
Version (resources_discoveryresource.htm), Limits (resources_limits.htm), Query and QueryAll
(resources_query.htm, resources_queryall.htm), Describe Global, sObject Basic Information,
sObject Describe, sObject Rows (resources_sobject_retrieve.htm: GET/PATCH/DELETE; PATCH and
DELETE answer 204), sObject create (dome_sobject_create.htm: 201 with id/success/errors).
Every call runs as its session's user, with that user's access (`permissions.Access`).
"""

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from worker.sandbox.salesforce.describe import describe_basic, describe_global, describe_sobject
from worker.sandbox.salesforce.errors import SalesforceApiError, not_found
from worker.sandbox.salesforce.ids import normalize_id
from worker.sandbox.salesforce.limits import ApiBudget
from worker.sandbox.salesforce.paging import QueryCursors, batch_size
from worker.sandbox.salesforce.permissions import Access
from worker.sandbox.salesforce.query import QueryEngine, attributes
from worker.sandbox.salesforce.schema import SObjectDef, sobject
from worker.sandbox.salesforce.sobject_collections import Mode, Upsert, save_records
from worker.sandbox.salesforce.store import RecordStore
from worker.sandbox.salesforce.values import to_json
from worker.sandbox.salesforce.writes import RecordRejected, Writer

API_VERSIONS = tuple(f"{major}.0" for major in range(52, 63))
_NOT_FOUND_CODES = frozenset({"MALFORMED_ID", "INVALID_ID_FIELD", "ENTITY_IS_DELETED"})


@dataclass(frozen=True)
class ApiRequest:
    """One call to the data API, from HTTP or from a Composite subrequest."""

    method: str
    path: str
    version: str
    user_id: str
    now: datetime
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    all_or_none: bool = False  # set by an all-or-none Composite request on its subrequests

    def json_body(self) -> Any:
        """The parsed JSON body; raises JSON_PARSER_ERROR when it is not JSON."""
        if isinstance(self.body, bytes | str):
            try:
                return json.loads(self.body or b"null")
            except json.JSONDecodeError as exc:
                raise SalesforceApiError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Unexpected character: {exc.msg} at [line:{exc.lineno}, column:{exc.colno}]",
                ) from exc
        return self.body


@dataclass
class ApiResult:
    """What the dispatcher answers: status, JSON body (or raw text), headers, record counts."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    text: str | None = None
    content: bytes | None = None
    media_type: str = "application/json"
    records_in: int = 0
    records_out: int = 0


Handler = Callable[[ApiRequest, re.Match[str]], ApiResult]
AccessOf = Callable[[str], Access]
"""A user id's access: their profile and permission sets added up."""
Strikes = Callable[[str, str], bool]
"""(request path, fault kind) -> whether that effect hits this record or job (`FaultInjector`)."""
_VIEW_ALL_DATA_NEEDED = (
    "Upserting on {field}, an External ID field that is not Unique, needs the View All Data "
    "permission"
)


def versions_body() -> list[dict[str, str]]:
    """The Versions resource body: every API version the sandbox answers to."""
    return [
        {"label": f"API v{version}", "url": f"/services/data/v{version}", "version": version}
        for version in API_VERSIONS
    ]


class RestApi:
    """Routes data-API calls to their handlers."""

    def __init__(
        self,
        store: RecordStore,
        writer: Writer,
        engine: QueryEngine,
        cursors: QueryCursors,
        budget: ApiBudget,
        *,
        access_of: AccessOf,
        strikes: Strikes,
    ) -> None:
        self.store = store
        self.writer = writer
        self.engine = engine
        self.cursors = cursors
        self.budget = budget
        self.access_of = access_of
        self.strikes = strikes
        self._routes: list[tuple[frozenset[str], re.Pattern[str], Handler]] = []
        self.add("GET", r"", self._resources)
        self.add("GET", r"limits", self._limits)
        self.add("GET", r"(?P<endpoint>query|queryAll)", self._query)
        self.add("GET", r"(?P<endpoint>query|queryAll)/(?P<locator>[^/]+)", self._query_more)
        self.add("GET", r"sobjects", self._describe_global)
        self.add("GET", r"sobjects/(?P<type>\w+)/describe", self._describe)
        self.add("GET", r"sobjects/(?P<type>\w+)", self._basic_info)
        self.add("POST", r"sobjects/(?P<type>\w+)", self._create)
        self.add("GET", r"sobjects/(?P<type>\w+)/(?P<id>\w+)", self._retrieve)
        self.add("PATCH", r"sobjects/(?P<type>\w+)/(?P<id>\w+)", self._update)
        self.add("DELETE", r"sobjects/(?P<type>\w+)/(?P<id>\w+)", self._delete)
        self.add("POST", r"composite/sobjects", self._collection_create)
        self.add("PATCH", r"composite/sobjects", self._collection_update)
        self.add(
            "PATCH", r"composite/sobjects/(?P<type>\w+)/(?P<field>\w+)", self._collection_upsert
        )

    def add(self, methods: str, pattern: str, handler: Handler) -> None:
        """Register a handler for `methods` (comma-separated) on a path pattern (slash-tolerant)."""
        self._routes.append((frozenset(methods.split(",")), re.compile(f"^{pattern}/?$"), handler))

    def handle(self, request: ApiRequest) -> ApiResult:
        """Answer one call; Salesforce errors become their JSON error bodies."""
        try:
            return self._dispatch(request)
        except SalesforceApiError as error:
            return ApiResult(error.status, error.body())

    def _dispatch(self, request: ApiRequest) -> ApiResult:
        path = request.path.strip("/")
        allowed: set[str] = set()
        for methods, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            if request.method in methods:
                return handler(request, match)
            allowed |= methods
        if allowed:
            raise SalesforceApiError(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{request.method}' not allowed. Allowed are "
                f"{','.join(sorted(allowed))}",
            )
        raise not_found()

    def _resources(self, request: ApiRequest, _match: re.Match[str]) -> ApiResult:
        base = f"/services/data/v{request.version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
        return ApiResult(200, {name: f"{base}/{name}" for name in names})

    def _limits(self, request: ApiRequest, _match: re.Match[str]) -> ApiResult:
        limit = self.budget.limit
        used = self.budget.used(request.now)
        return ApiResult(
            200, {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)}}
        )

    def _query(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        text = request.params.get("q")
        if not text:
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        compiled = self.engine.compile(
            text, now=request.now, access=self.access_of(request.user_id)
        )
        include_deleted = match["endpoint"] == "queryAll"
        rows = self.engine.run(compiled, include_deleted=include_deleted)
        if compiled.count:
            return ApiResult(200, {"totalSize": len(rows), "done": True, "records": []})
        body = self.cursors.first_page(
            compiled,
            rows,
            batch=batch_size(request.headers.get("sforce-query-options")),
            endpoint=match["endpoint"],
            version=request.version,
        )
        return ApiResult(200, body, records_out=len(body["records"]))

    def _query_more(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        body = self.cursors.next_page(match["locator"], request.version)
        return ApiResult(200, body, records_out=len(body["records"]))

    def _describe_global(self, request: ApiRequest, _match: re.Match[str]) -> ApiResult:
        return ApiResult(200, describe_global(request.version, self.access_of(request.user_id)))

    def _describe(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        return ApiResult(200, describe_sobject(definition, request.version, access))

    def _basic_info(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        return ApiResult(200, describe_basic(definition, request.version, access))

    def _create(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        body = request.json_body()
        if not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        with self.store.lock:
            try:
                record = self.writer.create(
                    definition, body, at=request.now, user_id=request.user_id, access=access
                )
            except RecordRejected as rejected:
                raise SalesforceApiError.from_record_errors(400, rejected.errors) from rejected
        location = f"/services/data/v{request.version}/sobjects/{definition.name}/{record['Id']}"
        return ApiResult(
            201,
            {"id": record["Id"], "success": True, "errors": []},
            headers={"Location": location},
            records_in=1,
        )

    def _retrieve(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        with self.store.lock:
            record = self._existing(definition, match["id"])
            wanted = request.params.get("fields")
            fields = tuple(f for f in definition.fields if access.sees(definition, f))
            if wanted:
                fields = tuple(
                    f for name in wanted.split(",") if (f := access.field(definition, name.strip()))
                )
            body: dict[str, Any] = {
                "attributes": attributes(definition.name, record["Id"], request.version)
            }
            body.update({f.name: to_json(record[f.name]) for f in fields})
        return ApiResult(200, body, records_out=1)

    def _update(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        body = request.json_body()
        if not isinstance(body, dict):
            raise SalesforceApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        with self.store.lock:
            self._existing(definition, match["id"])
            try:
                self.writer.update(
                    definition,
                    match["id"],
                    body,
                    at=request.now,
                    user_id=request.user_id,
                    access=access,
                )
            except RecordRejected as rejected:
                raise SalesforceApiError.from_record_errors(400, rejected.errors) from rejected
        return ApiResult(204, records_in=1)

    def _delete(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        with self.store.lock:
            self._existing(definition, match["id"])
            try:
                self.writer.delete(
                    definition, match["id"], at=request.now, user_id=request.user_id, access=access
                )
            except RecordRejected as rejected:
                raise SalesforceApiError.from_record_errors(400, rejected.errors) from rejected
        return ApiResult(204, records_in=1)

    def _collection_create(self, request: ApiRequest, _match: re.Match[str]) -> ApiResult:
        return self._collection(request, "create")

    def _collection_update(self, request: ApiRequest, _match: re.Match[str]) -> ApiResult:
        return self._collection(request, "update")

    def _collection_upsert(self, request: ApiRequest, match: re.Match[str]) -> ApiResult:
        access = self.access_of(request.user_id)
        definition = _definition(match["type"], access)
        field = access.field(definition, match["field"])
        if field is None or not field.external_id:
            raise SalesforceApiError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {match['field']} is not an External ID or indexed field "
                f"for {definition.name}",
            )
        # "Upsert Records Using sObject Rows by External ID" (resources_sobject_upsert_patch.htm):
        # on an External ID that is not also Unique, the client must have View All Data.
        refused = None
        if not field.unique and not access.view_all_data:
            refused = _VIEW_ALL_DATA_NEEDED.format(field=field.name)
        return self._collection(request, Upsert(definition, field, refused=refused))

    def _collection(self, request: ApiRequest, mode: Mode) -> ApiResult:
        body = request.json_body()
        path = f"/services/data/v{request.version}/{request.path}"
        results = save_records(
            self.store,
            self.writer,
            body,
            mode=mode,
            at=request.now,
            user_id=request.user_id,
            access=self.access_of(request.user_id),
            strikes=lambda kind: self.strikes(path, kind),
            force_all_or_none=request.all_or_none,
        )
        return ApiResult(200, results, records_in=len(results))

    def _existing(self, definition: SObjectDef, record_id: str) -> dict[str, Any]:
        """The record a row URL names; 404 as Salesforce answers for unknown or deleted ids."""
        try:
            return self.writer.existing(definition, record_id)
        except RecordRejected as rejected:
            code = rejected.errors[0].status_code
            if code == "ENTITY_IS_DELETED":
                raise SalesforceApiError(404, "ENTITY_IS_DELETED", "entity is deleted") from None
            if code in _NOT_FOUND_CODES and normalize_id(record_id) is None:
                raise SalesforceApiError(
                    404,
                    "NOT_FOUND",
                    f"Provided external ID field does not exist or is not accessible: {record_id}",
                ) from None
            raise not_found() from None


def _definition(name: str, access: Access) -> SObjectDef:
    """The sObject a URL names; NOT_FOUND when it does not exist for this user."""
    definition = sobject(name)
    if definition is None or not access.readable(definition):
        raise not_found()
    return definition
