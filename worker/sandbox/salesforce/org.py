"""`SalesforceOrg`: one emulated Salesforce org — records, metadata, logins, limits, routes — and
the operations the sandbox's time machine performs on it."""

import threading
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.responses import Response
from starlette.routing import BaseRoute

from worker.sandbox.activity import OpenTask
from worker.sandbox.clock import SandboxClock
from worker.sandbox.salesforce.auth import (
    Authenticator,
    Credentials,
    Sessions,
    UserDirectory,
)
from worker.sandbox.salesforce.bulk2 import BulkQueryJobs
from worker.sandbox.salesforce.composite import run_composite
from worker.sandbox.salesforce.ids import normalize_id
from worker.sandbox.salesforce.limits import ApiBudget
from worker.sandbox.salesforce.paging import QueryCursors
from worker.sandbox.salesforce.projection import (
    INTEGRATION_USERNAME,
    create_integration_user,
    load_world,
)
from worker.sandbox.salesforce.query import QueryEngine
from worker.sandbox.salesforce.rest import RestApi
from worker.sandbox.salesforce.routes import build_routes, login_fault, salesforce_error
from worker.sandbox.salesforce.schema import SCHEMA
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
# instance being unavailable; 429/403-style throttling is REQUEST_LIMIT_EXCEEDED for too many
# concurrent long-running requests; anything else is the generic UNKNOWN_EXCEPTION.
_FAULT_ERRORS = {
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    503: ("SERVER_UNAVAILABLE", "Server temporarily unavailable, please try again later."),
}
_UNKNOWN_EXCEPTION = (
    "UNKNOWN_EXCEPTION",
    "An unexpected error occurred. Please include this ErrorId if you contact support: "
    "0123456789-12345 (-1234567890)",
)


class SalesforceOrg:
    """An emulated Salesforce org that simple-salesforce talks to over HTTPS, unchanged."""

    def __init__(self, clock: SandboxClock, *, daily_api_limit: int = 100_000) -> None:
        self.clock = clock
        self.store = RecordStore()
        self.org_id = self.store.ids.next_id("00D")
        self.writer = Writer(self.store)
        self.engine = QueryEngine(self.store)
        self.budget = ApiBudget(daily_api_limit)
        self.sessions = Sessions(self.org_id)
        self.users = UserDirectory()
        self.authenticator = Authenticator(DEFAULT_CREDENTIALS, self.sessions, self.users)
        self.cursors = QueryCursors(self.store.ids, self.engine.render)
        self.rest = RestApi(self.store, self.writer, self.engine, self.cursors, self.budget)
        self.rest.add(
            "POST",
            r"composite",
            lambda request, _match: run_composite(request, self.store, self.rest.handle),
        )
        self.bulk_jobs = BulkQueryJobs(self.engine, self.store.ids)
        self.bulk_jobs.register(self.rest)
        self.integration_user_id = create_integration_user(self.store, at=clock.now())
        self.users.add(INTEGRATION_USERNAME, self.integration_user_id)
        self._jwt_key_lock = threading.Lock()
        self._jwt_private_key: str | None = None

    def load(self, world: World) -> None:
        """Project the neutral world into User, Account, Contact, Case and Opportunity records."""
        load_world(self.store, world, by=self.integration_user_id, at=self.clock.now())
        for user in self.store.table("User").values():
            self.users.add(user["Username"], user["Id"])

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
        """Create a record as the integration user, validated like an API call; returns its id."""
        with self.store.lock:
            record = self.writer.create(
                SCHEMA[sobject], fields, at=self.clock.now(), user_id=self.integration_user_id
            )
            return str(record["Id"])

    def update(self, sobject: str, record_id: str, fields: dict[str, Any]) -> None:
        """Update a record as the integration user, validated like an API call."""
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
        """Complete a task: Status Completed; IsClosed and CompletedDateTime follow."""
        self._act("Task", task_id, {"Status": "Completed"}, at)

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
