"""One emulated HubSpot portal: records, properties, associations, owners and rate limits."""

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime

import structlog
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from worker.sandbox.activity import OpenDeal, OpenTask, fill_outcomes
from worker.sandbox.clock import SandboxClock
from worker.sandbox.hubspot import associations as assoc
from worker.sandbox.hubspot.catalog import TICKET_CLOSED_STAGE, TICKET_PIPELINE, default_catalogs
from worker.sandbox.hubspot.errors import (
    HubSpotError,
    PropertyProblem,
    invalid_properties,
    new_correlation_id,
    not_found,
    validation_error,
)
from worker.sandbox.hubspot.limits import Exceeded, RateLimiter, RateLimits
from worker.sandbox.hubspot.objects import (
    COMPANIES,
    CONTACTS,
    DEALS,
    TASKS,
    TICKETS,
    ObjectType,
    object_type,
)
from worker.sandbox.hubspot.owners import Owner
from worker.sandbox.hubspot.properties import Option, PropertyCatalog, PropertyDef
from worker.sandbox.hubspot.store import IndexLag, Record, RecordStore
from worker.sandbox.hubspot.timefmt import iso_ms, parse_instant
from worker.sandbox.world import World

log = structlog.get_logger(__name__)

PORTAL_ID = 24_681_357
_REQUIRED_ON_CREATE: dict[str, tuple[str, ...]] = {
    "tasks": ("hs_timestamp",),
    "notes": ("hs_timestamp",),
}
_STARTED_TASK_STATUSES = ("IN_PROGRESS", "WAITING")
CLOSED_DEAL_STAGES = ("closedwon", "closedlost")
DEAL_TO_CONTACT = 3  # HubSpot-defined association type id, deal -> contact
_RATE_LIMIT_MESSAGES = {
    "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
    "DAILY": "You have reached your daily limit.",
    "SECONDLY": "You have reached your secondly limit.",
}


class HubSpotPortal:
    """An emulated HubSpot account that the real hubspot-api-client talks HTTP to.

    Implements the sandbox's ActivityTarget (tickets are cases, companies are accounts).
    With an `index_lag`, a write reaches search its drawn lag (of sandbox time) after it is
    made, as HubSpot's search index lags its writes; reads by id see it at once. Rate-limit
    windows run on `monotonic`: SDK clients run in real time.
    """

    def __init__(
        self,
        clock: SandboxClock,
        *,
        tier: int = 190,
        daily_limit: int = 1_000_000,
        search_per_second: int = 5,
        enforce_rate_limits: bool = True,
        preinstall_nps_properties: bool = True,
        access_tokens: Iterable[str] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        index_lag: IndexLag | None = None,
    ) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.monotonic = monotonic
        self.limiter = RateLimiter(
            RateLimits(tier, daily_limit, search_per_second, enforce_rate_limits), monotonic()
        )
        self.access_tokens = frozenset(access_tokens) if access_tokens is not None else None
        self.store = RecordStore(index_lag=index_lag, now=clock.now)
        self.graph = assoc.AssociationGraph()
        self.catalogs: dict[str, PropertyCatalog] = default_catalogs(
            clock.now(), with_nps=preinstall_nps_properties
        )
        self.owners: dict[str, Owner] = {}
        self.world_ids: dict[tuple[str, int], str] = {}

    # --- setup -------------------------------------------------------------------------------

    def load(self, world: World) -> None:
        """Project the neutral world into companies, contacts, tickets, deals and owners."""
        from worker.sandbox.hubspot.projection import project

        with self.lock:
            project(self, world)
            self.store.publish_all()  # the world was written long before anyone searches it
        log.info(
            "hubspot_portal_loaded",
            companies=len(world.companies),
            contacts=len(world.people),
            tickets=len(world.cases),
            deals=len(world.renewals),
        )

    def routes(self) -> list[BaseRoute]:
        """The HTTP routes (`/crm/v3/...`, `/crm/v4/associations/...`, `/crm/v3/owners`)."""
        from worker.sandbox.hubspot.routes import build_routes

        return build_routes(self)

    def set_rate_limits(
        self,
        *,
        tier: int | None = None,
        daily_limit: int | None = None,
        search_per_second: int | None = None,
        enforce: bool | None = None,
    ) -> None:
        """Retune the rate limits of a running portal (benchmarks, tests)."""
        current = self.limiter.limits
        self.limiter.configure(
            RateLimits(
                current.per_ten_seconds if tier is None else tier,
                current.daily if daily_limit is None else daily_limit,
                current.search_per_second if search_per_second is None else search_per_second,
                current.enforce if enforce is None else enforce,
            )
        )

    def reset_rate_limits(self, monotonic: Callable[[], float] | None = None) -> None:
        """Empty the rate-limit windows, optionally switching the monotonic time source."""
        if monotonic is not None:
            self.monotonic = monotonic
        self.limiter = RateLimiter(self.limiter.limits, self.monotonic())

    def set_owners(self, owners: Iterable[Owner]) -> None:
        """Replace the owners and the `hubspot_owner_id` options that point at them.

        Archived owners (deactivated users) are no option: a record, task included, cannot be
        assigned to them (`INVALID_OPTION`), though records they owned keep their id.
        """
        self.owners = {owner.id: owner for owner in owners}
        options = tuple(
            Option(f"{owner.first_name} {owner.last_name}", owner.id, order)
            for order, owner in enumerate(self.owners.values())
            if not owner.archived
        )
        for catalog in self.catalogs.values():
            prop = catalog.properties.get("hubspot_owner_id")
            if prop is not None:
                catalog.add(prop.with_options(options))

    def archive_owner(self, owner_id: str) -> None:
        """Deactivate an owner's user: `GET /crm/v3/owners` lists it as archived from now on."""
        with self.lock:
            owner = self.owners[owner_id]
            archived = replace(owner, archived=True, updated_at=self.clock.now())
            self.set_owners([archived if o.id == owner_id else o for o in self.owners.values()])

    # --- errors --------------------------------------------------------------------------------

    def error_response(
        self, status: int, *, retry_after_s: int | None = None, path: str = ""
    ) -> Response:
        """A HubSpot-format error body for an injected fault (429 is a ten-secondly refusal);
        every HubSpot endpoint words its errors alike, whatever the `path`.

        A 429 never carries `Retry-After` (HubSpot documents the policy name and the rate-limit
        headers instead), so `retry_after_s` only applies to 5xx faults.
        """
        if status == 429:
            return self.rate_limited(Exceeded("TEN_SECONDLY_ROLLING", 1), search=False)
        categories = {500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}
        error = HubSpotError(
            status,
            categories.get(status, "ERROR"),
            "The service is temporarily unavailable; please retry."
            if status >= 500
            else "The request failed.",
        )
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
        return error.response(headers)

    def rate_limited(self, exceeded: Exceeded, *, search: bool) -> Response:
        """The 429 HubSpot returns when a rate-limit policy refuses a call.

        Body as HubSpot sends it (no `category`; `errorType` and `policyName` instead), with
        the `X-HubSpot-RateLimit-*` headers except on search, and no `Retry-After`:
        https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details#error-responses
        """
        group = "search" if search else "private-app"
        body = {
            "status": "error",
            "message": _RATE_LIMIT_MESSAGES[exceeded.policy],
            "errorType": "RATE_LIMIT",
            "correlationId": new_correlation_id(),
            "policyName": exceeded.policy,
            "groupName": f"publicapi:{group}:{exceeded.policy.lower()}:{PORTAL_ID}",
        }
        headers = {} if search else self.limiter.headers(self.monotonic())
        return JSONResponse(body, 429, headers=headers)

    # --- reads -------------------------------------------------------------------------------

    def catalog(self, kind: ObjectType) -> PropertyCatalog:
        """The property definitions of an object type."""
        return self.catalogs[kind.name]

    def prop(self, kind: ObjectType, name: str) -> PropertyDef | None:
        """One live property definition, or None."""
        found = self.catalogs[kind.name].properties.get(name)
        return found if found is not None and not found.archived else None

    def find(
        self, kind: ObjectType, key: str, *, id_property: str | None = None, archived: bool = False
    ) -> Record | None:
        """The record with this id (or this unique `id_property` value), archived or live."""
        if id_property and id_property != "hs_object_id":
            prop = self.prop(kind, id_property)
            if prop is None or not prop.has_unique_value:
                raise validation_error(
                    f"Unable to perform lookup by non-unique {kind.type_id} property "
                    f"{id_property} in portal ID {PORTAL_ID}",
                    idProperty=[id_property],
                )
            found = self.store.find_by(kind, id_property, key)
        else:
            found = self.store.get(kind, key)
        if found is None or found.archived != archived:
            return None
        return found

    def holds_values(self, kind: ObjectType, name: str) -> bool:
        """Whether any live record has a value for property `name`."""
        return any(
            record.properties.get(name) for record in self.store.all(kind) if not record.archived
        )

    def record(self, object_name: str, record_id: str) -> dict[str, str]:
        """A copy of one record's stored property values (test helper)."""
        with self.lock:
            found = self.store.get(object_type(object_name), record_id)
            if found is None:
                raise KeyError(f"{object_name} {record_id} does not exist")
            return dict(found.properties)

    def records(self, object_name: str, *, archived: bool = False) -> list[dict[str, str]]:
        """Copies of every live record's property values of one object type (test helper);
        with `archived`, those of deleted records too."""
        with self.lock:
            kind = object_type(object_name)
            return [dict(r.properties) for r in self.store.all(kind) if archived or not r.archived]

    def associated_ids(self, from_name: str, record_id: str, to_name: str) -> list[str]:
        """Ids of `to_name` records associated with one record (test helper)."""
        with self.lock:
            return [
                to_id
                for to_id, _ in self.graph.targets(
                    object_type(from_name).name, record_id, object_type(to_name).name
                )
            ]

    # --- writes ------------------------------------------------------------------------------

    def validate(self, kind: ObjectType, properties: object, *, creating: bool) -> dict[str, str]:
        """Written values normalised to HubSpot's stored strings, or a VALIDATION_ERROR."""
        if not isinstance(properties, dict):
            raise validation_error("`properties` must be an object of property names to values.")
        problems: list[PropertyProblem] = []
        clean: dict[str, str] = {}
        for name, raw in properties.items():
            prop = self.prop(kind, str(name))
            if prop is None:
                problems.append(
                    PropertyProblem(
                        str(name), "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
                continue
            normalized = prop.normalize(raw)
            if isinstance(normalized, PropertyProblem):
                problems.append(normalized)
            else:
                clean[prop.name] = normalized
        if creating:
            for name in _REQUIRED_ON_CREATE.get(kind.name, ()):
                if not clean.get(name):
                    problems.append(
                        PropertyProblem(name, "REQUIRED", f"{name} is a required property")
                    )
        if problems:
            raise invalid_properties(problems)
        return clean

    def create(
        self, kind: ObjectType, properties: object, associations: object, at: datetime
    ) -> Record:
        """Validate and create one record, with inline associations."""
        clean = self.validate(kind, properties, creating=True)
        links = self._inline_associations(kind, associations)
        record = self.store.insert(kind, clean, at)
        for link, to_id in links:
            self.graph.add(link, record.id, to_id)
        return record

    def update(self, kind: ObjectType, record: Record, properties: object, at: datetime) -> None:
        """Validate and apply a write to one record (bumps its modification stamps)."""
        clean = self.validate(kind, properties, creating=False)
        self.store.update(kind, record, clean, at)

    def archive(self, kind: ObjectType, record: Record, at: datetime) -> None:
        """Archive one record and drop its associations."""
        self.store.archive(kind, record, at)
        self.graph.remove_record(kind.name, record.id)

    def _inline_associations(
        self, kind: ObjectType, raw: object
    ) -> list[tuple[assoc.AssociationType, str]]:
        """Parse `associations: [{to: {id}, types: [...]}]` of a create request."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise validation_error("`associations` must be a list.")
        links: list[tuple[assoc.AssociationType, str]] = []
        for entry in raw:
            to = entry.get("to") if isinstance(entry, dict) else None
            types = entry.get("types") if isinstance(entry, dict) else None
            if not isinstance(to, dict) or not isinstance(types, list) or not types:
                raise validation_error("Each association needs `to.id` and `types`.")
            to_id = str(to.get("id", ""))
            for spec in types:
                if not isinstance(spec, dict):
                    raise validation_error("Each association type is an object.")
                link = assoc.lookup(
                    int(spec.get("associationTypeId", -1)),
                    kind.name,
                    str(spec.get("associationCategory", "")),
                )
                target = self.store.get(object_type(link.to_type), to_id)
                if target is None or target.archived:
                    raise HubSpotError(
                        400,
                        "VALIDATION_ERROR",
                        f"{link.to_type} {to_id} does not exist; cannot associate to it.",
                        context={"toObjectId": [to_id]},
                    )
                links.append((link, to_id))
        return links

    # --- ActivityTarget ------------------------------------------------------------------------

    def open_case_ids(self) -> list[str]:
        """Tickets not in the closed stage."""
        with self.lock:
            return [
                record.id
                for record in self.store.all(TICKETS)
                if not record.archived
                and record.properties.get("hs_pipeline_stage") != TICKET_CLOSED_STAGE
            ]

    def close_case(self, case_id: str, at: datetime) -> None:
        """Move a ticket to the closed stage and stamp `closed_date`."""
        with self.lock:
            record = self._require(TICKETS, case_id)
            values = {"hs_pipeline_stage": TICKET_CLOSED_STAGE, "closed_date": iso_ms(at)}
            self.store.update(TICKETS, record, values, at)

    def contact_ids(self) -> list[str]:
        """Live contacts."""
        with self.lock:
            return [record.id for record in self.store.all(CONTACTS) if not record.archived]

    def open_case(self, contact_id: str, subject: str, at: datetime) -> str:
        """Open a new ticket for a contact (associated to it and its primary company)."""
        with self.lock:
            contact = self._require(CONTACTS, contact_id)
            values = {
                "subject": subject,
                "hs_pipeline": TICKET_PIPELINE,
                "hs_pipeline_stage": "1",
                "hs_ticket_priority": "MEDIUM",
            }
            owner = contact.properties.get("hubspot_owner_id")
            if owner:
                values["hubspot_owner_id"] = owner
            ticket = self.store.insert(TICKETS, values, at)
            self.graph.add(assoc.ASSOCIATION_TYPES[16], ticket.id, contact.id)
            company_id = contact.properties.get("associatedcompanyid")
            if company_id:
                self.graph.add(assoc.ASSOCIATION_TYPES[26], ticket.id, company_id)
            return ticket.id

    def onboarding_in_progress_account_ids(self) -> list[str]:
        """Companies whose onboarding is in progress."""
        with self.lock:
            return [
                record.id
                for record in self.store.all(COMPANIES)
                if not record.archived
                and record.properties.get("onboarding_status") == "In Progress"
            ]

    def complete_onboarding(self, account_id: str, at: datetime) -> None:
        """Mark a company's onboarding completed at `at`."""
        with self.lock:
            record = self._require(COMPANIES, account_id)
            values = {"onboarding_status": "Completed", "onboarding_completed_at": iso_ms(at)}
            self.store.update(COMPANIES, record, values, at)

    def open_tasks(self) -> list[OpenTask]:
        """Tasks not completed; IN_PROGRESS and WAITING count as started (DEFERRED is aside)."""
        with self.lock:
            return [
                OpenTask(record.id, record.created_at, status in _STARTED_TASK_STATUSES)
                for record in self.store.all(TASKS)
                if not record.archived
                and (status := record.properties.get("hs_task_status") or "") != "COMPLETED"
            ]

    def start_task(self, task_id: str, at: datetime) -> None:
        """Start a task as a rep would (`hs_task_status` IN_PROGRESS)."""
        with self.lock:
            record = self._require(TASKS, task_id)
            self.store.update(TASKS, record, {"hs_task_status": "IN_PROGRESS"}, at)

    def complete_task(self, task_id: str, at: datetime) -> None:
        """Complete a task as a rep would (`hs_task_status` COMPLETED)."""
        with self.lock:
            record = self._require(TASKS, task_id)
            values = {"hs_task_status": "COMPLETED", "hs_task_completion_date": iso_ms(at)}
            body = record.properties.get("hs_task_body")
            filled = fill_outcomes(body)
            if filled != body and filled is not None:
                values["hs_task_body"] = filled
            self.store.update(TASKS, record, values, at)

    # --- TaskWorkflow and DealWork (what reps do beyond start and complete) -----------------

    def wait_on_task(self, task_id: str, at: datetime) -> None:
        """The rep reached out and waits on the customer (`hs_task_status` WAITING)."""
        self._task_status(task_id, "WAITING", at)

    def defer_task(self, task_id: str, at: datetime) -> None:
        """The rep puts the task aside (`hs_task_status` DEFERRED)."""
        self._task_status(task_id, "DEFERRED", at)

    def reassign_task(self, task_id: str, at: datetime) -> None:
        """The rep hands the task to the next owner after them (by owner id), a colleague."""
        with self.lock:
            record = self._require(TASKS, task_id)
            ids = sorted(self.owners)
            current = record.properties.get("hubspot_owner_id", "")
            later = [owner for owner in ids if owner > current]
            colleague = (later or ids)[0]
            if colleague != current:
                self.store.update(TASKS, record, {"hubspot_owner_id": colleague}, at)

    def delete_task(self, task_id: str, at: datetime) -> None:
        """The rep deletes the task (archived, as HubSpot keeps deleted records for 90 days)."""
        with self.lock:
            self.archive(TASKS, self._require(TASKS, task_id), at)

    def open_deals(self) -> list[OpenDeal]:
        """Deals in neither closed stage, with their expected close date."""
        with self.lock:
            return [
                OpenDeal(record.id, parse_instant(record.properties["closedate"]).date())
                for record in self.store.all(DEALS)
                if not record.archived
                and record.properties.get("dealstage") not in CLOSED_DEAL_STAGES
                and record.properties.get("closedate")
            ]

    def close_deal(self, deal_id: str, won: bool, at: datetime) -> None:
        """Move a deal to closed won (or lost) at `at`."""
        with self.lock:
            record = self._require(DEALS, deal_id)
            stage = "closedwon" if won else "closedlost"
            self.store.update(DEALS, record, {"dealstage": stage}, at)

    def add_deal_contact(self, deal_id: str, at: datetime) -> None:
        """Associate the deal with one more contact of its company (none left: nothing)."""
        with self.lock:
            company = next(iter(self.associated_ids(DEALS.name, deal_id, COMPANIES.name)), None)
            linked = set(self.associated_ids(DEALS.name, deal_id, CONTACTS.name))
            people = [
                contact_id
                for contact_id in self.associated_ids(COMPANIES.name, company or "", CONTACTS.name)
                if contact_id not in linked
            ]
            if company is not None and people:
                newcomer = min(people, key=int)
                self.graph.add(assoc.ASSOCIATION_TYPES[DEAL_TO_CONTACT], deal_id, newcomer)

    def _task_status(self, task_id: str, status: str, at: datetime) -> None:
        with self.lock:
            record = self._require(TASKS, task_id)
            self.store.update(TASKS, record, {"hs_task_status": status}, at)

    def _require(self, kind: ObjectType, record_id: str) -> Record:
        record = self.store.get(kind, record_id)
        if record is None or record.archived:
            raise not_found(f"{kind.upper} {record_id} does not exist", id=[record_id])
        return record
