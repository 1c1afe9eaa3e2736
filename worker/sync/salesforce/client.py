"""`CrmClient` for Salesforce through simple-salesforce: pulls, batched writes, tasks, metadata.

Every request goes through `Transport` (budget, usage, retries) and every vendor failure leaves
as a `CrmError` (`errors.translate`). Pages carry the cursor of their last record, which is what
the caller may commit once the page is stored (promise 7).
Echo loop: our own write-backs bump SystemModstamp, so those records come back on the next pull,
but the mapping selects no write-back field, so they map to the values already mirrored and
nothing reads them as a change.
"""

import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
import structlog
from simple_salesforce.api import Salesforce

from worker.mappers.salesforce import task_state
from worker.sync.base import (
    ApiUsage,
    CrmRecord,
    Cursor,
    FieldInfo,
    FieldUpdate,
    NoteSpec,
    NotFound,
    Page,
    Priority,
    RecordError,
    Rejected,
    TaskPriority,
    TaskSpec,
    TaskState,
    TaskStatus,
    Unavailable,
    UserProfile,
    WriteResult,
)
from worker.sync.budget import ApiBudget
from worker.sync.salesforce import dedup, soql, writes
from worker.sync.salesforce.bulk import BulkPull, BulkUnavailable
from worker.sync.salesforce.errors import CRM, error_code, error_message
from worker.sync.salesforce.metadata import ObjectInfo, object_info
from worker.sync.salesforce.settings import SalesforceSettings
from worker.sync.salesforce.transport import Transport

log = structlog.get_logger(__name__)

TASK = "Task"
SUBJECT_MAX = 255
IDS_PER_QUERY = 200
TASK_FIELDS = ("Status", "IsClosed", "OwnerId", "CompletedDateTime", "Description")
ACTIVE_MANAGERS = "SELECT Id, ManagerId FROM User WHERE IsActive = true"
ACTIVE_USERS = (
    "SELECT Id, FirstName, LastName, LanguageLocaleKey, TimeZoneSidKey FROM User"
    " WHERE IsActive = true"
)
COMPLETED = "Completed"
RECYCLE_BIN = timedelta(days=15)
_HTTP_OK = 200
_SERVER_ERROR = 500
_TASK_PRIORITIES = {
    TaskPriority.LOW: "Low",
    TaskPriority.NORMAL: "Normal",
    TaskPriority.HIGH: "High",
}

Item = tuple[Mapping[str, Any], tuple[str, ...]]


class SalesforceClient:
    """The worker's view of one Salesforce org."""

    name = CRM
    deletion_horizon = RECYCLE_BIN
    """queryAll finds deleted records while they sit in the recycle bin (resources_queryall.htm;
    Salesforce Help, "Recycle Bin": 15 days, less when it is emptied or full)."""

    def __init__(
        self,
        login: Callable[[], Salesforce],
        transport: Transport,
        settings: SalesforceSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._login = login
        self._session: Salesforce | None = None
        self._transport = transport
        self._settings = settings
        self._sleep = sleep
        self._bulk_pull: BulkPull | None = None

    def connect(self) -> None:
        """Log in now, if not logged in yet (otherwise the first call does)."""
        self._session = self._sf

    @property
    def _sf(self) -> Salesforce:
        """The logged-in SDK client; a failed login raises `CrmError`, the next call tries again."""
        if self._session is None:
            self._session = self._login()
        return self._session

    @property
    def _bulk(self) -> BulkPull:
        if self._bulk_pull is None:
            self._bulk_pull = BulkPull(
                self._sf,
                self._transport,
                self.describe,
                max_records=self._settings.bulk_page_records,
                poll_s=self._settings.bulk_poll_s,
                sleep=self._sleep,
            )
        return self._bulk_pull

    def pull(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        """Records of `object_name` changed after `since`, oldest first, one page per response.

        Each page's cursor claims no record stamped within `settings.lookback` of the org's time
        of the first response (see `soql.capped`): the next pull reads that overlap again.
        """
        query = soql.incremental(object_name, fields, since, deleted=False)
        yield from self._paged(object_name, query, since, bulk_fields=fields)

    def live_ids(self, object_name: str) -> Iterator[Sequence[str]]:
        """Every live record's id, a page at a time (Bulk API 2.0 for a large object)."""
        query = soql.incremental(object_name, (), Cursor(), deleted=False)
        for page in self._paged(object_name, query, Cursor(), bulk_fields=()):
            yield [record.id for record in page.records]

    def pull_deleted(self, object_name: str, since: Cursor) -> Iterator[Page]:
        """Records deleted after `since`, through queryAll (resources_queryall.htm)."""
        query = soql.incremental(object_name, (), since, deleted=True)
        yield from self._paged(object_name, query, since, bulk_fields=None)

    def _paged(
        self, object_name: str, query: str, since: Cursor, *, bulk_fields: Sequence[str] | None
    ) -> Iterator[Page]:
        """Pages of a REST query; a large first sync moves on to Bulk API 2.0 after page one.

        `bulk_fields` is None for deletions, which stay on queryAll. When the org refuses the
        bulk job, paging simply continues through REST from the first page.
        """
        deleted = bulk_fields is None
        reached = since
        limit: datetime | None = None
        results = self._query_results(query, include_deleted=deleted, priority=Priority.NORMAL)
        for number, result in enumerate(results):
            parsed = [_record(object_name, r, deleted=deleted) for r in result["records"]]
            if number == 0:
                limit = self._horizon(parsed)
            records = [r for r in parsed if soql.is_after(r.modified_at, r.id, since)]
            if records:
                reached = Cursor(records[-1].modified_at, records[-1].id)
                yield Page(records=records, cursor=soql.capped(reached, since, limit))
            if number == 0 and bulk_fields is not None and self._bulk_worth_it(since, result):
                try:
                    for page in self._bulk.pages(object_name, bulk_fields, reached):
                        yield Page(page.records, soql.capped(page.cursor, since, limit))
                except BulkUnavailable:
                    log.warning("salesforce_bulk_unavailable", object=object_name)
                else:
                    return

    def _horizon(self, first_page: Sequence[CrmRecord]) -> datetime | None:
        """The newest stamp a read may vouch for: the org's time of its answer (its newest
        record, when the answer carried no Date) less the look-back; None for an empty read."""
        read_at = self._transport.server_time or max(
            (r.modified_at for r in first_page), default=None
        )
        return soql.horizon(read_at, self._settings.lookback) if read_at else None

    def _bulk_worth_it(self, since: Cursor, first: Mapping[str, Any]) -> bool:
        """A first sync whose first REST page announces more records than the bulk threshold."""
        threshold = self._settings.bulk_threshold
        return (
            threshold is not None
            and since.modified_at is None
            and not first.get("done", True)
            and int(first.get("totalSize", 0)) > threshold
        )

    def _query_results(
        self, query: str, *, include_deleted: bool, priority: Priority
    ) -> Iterator[dict[str, Any]]:
        """Each response of a query, following `nextRecordsUrl` (resources_query.htm)."""
        result = self._transport.call(
            "query", priority, lambda: self._sf.query(query, include_deleted=include_deleted)
        )
        yield result
        yield from self._more_results(result, priority)

    def _more_results(
        self, result: Mapping[str, Any], priority: Priority
    ) -> Iterator[dict[str, Any]]:
        """The pages after `result`, following `nextRecordsUrl` until `done`."""
        while not result.get("done", True):
            following: dict[str, Any] = self._transport.call(
                "query_more",
                priority,
                partial(self._sf.query_more, str(result["nextRecordsUrl"]), identifier_is_url=True),
            )
            yield following
            result = following

    def update(
        self, updates: Sequence[FieldUpdate], priority: Priority = Priority.NORMAL
    ) -> list[WriteResult]:
        """Apply updates in sObject Collections of 200, five collections per Composite call.

        Updates of one record are merged (later values win), since a collection may not name
        a record twice; each dedup key still gets its own result.
        """
        merged: dict[tuple[str, str], tuple[dict[str, Any], list[str]]] = {}
        for update in updates:
            fields, keys = merged.setdefault((update.object, update.record_id), ({}, []))
            fields.update(update.fields)
            keys.append(update.dedup_key)
        by_object: dict[str, list[Item]] = {}
        for (sobject, record_id), (fields, keys) in merged.items():
            by_object.setdefault(sobject, []).append(
                (writes.record(sobject, fields, record_id), tuple(keys))
            )
        collections = [
            collection
            for sobject, items in by_object.items()
            for collection in writes.chunk_collections(sobject, items)
        ]
        return _in_order([u.dedup_key for u in updates], self._send(collections, priority))

    def create_tasks(
        self, tasks: Sequence[TaskSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Open follow-up tasks; a task whose dedup key the org already holds is not made again.

        Every lookup reads queryAll, which sees deleted tasks too, so `unsure` keys need
        nothing more here.
        """
        return self._create_once(
            [
                (
                    task.dedup_key,
                    self._task_record(
                        task.dedup_key,
                        Subject=task.subject[:SUBJECT_MAX],
                        Description=task.body,
                        ActivityDate=task.due_at.astimezone(_zone(task.time_zone)).date(),
                        ReminderDateTime=task.due_at,
                        IsReminderSet=True,
                        Priority=_TASK_PRIORITIES[task.priority],
                        OwnerId=task.owner_id,
                        WhoId=task.contact_id,
                        WhatId=task.account_id,
                    ),
                )
                for task in tasks
            ]
        )

    def create_notes(
        self, notes: Sequence[NoteSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Log each response as a completed Task (the activity timeline reps already read);
        `unsure` as for `create_tasks`."""
        return self._create_once(
            [
                (
                    note.dedup_key,
                    self._task_record(
                        note.dedup_key,
                        Subject=(note.subject or self._settings.note_subject)[:SUBJECT_MAX],
                        Description=note.body,
                        ActivityDate=note.at.astimezone(UTC).date(),
                        Status=COMPLETED,
                        WhoId=note.contact_id,
                        WhatId=note.account_id,
                    ),
                )
                for note in notes
            ]
        )

    def _task_record(self, dedup_key: str, **fields: Any) -> dict[str, Any]:
        values = {name: value for name, value in fields.items() if value is not None}
        values[self._settings.task_dedup_field] = dedup_key
        return writes.record(TASK, values)

    def _create_once(self, items: Sequence[tuple[str, dict[str, Any]]]) -> list[WriteResult]:
        """Create tasks idempotently: look their dedup keys up, create only what is missing.

        A create whose answer is lost (dropped connection, 5xx) may have been committed, so it
        is never re-sent as it was: the keys still pending are looked up again first (see
        `dedup`). Creates refused before the org ran them (rate limits) are retried as usual.
        """
        results: dict[str, WriteResult] = {}
        pending = dict(items)
        attempts = self._settings.retry.attempts
        for attempt in range(1, attempts + 1):
            for key, task_id in self._existing_tasks(list(pending)).items():
                results[key] = WriteResult(key, crm_id=task_id)
                del pending[key]
            if not pending:
                break
            creates = [(record, (key,)) for key, record in pending.items()]
            collections = writes.chunk_collections(TASK, creates, create=True)
            try:
                for result in self._sent(collections, Priority.ESSENTIAL, idempotent=False):
                    results[result.dedup_key] = result
                    pending.pop(result.dedup_key, None)
            except Unavailable as error:
                if attempt == attempts:
                    raise
                log.warning(
                    "salesforce_create_interrupted",
                    attempt=attempt,
                    pending=len(pending),
                    code=error.code,
                )
                self._sleep(self._settings.retry.delay(attempt))
            else:
                break
        _warn_rejected(results.values())
        return [results[key] for key, _ in items]

    def _existing_tasks(self, keys: Sequence[str]) -> dict[str, str]:
        """Dedup key -> id of the task holding it, for the keys the org already has."""
        field = self._settings.task_dedup_field
        queries = dedup.lookup_queries(TASK, field, keys)
        records: list[Mapping[str, Any]] = []
        for start in range(0, len(queries), dedup.QUERIES_PER_COMPOSITE):
            group = queries[start : start + dedup.QUERIES_PER_COMPOSITE]
            if len(group) == 1:
                results = self._query_results(
                    group[0], include_deleted=True, priority=Priority.ESSENTIAL
                )
                records.extend(record for result in results for record in result["records"])
                continue
            request = dedup.composite_lookup(group, self._settings.api_version)
            body = self._transport.call(
                "dedup_lookup",
                Priority.ESSENTIAL,
                partial(self._sf.restful, "composite", method="POST", json=request),
            )
            for response in (body or {}).get("compositeResponse", []):
                status = int(response.get("httpStatusCode") or 0)
                if status != _HTTP_OK:
                    sub = response.get("body")
                    failure = Unavailable if status >= _SERVER_ERROR else Rejected
                    raise failure(CRM, error_code(sub), error_message(sub))
                result = response["body"]
                records.extend(result["records"])
                if not result.get("done", True):
                    for more in self._more_results(result, Priority.ESSENTIAL):
                        records.extend(more["records"])
        return dedup.found(records, field, set(keys))

    def _send(
        self, collections: Sequence[writes.Collection], priority: Priority
    ) -> list[WriteResult]:
        results = list(self._sent(collections, priority, idempotent=True))
        _warn_rejected(results)
        return results

    def _sent(
        self, collections: Sequence[writes.Collection], priority: Priority, *, idempotent: bool
    ) -> Iterator[WriteResult]:
        """Each record's result, call by call; a call the org refuses as a whole fails its own."""
        for group in writes.calls(collections):
            try:
                yield from self._send_call(group, priority, idempotent=idempotent)
            except (Rejected, NotFound) as error:
                failure = RecordError(error.code, error.message)
                yield from (
                    WriteResult(key, error=failure)
                    for collection in group
                    for keys in collection.keys
                    for key in keys
                )

    def _send_call(
        self, group: Sequence[writes.Collection], priority: Priority, *, idempotent: bool
    ) -> list[WriteResult]:
        if len(group) == 1:
            collection = group[0]
            body = self._transport.call(
                "collections",
                priority,
                lambda: self._sf.restful(
                    collection.path, method=collection.method, json=collection.body()
                ),
                idempotent=idempotent,
            )
            return writes.collection_results(collection, body)
        request = writes.composite_body(group, self._settings.api_version)
        body = self._transport.call(
            "composite",
            priority,
            lambda: self._sf.restful("composite", method="POST", json=request),
            idempotent=idempotent,
        )
        return writes.composite_results(group, body)

    def task_statuses(self, task_ids: Sequence[str]) -> list[TaskStatus]:
        """Tasks' state read 200 ids a query; ids the org no longer returns count as deleted."""
        found: dict[str, TaskStatus] = {}
        for start in range(0, len(task_ids), IDS_PER_QUERY):
            query = soql.by_ids(TASK, TASK_FIELDS, task_ids[start : start + IDS_PER_QUERY])
            for result in self._query_results(
                query, include_deleted=False, priority=Priority.NORMAL
            ):
                for task in result["records"]:
                    found[task["Id"]] = _task_status(task)
        return [
            found.get(task_id, TaskStatus(task_id, TaskState.DELETED, None, None, None))
            for task_id in task_ids
        ]

    def managers(self) -> dict[str, str]:
        """Each active user's active manager (`User.ManagerId`), overridden by the config's.

        A manager who is not an active user is left out, so escalation falls back (the org
        would refuse a task or notification for an inactive user).
        """
        reported: dict[str, str | None] = {}
        for result in self._query_results(
            ACTIVE_MANAGERS, include_deleted=False, priority=Priority.NORMAL
        ):
            reported.update({str(u["Id"]): u.get("ManagerId") for u in result["records"]})
        active = {user: str(manager) for user, manager in reported.items() if manager in reported}
        return active | dict(self._settings.managers)

    def active_users(self) -> frozenset[str]:
        """Ids of the org's active users: a Task owned by an inactive one is refused
        (`INACTIVE_OWNER_OR_USER`, SOAP API Developer Guide, StatusCode)."""
        return frozenset(self.users())

    def users(self) -> dict[str, UserProfile]:
        """Active users with their locale: `LanguageLocaleKey` (`ja`, `en_US`) gives the
        language of their tasks, `TimeZoneSidKey` (an IANA name) the zone of due times."""
        found: dict[str, UserProfile] = {}
        for result in self._query_results(
            ACTIVE_USERS, include_deleted=False, priority=Priority.NORMAL
        ):
            for user in result["records"]:
                locale = user.get("LanguageLocaleKey")
                found[str(user["Id"])] = UserProfile(
                    str(user["Id"]),
                    user.get("FirstName"),
                    user.get("LastName"),
                    str(locale).split("_")[0] if locale else None,
                    user.get("TimeZoneSidKey"),
                )
        return found

    def describe(self, object_name: str) -> Mapping[str, FieldInfo]:
        """The org's field metadata for one object (resources_sobject_describe.htm)."""
        return self.describe_object(object_name).fields

    def describe_object(self, object_name: str) -> ObjectInfo:
        """One object as the connected user sees it; NotFound when they may not read it."""
        path = f"sobjects/{soql.api_name(object_name)}/describe"
        body = self._transport.call(
            "describe", Priority.NORMAL, lambda: self._sf.restful(path, method="GET")
        )
        return object_info(body or {"name": object_name})

    def usage(self) -> ApiUsage | None:
        """API usage as Salesforce last reported it."""
        return self._transport.budget.usage


def _record(object_name: str, raw: Mapping[str, Any], *, deleted: bool) -> CrmRecord:
    fields = {name: value for name, value in raw.items() if name != "attributes"}
    return CrmRecord(
        object=object_name,
        id=str(raw["Id"]),
        modified_at=soql.parse_datetime(str(raw[soql.MODSTAMP])),
        fields=fields,
        deleted=deleted,
    )


def _task_status(raw: Mapping[str, Any]) -> TaskStatus:
    completed = raw.get("CompletedDateTime")
    return TaskStatus(
        task_id=str(raw["Id"]),
        state=task_state(raw.get("Status"), bool(raw.get("IsClosed"))),
        owner_id=raw.get("OwnerId"),
        completed_at=soql.parse_datetime(completed) if completed else None,
        modified_at=soql.parse_datetime(str(raw[soql.MODSTAMP])),
        body=raw.get("Description"),
    )


def _warn_rejected(results: Iterable[WriteResult]) -> None:
    outcomes = [result.ok for result in results]
    failed = outcomes.count(False)
    if failed:
        log.warning("salesforce_records_rejected", failed=failed, total=len(outcomes))


def _zone(name: str | None) -> tzinfo:
    """The owner's zone, or UTC for none or one this machine does not know."""
    try:
        return ZoneInfo(name) if name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _in_order(keys: Sequence[str], results: Sequence[WriteResult]) -> list[WriteResult]:
    by_key = {result.dedup_key: result for result in results}
    return [by_key[key] for key in keys]


def make_salesforce_client(
    settings: SalesforceSettings,
    *,
    session: requests.Session,
    environ: Mapping[str, str] | None = None,
    budget: ApiBudget | None = None,
    sleep: Callable[[float], None] = time.sleep,
    defer_login: bool = False,
) -> SalesforceClient:
    """Log in with the configured flow over `session` and return the client.

    The session is the client's own: a response hook on it reads `Sforce-Limit-Info`. The login
    is retried like any call (`Transport`). With `defer_login` the client logs in at its first
    call instead (the daemon: an org unreachable at start is a failed cycle, not a failed start);
    the credentials are read now either way, so a missing variable is a config error at once.
    """
    budget = budget or ApiBudget(CRM, settings.normal_share, settings.essential_share)
    transport = Transport(session, budget, retry=settings.retry, sleep=sleep)
    credentials: dict[str, Any] = settings.auth.sdk_kwargs(
        os.environ if environ is None else environ
    )

    def login() -> Salesforce:
        sf = transport.call(
            "login",
            Priority.ESSENTIAL,
            lambda: Salesforce(session=session, version=settings.api_version, **credentials),
        )
        log.info("salesforce_connected", auth=type(settings.auth).__name__, instance=sf.sf_instance)
        return sf

    client = SalesforceClient(login, transport, settings, sleep=sleep)
    if not defer_login:
        client.connect()
    return client
