"""`HubSpotClient`: the `CrmClient` for HubSpot, on hubspot-api-client, and its one factory.

Reads use CRM search (keyset windows, see `windows.py`), associations v4 batch reads and
property definitions; writes use `batch/update` and `batch/create` (100 inputs a call).
https://developers.hubspot.com/docs/api/crm/search, /crm/associations, /crm/properties,
/crm/tasks, /crm/notes; batch limits: https://developers.hubspot.com/docs/api/usage-details
"""

import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
import structlog
from hubspot import HubSpot
from hubspot.crm.objects.models import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectId,
)
from hubspot.crm.properties.models import PropertyCreate, PropertyGroupCreate, PropertyUpdate

from worker import json_codec
from worker.config import read_secret
from worker.mappers.hubspot import (
    CONTACTS,
    NOTES,
    TASK_READ_PROPERTIES,
    TASKS,
    PropertySpec,
    field_info,
    note_input,
    parse_instant,
    task_input,
    task_status,
)
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
    TaskSpec,
    TaskState,
    TaskStatus,
    Unavailable,
    UserProfile,
    WriteResult,
)
from worker.sync.budget import ApiBudget
from worker.sync.endpoint import endpoint_session
from worker.sync.hubspot.errors import CRM
from worker.sync.hubspot.pacing import Clock, RollingWindow, SearchPace, Sleep
from worker.sync.hubspot.settings import HubSpotSettings
from worker.sync.hubspot.transport import SessionTransport
from worker.sync.hubspot.windows import PAGE_SIZE, Answer, Window, truncate_ms, walk
from worker.sync.prefetch import read_ahead
from worker.sync.retry import RetryPolicy

log = structlog.get_logger(__name__)

BATCH_SIZE = 100  # batch read/create/update inputs per call
OWNERS_PAGE = 100
"""Owners per page: HubSpot's list endpoints page by 100."""
ASSOCIATION_BATCH = 1_000  # v4 association batch read inputs per call (limit since 2025-02)
LIST_PAGE = 100  # list (GET) page size, used for archived records
READ_AHEAD_PAGES = ASSOCIATION_BATCH // PAGE_SIZE
"""Pages a pull may read ahead of the store: one association batch's worth (1,000 records)."""
STORE_BATCH = 2 * ASSOCIATION_BATCH - PAGE_SIZE
"""Records a pulled page holds at least (but the last): search pages are joined up to two
association batches (2,000 records, as a Salesforce Bulk API pull stores them), so the
store's per-page work (lookups, statements, cursor, commit) is paid once per 2,000 records.
Measured on a 100k first sync: 10 % less CPU than 1,000 (half the commits, each writing back
about as many index pages), +10 MB peak RSS, and each transaction holds the write lock about
70 ms instead of 35; 4,000 saved little more for twice the memory and lock."""
CREATE_ATTEMPTS = 3
T = TypeVar("T")
Written = RecordError | datetime | None
"""A record's outcome in a batch update: its error, or when the CRM stamped the write."""


def modified_property(object_name: str) -> str:
    """The last-modified property search sorts on: contacts differ from every other object."""
    return "lastmodifieddate" if object_name == CONTACTS else "hs_lastmodifieddate"


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class HubSpotClient:
    """HubSpot behind the `CrmClient` Protocol: incremental pulls, batched writes, metadata."""

    name = CRM

    def __init__(
        self, sdk: HubSpot, transport: SessionTransport, settings: HubSpotSettings, sleep: Sleep
    ) -> None:
        self.sdk = sdk
        self.transport = transport
        self.settings = settings
        self._sleep = sleep
        crm = sdk.crm
        self._search_api = crm.objects.search_api
        self._batch_api = crm.objects.batch_api
        self._basic_api = crm.objects.basic_api
        self._associations_api = crm.associations.v4.batch_api
        self._properties_api = crm.properties.core_api
        self._groups_api = crm.properties.groups_api
        self._owners_api = crm.owners.owners_api

    def _call(self, priority: Priority, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one SDK call and read HubSpot's JSON as documented (camelCase keys)."""
        body, _ = self._call_timed(priority, call, *args, **kwargs)
        return body

    def _call_timed(
        self, priority: Priority, call: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> tuple[Any, datetime | None]:
        """`_call`, plus the server's time of the answer from its `Date` header.

        The SDK builds and sends the request; its response models are skipped
        (`_preload_content=False`): building them costs as much CPU as the HTTP call itself.
        """
        with self.transport.priority(priority):
            response = call(*args, _preload_content=False, **kwargs)
        body = json_codec.loads(response.data) if response.data else {}
        return body, _http_date(response.getheader("Date"))

    # Reads ------------------------------------------------------------------------------

    def pull(self, object_name: str, fields: Sequence[str], since: Cursor) -> Iterator[Page]:
        """Records of `object_name` modified at or after `since`, oldest first, with links.

        Searches run on a thread of their own, up to one association batch ahead
        (`read_ahead`): they are paced, and what follows a page (reading its associations,
        storing it) then runs during the wait for the next search's turn instead of delaying it.
        Search pages reach the caller joined up to two association batches (`STORE_BATCH`).
        Within one pull no record version is yielded twice. Across pulls some come again and
        the store upserts them: those at the cursor's own instant, and those changed within the
        look-back before the previous read (search-index lag; see `windows.py`).
        """
        searched = self._search_pages(object_name, fields, since)
        pages = read_ahead(searched, f"hubspot-pull-{object_name}", READ_AHEAD_PAGES)
        links = self.settings.associations.get(object_name, ())
        for batch in _batches(pages, STORE_BATCH):
            records = [record for page in batch for record in page.records]
            if links:
                records = self._linked(object_name, links, records)
            yield Page(records, batch[-1].cursor)

    def _search_pages(
        self, object_name: str, fields: Sequence[str], since: Cursor
    ) -> Iterator[Page]:
        modified = modified_property(object_name)
        properties = tuple(dict.fromkeys([*fields, modified]))
        configuration = self._search_api.api_client.configuration

        def fetch(window: Window) -> Answer[CrmRecord]:
            """One search page for `window`, when HubSpot answered, and whether it has more."""
            request = PublicObjectSearchRequest(
                **_search_kwargs(window, modified, properties),
                local_vars_configuration=configuration,  # not a copy of the default per page
            )
            body, answered_at = self._call_timed(
                Priority.NORMAL, self._search_api.do_search, object_name, request
            )
            records = [_record(object_name, raw, modified) for raw in body.get("results", [])]
            return Answer(records, answered_at, _next_after(body) is not None)

        for records, cursor in walk(fetch, since, self.settings.lookback):
            yield Page(records, cursor)

    def _linked(
        self, object_name: str, links: Sequence[str], records: list[CrmRecord]
    ) -> list[CrmRecord]:
        """`records` with their associations, read in batches of up to 1,000 ids."""
        ids = list(dict.fromkeys(record.id for record in records))
        found = {target: self.associated(object_name, target, ids) for target in links}
        return [
            CrmRecord(
                record.object,
                record.id,
                record.modified_at,
                record.fields,
                record.deleted,
                {target: found[target].get(record.id, ()) for target in links},
            )
            for record in records
        ]

    def associated(
        self, from_type: str, to_type: str, ids: Sequence[str]
    ) -> dict[str, tuple[str, ...]]:
        """Associated record ids per record, read with v4 batch reads (1,000 ids a call)."""
        linked: dict[str, list[str]] = {}
        # The request body as the JSON HubSpot documents, encoded here: 1,000 request models
        # a batch (built, then walked back into dicts) cost more CPU than the first sync's
        # store, and even a plain dict is walked item by item by the SDK; bytes pass as they are.
        for chunk in _chunks(ids, ASSOCIATION_BATCH):
            inputs: list[dict[str, str]] = [{"id": record_id} for record_id in chunk]
            while inputs:
                request = json_codec.encode({"inputs": inputs})
                body = self._call(
                    Priority.NORMAL, self._associations_api.get_page, from_type, to_type, request
                )
                inputs = []
                for result in body.get("results", []):
                    source = str(result["from"]["id"])
                    targets = linked.setdefault(source, [])
                    targets.extend(str(item["toObjectId"]) for item in result.get("to", []))
                    after = _next_after(result)
                    if after:
                        inputs.append({"id": source, "after": after})
        return {source: tuple(dict.fromkeys(targets)) for source, targets in linked.items()}

    def pull_deleted(self, object_name: str, since: Cursor) -> Iterator[Page]:
        """Records archived after `since`, oldest first (HubSpot keeps them for 90 days).

        The list endpoint cannot filter by archive time, so every archived record is listed
        (100 a call) and those at or before the cursor are dropped here.
        """
        modified = modified_property(object_name)
        archived: list[CrmRecord] = []
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": LIST_PAGE, "archived": True}
            kwargs["properties"] = [modified]
            if after:
                kwargs["after"] = after
            body = self._call(Priority.NORMAL, self._basic_api.get_page, object_name, **kwargs)
            for raw in body.get("results", []):
                at = parse_instant(raw.get("archivedAt")) or parse_instant(raw.get("updatedAt"))
                if at is None:
                    continue
                record = CrmRecord(object_name, str(raw["id"]), truncate_ms(at), {}, deleted=True)
                if _after_cursor(record, since):
                    archived.append(record)
            after = _next_after(body)
            if not after:
                break
        archived.sort(key=lambda record: (record.modified_at, int(record.id)))
        for chunk in _chunks(archived, LIST_PAGE):
            last = chunk[-1]
            yield Page(list(chunk), Cursor(last.modified_at, last.id))

    @property
    def archive_listing_every(self) -> timedelta:
        """How often the whole archive is listed (`crm.hubspot.archive_listing_every`)."""
        return self.settings.archive_listing_every

    def archived(self, object_name: str, ids: Sequence[str]) -> list[str]:
        """Which of these records HubSpot no longer has live, by batch read (100 a call).

        A batch read answers live records only (the others come back as OBJECT_NOT_FOUND
        errors), so a record missing from the results is archived or gone.
        """
        live: set[str] = set()
        unique = list(dict.fromkeys(ids))
        for chunk in _chunks(unique, BATCH_SIZE):
            request = BatchReadInputSimplePublicObjectId(
                properties=["hs_object_id"],
                inputs=[SimplePublicObjectId(id=record_id) for record_id in chunk],
            )
            body = self._call(Priority.NORMAL, self._batch_api.read, object_name, request)
            live.update(str(raw["id"]) for raw in body.get("results", []))
        return [record_id for record_id in unique if record_id not in live]

    def task_statuses(self, task_ids: Sequence[str]) -> list[TaskStatus]:
        """Task states by batch read (100 a call); a task HubSpot no longer has is DELETED."""
        found: dict[str, TaskStatus] = {}
        for chunk in _chunks(list(dict.fromkeys(task_ids)), BATCH_SIZE):
            request = BatchReadInputSimplePublicObjectId(
                properties=list(TASK_READ_PROPERTIES),
                inputs=[SimplePublicObjectId(id=task_id) for task_id in chunk],
            )
            body = self._call(Priority.NORMAL, self._batch_api.read, TASKS, request)
            for raw in body.get("results", []):
                status = task_status(str(raw["id"]), raw.get("properties") or {})
                found[status.task_id] = status
        return [
            found.get(task_id) or TaskStatus(task_id, TaskState.DELETED, None, None, None)
            for task_id in task_ids
        ]

    def managers(self) -> dict[str, str]:
        """The config's `followup.managers`: HubSpot owners carry no manager.

        Owners' teams do not say who leads them, so guessing a manager from a team would be
        wrong as often as right; RevOps names managers in the config instead. No API call.
        """
        return dict(self.settings.managers)

    def active_users(self) -> frozenset[str]:
        """Ids of the owners a record can be assigned to: `GET /crm/v3/owners` lists the
        active ones unless asked for archived (deactivated) users (CRM API, Owners guide)."""
        return frozenset(self.users())

    def users(self) -> dict[str, UserProfile]:
        """Active owners with their names; owners carry no language or time zone, so those
        come from the config (`followup.reps`, `followup.rep_language`)."""
        found: dict[str, UserProfile] = {}
        after: str | None = None
        while True:
            kwargs: dict[str, Any] = {"limit": OWNERS_PAGE, "archived": False}
            if after:
                kwargs["after"] = after
            body = self._call(Priority.NORMAL, self._owners_api.get_page, **kwargs)
            for owner in body.get("results", []):
                found[str(owner["id"])] = UserProfile(
                    str(owner["id"]), owner.get("firstName"), owner.get("lastName")
                )
            after = _next_after(body)
            if not after:
                return found

    def describe(self, object_name: str) -> Mapping[str, FieldInfo]:
        """Property definitions of one object type, by property name."""
        body = self._call(Priority.NORMAL, self._properties_api.get_all, object_name)
        infos = [field_info(definition) for definition in body.get("results", [])]
        return {info.name: info for info in infos}

    def property_groups(self, object_name: str) -> set[str]:
        """Names of the property groups an object type has."""
        body = self._call(Priority.NORMAL, self._groups_api.get_all, object_name)
        return {str(group["name"]) for group in body.get("results", [])}

    def create_property_group(self, object_name: str, name: str, label: str) -> None:
        """Create a property group on one object type."""
        request = PropertyGroupCreate(name=name, label=label, display_order=-1)
        self._call(Priority.NORMAL, self._groups_api.create, object_name, request)

    def create_property(self, spec: PropertySpec, group: str) -> None:
        """Create one custom property (both `type` and `fieldType`, in its own group)."""
        options = [
            {"label": label, "value": value, "displayOrder": order, "hidden": False}
            for order, (value, label) in enumerate(spec.options)
        ]
        request = PropertyCreate(
            name=spec.name,
            label=spec.label,
            type=spec.type,
            field_type=spec.field_type,
            group_name=group,
            options=options or None,
        )
        self._call(Priority.NORMAL, self._properties_api.create, spec.object, request)

    def add_options(self, spec: PropertySpec, values: Sequence[str]) -> None:
        """Append options of `spec` named by `values` to an existing enumeration property.

        A PATCH replaces the whole option list, so the current options are read first and kept.
        """
        current = self._call(
            Priority.NORMAL, self._properties_api.get_by_name, spec.object, spec.name
        )
        options = list(current.get("options") or [])
        labels = dict(spec.options)
        options += [
            {
                "label": labels[value],
                "value": value,
                "displayOrder": len(options) + n,
                "hidden": False,
            }
            for n, value in enumerate(values)
        ]
        request = PropertyUpdate(options=options)
        self._call(Priority.NORMAL, self._properties_api.update, spec.object, spec.name, request)

    def usage(self) -> ApiUsage | None:
        """The daily usage HubSpot last reported in `X-HubSpot-RateLimit-Daily*` headers."""
        return self.transport.budget.usage

    # Writes -----------------------------------------------------------------------------

    def update(
        self, updates: Sequence[FieldUpdate], priority: Priority = Priority.NORMAL
    ) -> list[WriteResult]:
        """Batch updates, 100 records a call; updates of one record in one call are merged."""
        results: dict[str, WriteResult] = {}
        by_object: dict[str, dict[str, dict[str, Any]]] = {}
        keys: dict[tuple[str, str], list[str]] = {}
        for change in updates:
            merged = by_object.setdefault(change.object, {}).setdefault(change.record_id, {})
            merged.update(change.fields)
            keys.setdefault((change.object, change.record_id), []).append(change.dedup_key)
        for object_name, records in by_object.items():
            record_ids = list(records)
            for chunk in _chunks(record_ids, BATCH_SIZE):
                outcome = self._update_batch(
                    object_name, {rid: records[rid] for rid in chunk}, priority
                )
                for record_id, done in outcome.items():
                    for key in keys[(object_name, record_id)]:
                        results[key] = (
                            WriteResult(key, None, done)
                            if isinstance(done, RecordError)
                            else WriteResult(key, record_id, None, done)
                        )
        return [results[change.dedup_key] for change in updates]

    def _update_batch(
        self, object_name: str, records: Mapping[str, Mapping[str, Any]], priority: Priority
    ) -> dict[str, Written]:
        """Each record's error, or its modification time after the write (`updatedAt`); a
        refused batch is retried without its culprit.

        HubSpot refuses a whole batch update for one invalid value (400 VALIDATION_ERROR).
        """
        request = BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=record_id, properties=dict(values))
                for record_id, values in records.items()
            ]
        )
        try:
            body = self._call(priority, self._batch_api.update, object_name, request)
        except (Rejected, NotFound) as error:
            if len(records) == 1:
                ((record_id, values),) = records.items()
                return {record_id: RecordError(error.code, error.message, tuple(values))}
            fields = error.fields if isinstance(error, Rejected) else ()
            outcome: dict[str, Written] = {}
            for group in _suspect_groups(records, fields):
                outcome.update(self._update_batch(object_name, group, priority))
            return outcome
        done = {
            str(raw["id"]): parse_instant(raw.get("updatedAt")) for raw in body.get("results", [])
        }
        errors = body.get("errors", [])
        return {
            record_id: done[record_id] if record_id in done else _error_for(record_id, errors)
            for record_id in records
        }

    def create_tasks(
        self, tasks: Sequence[TaskSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Open follow-up tasks; a task whose `dedup_key` HubSpot already holds is not re-made."""
        dedup = self.settings.dedup_property
        return self._create_once(
            TASKS, [(task.dedup_key, task_input(task, dedup)) for task in tasks], unsure
        )

    def create_notes(
        self, notes: Sequence[NoteSpec], unsure: Collection[str] = ()
    ) -> list[WriteResult]:
        """Record responses as notes on contact and company, once per `dedup_key`."""
        dedup = self.settings.dedup_property
        return self._create_once(
            NOTES, [(note.dedup_key, note_input(note, dedup)) for note in notes], unsure
        )

    def _create_once(
        self,
        object_name: str,
        items: Sequence[tuple[str, dict[str, Any]]],
        unsure: Collection[str] = (),
    ) -> list[WriteResult]:
        """Create records idempotently: look up dedup keys first, create only what is missing.

        HubSpot has no idempotency key on create, so the key is stored in a property and looked
        up before each attempt; after an interrupted call (5xx, dropped connection) the lookup
        waits out the search-index lag (`crm.hubspot.index_wait`) so a record created by that
        call is found, not doubled: search sees a new record only "after a few moments".
        Keys an earlier process may have created (`unsure`) are settled first, archived
        records included (`_made_before`, once for the whole call).
        """
        unique = dict(items)
        doubtful = set(unsure)
        made = self._made_before(object_name, [key for key in unique if key in doubtful])
        results = {key: WriteResult(key, crm_id) for key, crm_id in made.items()}
        left = [(key, payload) for key, payload in unique.items() if key not in made]
        for chunk in _chunks(left, BATCH_SIZE):
            pending = dict(chunk)
            for attempt in range(1, CREATE_ATTEMPTS + 1):
                existing = self._find_by_dedup(object_name, list(pending))
                for key, crm_id in existing.items():
                    results[key] = WriteResult(key, crm_id)
                    pending.pop(key)
                if not pending:
                    break
                try:
                    results.update(self._create_batch(object_name, pending))
                    break
                except Unavailable:
                    if attempt == CREATE_ATTEMPTS:
                        raise
                    log.warning("hubspot_create_interrupted", object=object_name, attempt=attempt)
                    self._sleep(self.settings.index_wait_s)
        return [results[key] for key, _ in items]

    def _made_before(self, object_name: str, keys: Sequence[str]) -> dict[str, str]:
        """Records an earlier attempt made for `keys`, live or archived since.

        That attempt's process died between HubSpot's create and keeping the outcome, so it
        may have made them, and a rep may have deleted one since: search never shows archived
        records, so they are listed (`archived=true`) and matched on the dedup property. A key
        found nowhere may still be inside the index lag: search is asked again after
        `index_wait`.
        """
        found: dict[str, str] = {}
        for chunk in _chunks(keys, BATCH_SIZE):
            found.update(self._find_by_dedup(object_name, chunk))
        missing = [key for key in keys if key not in found]
        if missing:
            found.update(self._find_archived(object_name, missing))
            missing = [key for key in missing if key not in found]
        if missing:
            self._sleep(self.settings.index_wait_s)
            for chunk in _chunks(missing, BATCH_SIZE):
                found.update(self._find_by_dedup(object_name, chunk))
        return found

    def _find_archived(self, object_name: str, keys: Sequence[str]) -> dict[str, str]:
        """Archived records holding any of `keys` in the dedup property, by listing the archive
        (100 a call) until every key is found."""
        dedup = self.settings.dedup_property
        wanted = set(keys)
        found: dict[str, str] = {}
        after: str | None = None
        while wanted - set(found):
            kwargs: dict[str, Any] = {"limit": LIST_PAGE, "archived": True, "properties": [dedup]}
            if after:
                kwargs["after"] = after
            body = self._call(Priority.ESSENTIAL, self._basic_api.get_page, object_name, **kwargs)
            for raw in body.get("results", []):
                key = (raw.get("properties") or {}).get(dedup)
                if key in wanted and key not in found:
                    found[key] = str(raw["id"])
            after = _next_after(body)
            if not after:
                break
        return found

    def _find_by_dedup(self, object_name: str, keys: Sequence[str]) -> dict[str, str]:
        dedup = self.settings.dedup_property
        request = PublicObjectSearchRequest(
            filter_groups=[
                {"filters": [{"propertyName": dedup, "operator": "IN", "values": keys}]}
            ],
            properties=[dedup],
            limit=PAGE_SIZE,
        )
        body = self._call(Priority.ESSENTIAL, self._search_api.do_search, object_name, request)
        found: dict[str, str] = {}
        for raw in body.get("results", []):
            key = (raw.get("properties") or {}).get(dedup)
            if key and key not in found:
                found[key] = str(raw["id"])
        return found

    def _create_batch(
        self, object_name: str, pending: Mapping[str, dict[str, Any]]
    ) -> dict[str, WriteResult]:
        dedup = self.settings.dedup_property
        request = BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(object_write_trace_id=key, **payload)
                for key, payload in pending.items()
            ]
        )
        try:
            body = self._call(Priority.ESSENTIAL, self._batch_api.create, object_name, request)
        except Rejected as error:
            if len(pending) == 1:
                (key,) = pending
                return {key: WriteResult(key, None, RecordError(error.code, error.message))}
            keys = list(pending)
            half = len(keys) // 2
            return {
                **self._create_batch(object_name, {k: pending[k] for k in keys[:half]}),
                **self._create_batch(object_name, {k: pending[k] for k in keys[half:]}),
            }
        created = {
            str((raw.get("properties") or {}).get(dedup)): str(raw["id"])
            for raw in body.get("results", [])
        }
        errors = body.get("errors", [])
        return {
            key: WriteResult(key, created[key])
            if key in created
            else WriteResult(key, None, _error_for(key, errors))
            for key in pending
        }


def _batches(pages: Iterable[Page], records: int) -> Iterator[list[Page]]:
    """Consecutive `pages` joined until they hold at least `records` records.

    An error met while reading comes out after the pages read before it, as `read_ahead`
    hands them over: those are stored (and their cursor committed) first.
    """
    held: list[Page] = []
    count = 0
    try:
        for page in pages:
            held.append(page)
            count += len(page.records)
            if count >= records:
                yield held
                held, count = [], 0
    except Exception:
        if held:
            yield held
        raise
    if held:
        yield held


def _suspect_groups(
    records: Mapping[str, Mapping[str, Any]], fields: Sequence[str]
) -> list[dict[str, Mapping[str, Any]]]:
    """A refused batch regrouped so that one retry writes every record the refusal was not for.

    An invalid value is invalid whichever record carries it, so records that write the same
    values of the refused `fields` go together: the groups without the bad value succeed at
    once, and only the culprits' group fails again. When that gives a single group (the refusal
    named no field, or every record writes the same values), each record goes alone.
    """
    groups: dict[tuple[str | None, ...], dict[str, Mapping[str, Any]]] = {}
    for record_id, values in records.items():
        key = tuple(None if values.get(name) is None else str(values[name]) for name in fields)
        groups.setdefault(key, {})[record_id] = values
    if len(groups) > 1:
        return list(groups.values())
    return [{record_id: values} for record_id, values in records.items()]


def _http_date(value: str | None) -> datetime | None:
    """The server's time from a `Date` header, always aware (None when unreadable).

    RFC 5322 `-0000` means UTC with the local zone unknown, and `parsedate_to_datetime` returns
    it naive; so does a header a proxy doubled (requests joins the two with ", "). Both are UTC.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _next_after(body: Mapping[str, Any]) -> str | None:
    """The `after` token of the next page (`paging.next.after`), None on the last page."""
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after else None


def _search_kwargs(window: Window, modified: str, properties: Sequence[str]) -> dict[str, Any]:
    body = window.search_body(modified, properties)
    return {
        "filter_groups": body["filterGroups"],
        "sorts": body["sorts"],
        "properties": body["properties"],
        "limit": body["limit"],
    }


def _record(object_name: str, raw: Mapping[str, Any], modified: str) -> CrmRecord:
    properties: Mapping[str, Any] = raw.get("properties") or {}
    at = parse_instant(properties.get(modified)) or parse_instant(raw.get("updatedAt"))
    if at is None:
        raise Unavailable(CRM, "MISSING_MODIFIED_DATE", f"{object_name} record without {modified}")
    return CrmRecord(object_name, str(raw["id"]), truncate_ms(at), properties)


def _after_cursor(record: CrmRecord, since: Cursor) -> bool:
    if since.modified_at is None:
        return True
    if record.modified_at != since.modified_at:
        return record.modified_at > since.modified_at
    return since.last_id is None or int(record.id) > int(since.last_id)


def _error_for(key: str, errors: Sequence[Mapping[str, Any]]) -> RecordError:
    """The batch error naming `key` in its context, else the batch's only error, else unknown."""
    for error in errors:
        context = error.get("context") or {}
        if any(key in (values or ()) for values in context.values()):
            return RecordError(str(error.get("category")), str(error.get("message")))
    if len(errors) == 1:
        return RecordError(str(errors[0].get("category")), str(errors[0].get("message")))
    return RecordError("NOT_APPLIED", "HubSpot returned no result for this record")


def build_client(
    settings: HubSpotSettings,
    *,
    env: Mapping[str, str] | None = None,
    session: requests.Session | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    retry: RetryPolicy | None = None,
) -> HubSpotClient:
    """The one way to build the client: token from the env var the config names, session in.

    A missing token is a `ConfigError` naming the variable (`read_secret`, which also registers
    the token for log redaction).

    Every generated API of hubspot-api-client gets its `Configuration` (host, bearer token)
    from here and sends through the same `SessionTransport`, so pacing and budget are shared.
    """
    token = read_secret(settings.token_env, env).get_secret_value()
    transport = SessionTransport(
        session or endpoint_session(None, None),
        budget=ApiBudget(CRM, settings.normal_share, settings.essential_share),
        window=RollingWindow(settings.tier, 10.0, clock, sleep),
        search_pace=SearchPace(settings.search_per_second, clock, sleep),
        sleep=sleep,
        retry=retry,
        timeout_s=settings.timeout_s,
    )

    def api_factory(package: Any, api_name: str, config: Mapping[str, Any]) -> Any:
        """The SDK's hook for building each generated API: our host, token and transport."""
        configuration = package.Configuration(host=settings.base_url.rstrip("/"))
        configuration.access_token = token
        api_client = package.ApiClient(configuration=configuration)
        api_client.rest_client = transport
        api_client.user_agent = "nps-worker (hubspot-api-client)"
        return getattr(package, api_name)(api_client=api_client)

    sdk = HubSpot(access_token=token, api_factory=api_factory)
    return HubSpotClient(sdk, transport, settings, sleep)
