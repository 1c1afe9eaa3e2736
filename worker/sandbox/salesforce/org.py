"""`SalesforceOrg`: one emulated Salesforce org — records, metadata, logins, limits, routes — and
the operations the sandbox's time machine performs on it."""

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import Response
from starlette.routing import BaseRoute

from worker.sandbox.activity import OpenTask, fill_outcomes
from worker.sandbox.clock import SandboxClock
from worker.sandbox.faults import FaultInjector
from worker.sandbox.salesforce.auth import (
    Authenticator,
    Credentials,
    Sessions,
    UserDirectory,
)
from worker.sandbox.salesforce.bulk2 import BulkQueryJobs
from worker.sandbox.salesforce.composite import run_composite
from worker.sandbox.salesforce.deployed import shipped_permission_sets
from worker.sandbox.salesforce.ids import normalize_id
from worker.sandbox.salesforce.limits import ApiBudget
from worker.sandbox.salesforce.paging import QueryCursors
from worker.sandbox.salesforce.permissions import (
    MINIMUM_ACCESS_API_ONLY,
    SYSTEM_ADMINISTRATOR,
    Access,
    PermissionSet,
    parse_permission_set,
)
from worker.sandbox.salesforce.projection import (
    ADMIN_USERNAME,
    INTEGRATION_USERNAME,
    ORG_DATA_ACCESS,
    create_admin_user,
    create_integration_user,
    load_world,
)
from worker.sandbox.salesforce.query import QueryEngine
from worker.sandbox.salesforce.rest import RestApi
from worker.sandbox.salesforce.routes import build_routes, login_fault, salesforce_error
from worker.sandbox.salesforce.schema import SCHEMA
from worker.sandbox.salesforce.session_timeout import DEFAULT_TIMEOUT, SessionTimeout
from worker.sandbox.salesforce.store import Record, RecordStore
from worker.sandbox.salesforce.writes import Writer
from worker.sandbox.world import World

DEFAULT_CREDENTIALS = Credentials(
    username=INTEGRATION_USERNAME,
    password="sandbox-password",  # noqa: S106 -- the emulator's published demo secret
    security_token="sandbox-security-token",  # noqa: S106 -- the emulator's published demo secret
    consumer_key="sandbox-consumer-key",
    consumer_secret="sandbox-consumer-secret",  # noqa: S106 -- the emulator's published demo secret
)
# Fault statuses mapped to the errors Salesforce sends with them (errorcodes.htm): 503 is the
# instance being unavailable; 403 (a real org's status) and 429 are REQUEST_LIMIT_EXCEEDED for
# too many concurrent long-running requests; anything else is the generic UNKNOWN_EXCEPTION.
_FAULT_ERRORS = {
    403: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
}
WORKER_PERMISSION_SET = "NPS_Worker"
INTEGRATION_PERMISSION_SETS = (WORKER_PERMISSION_SET, ORG_DATA_ACCESS.name)
"""What the integration user holds in an org set up as salesforce/README.md says: the shipped
permission set, and read access to the org's own fields the mapping reads."""
_UNKNOWN_EXCEPTION = (
    "UNKNOWN_EXCEPTION",
    "An unexpected error occurred. Please include this ErrorId if you contact support: "
    "0123456789-12345 (-1234567890)",
)


_LateWrite = tuple[datetime, str, str, dict[str, Any], datetime]
"""(visible at, sObject, record id, fields, started at) of a transaction not yet committed."""


def _by_time(entry: _LateWrite) -> datetime:
    return entry[0]


class SalesforceOrg:
    """An emulated Salesforce org that simple-salesforce talks to over HTTPS, unchanged.

    The integration user has the "Minimum Access - API Only Integrations" profile plus the
    permission sets named by `permission_sets` (by default what salesforce/README.md has an
    admin deploy and assign); every other user is a System Administrator. Sessions end after
    `session_timeout` unused (None: never); a Bulk API 2.0 query job needs `bulk_polls` status
    reads to finish; `faults` holds the org's own injected faults (see `sandbox.faults`).
    """

    def __init__(
        self,
        clock: SandboxClock,
        *,
        daily_api_limit: int = 100_000,
        permission_sets: Sequence[str] = INTEGRATION_PERMISSION_SETS,
        faults: FaultInjector | None = None,
        session_timeout: timedelta | None = DEFAULT_TIMEOUT,
        bulk_polls: int = 3,
    ) -> None:
        self.clock = clock
        self.faults = faults or FaultInjector(0)
        self.session_timeout = SessionTimeout(session_timeout)
        self.store = RecordStore()
        self.org_id = self.store.ids.next_id("00D")
        self.writer = Writer(self.store)
        self.engine = QueryEngine(self.store)
        self.budget = ApiBudget(daily_api_limit)
        self.sessions = Sessions(self.org_id)
        self.users = UserDirectory()
        self.authenticator = Authenticator(DEFAULT_CREDENTIALS, self.sessions, self.users)
        self.cursors = QueryCursors(self.store.ids, self.engine.render)
        self._access_lock = threading.Lock()
        self.permission_sets: dict[str, PermissionSet] = {ORG_DATA_ACCESS.name: ORG_DATA_ACCESS}
        self._profiles: dict[str, PermissionSet] = {}
        self._assigned: dict[str, set[str]] = {}
        self._access: dict[str, Access] = {}
        self._admin_user_id: str | None = None
        self._late_lock = threading.Lock()
        self._late: list[_LateWrite] = []
        for name, xml_text in shipped_permission_sets().items():
            self.deploy_permission_set(name, xml_text)
        self.rest = RestApi(
            self.store,
            self.writer,
            self.engine,
            self.cursors,
            self.budget,
            access_of=self.access_of,
            strikes=self._strikes,
        )
        self.rest.add(
            "POST",
            r"composite",
            lambda request, _match: run_composite(request, self.store, self.rest.handle),
        )
        self.bulk_jobs = BulkQueryJobs(
            self.engine, self.store.ids, self.access_of, self._strikes, polls=bulk_polls
        )
        self.bulk_jobs.register(self.rest)
        self.integration_user_id = create_integration_user(self.store, at=clock.now())
        self.users.add(INTEGRATION_USERNAME, self.integration_user_id)
        self._profiles[self.integration_user_id] = MINIMUM_ACCESS_API_ONLY
        for name in permission_sets:
            self.assign_permission_set(name)
        self._jwt_key_lock = threading.Lock()
        self._jwt_private_key: str | None = None

    def load(self, world: World) -> None:
        """Project the neutral world into User, Account, Contact, Case and Opportunity records."""
        load_world(self.store, world, by=self.integration_user_id, at=self.clock.now())
        for user in self.store.table("User").values():
            self.users.add(user["Username"], user["Id"])

    # Permissions: what a deployment and `sf org assign permset` would change in a real org.

    def deploy_permission_set(self, name: str, xml_text: str | bytes) -> None:
        """Deploy (create or replace) a permission set from its metadata XML.

        Raises `InvalidPermissionSet` for XML the org would refuse (unknown objects or fields).
        """
        permission_set = parse_permission_set(name, xml_text)
        with self._access_lock:
            self.permission_sets[name] = permission_set
            self._access.clear()

    def assign_permission_set(self, name: str, user_id: str | None = None) -> None:
        """Assign a deployed permission set to a user (the integration user by default)."""
        if name not in self.permission_sets:
            raise KeyError(f"no permission set named {name} is deployed")
        with self._access_lock:
            self._assigned.setdefault(user_id or self.integration_user_id, set()).add(name)
            self._access.clear()

    def unassign_permission_set(self, name: str, user_id: str | None = None) -> None:
        """Take a permission set away from a user (the integration user by default)."""
        with self._access_lock:
            self._assigned.get(user_id or self.integration_user_id, set()).discard(name)
            self._access.clear()

    def assigned_permission_sets(self, user_id: str | None = None) -> list[str]:
        """The permission sets a user holds (the integration user by default)."""
        with self._access_lock:
            return sorted(self._assigned.get(user_id or self.integration_user_id, ()))

    def access_of(self, user_id: str) -> Access:
        """A user's access now: their profile plus their permission sets."""
        with self._access_lock:
            access = self._access.get(user_id)
            if access is None:
                profile = self._profiles.get(user_id, SYSTEM_ADMINISTRATOR)
                assigned = sorted(self._assigned.get(user_id, ()))
                access = Access([profile, *(self.permission_sets[name] for name in assigned)])
                self._access[user_id] = access
            return access

    def _strikes(self, path: str, kind: str) -> bool:
        return self.faults.strikes("salesforce", path, kind)

    def routes(self) -> list[BaseRoute]:
        """The org's HTTP routes, all under /services/."""
        return build_routes(self)

    def error_response(
        self, status: int, *, retry_after_s: int | None = None, path: str = ""
    ) -> Response:
        """An injected fault, in the format of the endpoint hit: REST's JSON error array, or
        the login endpoints' own (`routes.login_fault`)."""
        retry = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else {}
        login = login_fault(path, status, retry or None)
        if login is not None:
            return login
        code, message = _FAULT_ERRORS.get(status, _UNKNOWN_EXCEPTION)
        headers = {"Sforce-Limit-Info": self.budget.header(self.clock.now()), **retry}
        return salesforce_error(status, code, message, headers)

    # Test and demo helpers: direct access to the org's state, bypassing HTTP and API limits.

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[Record]:
        """Copies of the records of one sObject, in creation order."""
        with self.store.lock:
            return [
                dict(record)
                for record in self.store.table(SCHEMA[sobject].name).values()
                if include_deleted or not record["IsDeleted"]
            ]

    def record(self, record_id: str) -> Record | None:
        """A copy of the record with this 15- or 18-character id, if it exists."""
        normalized = normalize_id(record_id)
        with self.store.lock:
            found = self.store.find(normalized) if normalized else None
            return None if found is None else dict(found[1])

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        """Create a record in the integration user's name, validated like an API call but with
        an admin's permissions; returns its id."""
        with self.store.lock:
            record = self.writer.create(
                SCHEMA[sobject], fields, at=self.clock.now(), user_id=self.integration_user_id
            )
            return str(record["Id"])

    def delete(self, sobject: str, record_id: str) -> None:
        """Delete a record as its owner would (into the recycle bin), at the clock's time."""
        with self.store.lock:
            record = self.store.table(SCHEMA[sobject].name)[record_id]
            self.writer.delete(
                SCHEMA[sobject], record_id, at=self.clock.now(), user_id=record["OwnerId"]
            )

    def empty_recycle_bin(self) -> int:
        """Purge every deleted record now, as an admin emptying the recycle bin; how many."""
        return self.store.empty_recycle_bin()

    def commit_late(
        self,
        sobject: str,
        record_id: str,
        fields: dict[str, Any],
        *,
        started_at: datetime,
        visible_at: datetime,
    ) -> None:
        """A long transaction: it stamps the record when it writes (`started_at`) and is seen
        when it commits (`visible_at`); until then queries see the record as it was.

        SystemModstamp is set when the write happens and the write is visible at commit, so a
        reader can meet a record stamped earlier than records it has already read (the reason
        getUpdated reports latestDateCovered; SOAP API Developer Guide, "getUpdated()").
        """
        with self._late_lock:
            self._late.append((visible_at, sobject, record_id, dict(fields), started_at))

    def commit_due(self, now: datetime) -> None:
        """Commit the late transactions whose time has come (every API call runs this first)."""
        with self._late_lock:
            due = [entry for entry in self._late if entry[0] <= now]
            self._late = [entry for entry in self._late if entry[0] > now]
        for _visible_at, sobject, record_id, fields, started_at in sorted(due, key=_by_time):
            with self.store.lock:
                record = self.store.table(SCHEMA[sobject].name)[record_id]
                self.writer.update(
                    SCHEMA[sobject], record_id, fields, at=started_at, user_id=record["OwnerId"]
                )

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Update a record in the integration user's name, validated like an API call but with
        an admin's permissions."""
        with self.store.lock:
            self.writer.update(
                SCHEMA[sobject],
                record_id,
                fields,
                at=self.clock.now(),
                user_id=self.integration_user_id,
            )

    def issue_session(self) -> str:
        """A live access token for the integration user (for `Salesforce(session_id=...)`)."""
        return self.sessions.issue(self.integration_user_id)

    @property
    def admin_user_id(self) -> str:
        """The org's System Administrator (a User record created on first use)."""
        with self._access_lock:
            if self._admin_user_id is None:
                self._admin_user_id = create_admin_user(self.store, at=self.clock.now())
                self.users.add(ADMIN_USERNAME, self._admin_user_id)
            return self._admin_user_id

    def issue_admin_session(self) -> str:
        """A live access token for the org's System Administrator."""
        return self.sessions.issue(self.admin_user_id)

    def expire_sessions(self) -> None:
        """End every session, so the next call gets 401 INVALID_SESSION_ID."""
        self.sessions.expire_all()

    def api_usage(self) -> tuple[int, int]:
        """(used, limit) of the daily API allocation right now."""
        return self.budget.used(self.clock.now()), self.budget.limit

    def connected_app_private_key(self) -> str:
        """The PEM private key whose certificate the connected app trusts for the JWT flow."""
        with self._jwt_key_lock:
            if self._jwt_private_key is None:
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                self.authenticator.trust_jwt_key(
                    key.public_key().public_bytes(
                        serialization.Encoding.PEM,
                        serialization.PublicFormat.SubjectPublicKeyInfo,
                    )
                )
                self._jwt_private_key = key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode()
            return self._jwt_private_key

    # ActivityTarget: what users do in the org while simulated time passes. Writes are stamped
    # with the simulated moment `at` and attributed to the record's owner, not the integration.

    def open_case_ids(self) -> list[str]:
        """Ids of cases that are not closed."""
        return self._ids_where("Case", lambda r: not r["IsClosed"])

    def close_case(self, case_id: str, at: datetime) -> None:
        """Close a case: Status Closed; IsClosed and ClosedDate follow."""
        self._act("Case", case_id, {"Status": "Closed"}, at)

    def contact_ids(self) -> list[str]:
        """Ids of all live contacts."""
        return self._ids_where("Contact", lambda r: True)

    def open_case(self, contact_id: str, subject: str, at: datetime) -> str:
        """Open a new case for a contact and its account, owned by the account's owner."""
        with self.store.lock:
            contact = self.store.table("Contact")[contact_id]
            account = self.store.table("Account").get(contact["AccountId"] or "")
            owner = account["OwnerId"] if account else contact["OwnerId"]
            record = self.store.insert(
                "Case",
                {
                    "Subject": subject,
                    "Status": "New",
                    "Priority": "Medium",
                    "Origin": "Web",
                    "ContactId": contact_id,
                    "AccountId": contact["AccountId"],
                    "OwnerId": owner,
                },
                at=at,
                by=owner,
            )
            return str(record["Id"])

    def onboarding_in_progress_account_ids(self) -> list[str]:
        """Ids of accounts whose Onboarding_Status__c is In Progress."""
        return self._ids_where("Account", lambda r: r["Onboarding_Status__c"] == "In Progress")

    def complete_onboarding(self, account_id: str, at: datetime) -> None:
        """Set Onboarding_Status__c to Completed and the completion date to `at`'s day."""
        self._act(
            "Account",
            account_id,
            {"Onboarding_Status__c": "Completed", "Onboarding_Completed_Date__c": at.date()},
            at,
        )

    def open_tasks(self) -> list[OpenTask]:
        """Tasks that are not closed; any status but Not Started counts as started."""
        with self.store.lock:
            return [
                OpenTask(
                    str(record["Id"]),
                    record["CreatedDate"],
                    record["Status"] != "Not Started",
                )
                for record in self.store.table("Task").values()
                if not record["IsDeleted"] and not record["IsClosed"]
            ]

    def start_task(self, task_id: str, at: datetime) -> None:
        """Start a task as a rep would: Status In Progress."""
        self._act("Task", task_id, {"Status": "In Progress"}, at)

    def complete_task(self, task_id: str, at: datetime) -> None:
        """Complete a task: Status Completed; IsClosed and CompletedDateTime follow. The rep
        writes the outcome of the first guided steps into the description."""
        with self.store.lock:
            description = self.store.table("Task")[task_id].get("Description")
        values: Record = {"Status": "Completed"}
        filled = fill_outcomes(description)
        if filled != description:
            values["Description"] = filled
        self._act("Task", task_id, values, at)

    def _ids_where(self, sobject: str, keep: Any) -> list[str]:
        with self.store.lock:
            return [
                record_id
                for record_id, record in self.store.table(sobject).items()
                if not record["IsDeleted"] and keep(record)
            ]

    def _act(self, sobject: str, record_id: str, values: Record, at: datetime) -> None:
        with self.store.lock:
            record = self.store.table(sobject)[record_id]
            self.store.change(sobject, record, values, at=at, by=record["OwnerId"])
