"""Fault injection and the request log: the ASGI middleware in front of both emulated CRMs.

Every API request passes through `SandboxMiddleware`, which may inject a fault chosen by a
seeded RNG (429/500/503 in the CRM's own error format, a slow response, a dropped
connection, or a lost answer: the CRM does the work and the connection drops before its
answer leaves) before the route runs, and then records the request in the `RequestLog` that
tests and benchmarks count API calls from.

Salesforce has faults of its own (errorcodes.htm; Bulk API 2.0 Developer Guide, job states):
"403" is the concurrent-request limit (REQUEST_LIMIT_EXCEEDED, ConcurrentPerOrgLongTxn) and
"daily_limit" the rolling 24-hour allocation spent (REQUEST_LIMIT_EXCEEDED, TotalRequests,
with `Sforce-Limit-Info` showing it used up). The other kinds are effects the org applies
inside a request it runs (`FaultInjector.strikes`): "lock_row" fails one record of a
collection with UNABLE_TO_LOCK_ROW, "entity_deleted" has someone delete the record just before
the write (ENTITY_IS_DELETED), "bulk_failed" and "bulk_aborted" end a Bulk API 2.0 query job
Failed or Aborted instead of JobComplete; their `rate` is per record, or per job.
"""

import asyncio
import math
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from email.utils import formatdate
from typing import Any, Literal, Protocol, get_args

import structlog
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.sandbox.clock import SandboxClock

log = structlog.get_logger(__name__)

FaultKind = Literal[
    "429",
    "500",
    "503",
    "slow",
    "drop",
    "lost",
    "403",
    "daily_limit",
    "lock_row",
    "entity_deleted",
    "bulk_failed",
    "bulk_aborted",
]
DateStyle = Literal["gmt", "minus_zero", "doubled"]
"""How responses spell `Date`: RFC 7231's GMT form; RFC 5322's `-0000` ("UTC, local zone
unknown"), which `email.utils.parsedate_to_datetime` reads as a naive datetime; or the GMT form
twice, as a proxy that adds its own header sends it (requests joins them with ", ")."""
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
EFFECTS = frozenset({"daily_limit", "lock_row", "entity_deleted", "bulk_failed", "bulk_aborted"})
"""Kinds the CRM applies itself while it runs a request; the middleware leaves them alone."""
SALESFORCE_ONLY = EFFECTS | {"403"}
CRMS = ("salesforce", "hubspot")
CONTROL_PREFIX = "/_sandbox/"
SALESFORCE_PREFIX = "/services/"
DROPPED_STATUS = 0


def crm_of_path(path: str) -> str:
    """Which emulated CRM a request path belongs to: Salesforce lives under /services/."""
    return "salesforce" if path.startswith(SALESFORCE_PREFIX) else "hubspot"


@dataclass(frozen=True)
class FaultRule:
    """One way requests fail: which CRM and paths, what happens, how often.

    `rate` is the probability (0..1) that a matching request fails; `delay_s` is the added
    latency of a "slow" fault and the Retry-After seconds of a "429"/"503" (0: no header);
    `limit`, when set, is how many times the rule fires before it goes quiet.
    """

    crm: str | None
    path_pattern: str
    kind: FaultKind
    rate: float
    delay_s: float = 0.0
    limit: int | None = None
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.crm is not None and self.crm not in CRMS:
            raise ValueError(f"fault crm must be one of {CRMS} or null, got {self.crm!r}")
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if self.kind in SALESFORCE_ONLY and self.crm != "salesforce":
            raise ValueError(f"fault kind {self.kind!r} needs crm 'salesforce'")
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within 0..1, got {self.rate}")
        if self.delay_s < 0:
            raise ValueError(f"fault delay_s must not be negative, got {self.delay_s}")
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"fault limit must be at least 1 when set, got {self.limit}")
        try:
            regex = re.compile(self.path_pattern)
        except re.error as exc:
            message = f"fault path_pattern {self.path_pattern!r} is not a regex: {exc}"
            raise ValueError(message) from exc
        object.__setattr__(self, "_regex", regex)

    def matches(self, crm: str, path: str) -> bool:
        """Whether a request to `path` of `crm` is subject to this rule (regex search)."""
        return (self.crm is None or self.crm == crm) and self._regex.search(path) is not None

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON-ready data (the control endpoint's shape)."""
        return {
            "crm": self.crm,
            "path_pattern": self.path_pattern,
            "kind": self.kind,
            "rate": self.rate,
            "delay_s": self.delay_s,
            "limit": self.limit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FaultRule":
        """Parse the control endpoint's JSON shape; unknown or mistyped keys are errors."""
        known = {"crm", "path_pattern", "kind", "rate", "delay_s", "limit"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault rule keys: {', '.join(unknown)}")
        missing = sorted({"path_pattern", "kind", "rate"} - set(data))
        if missing:
            raise ValueError(f"fault rule is missing: {', '.join(missing)}")
        crm, pattern, kind = data.get("crm"), data["path_pattern"], str(data["kind"])
        rate, delay, limit = data["rate"], data.get("delay_s", 0.0), data.get("limit")
        if crm is not None and not isinstance(crm, str):
            raise ValueError("fault crm must be a string or null")
        if not isinstance(pattern, str):
            raise ValueError("fault path_pattern must be a string")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}, got {kind!r}")
        if not _is_number(rate) or not _is_number(delay):
            raise ValueError("fault rate and delay_s must be numbers")
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
            raise ValueError("fault limit must be an integer or null")
        return cls(crm, pattern, kind, float(rate), float(delay), limit)  # type: ignore[arg-type]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class FaultInjector:
    """The active fault rules and the seeded RNG that decides which requests they hit."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")  # noqa: S311 - reproducible, not secret
        self._rules: list[FaultRule] = []
        self._fired: list[int] = []

    def add(self, rule: FaultRule) -> None:
        """Activate `rule` after the existing ones (the first rule that fires wins)."""
        with self._lock:
            self._rules.append(rule)
            self._fired.append(0)

    def clear(self) -> None:
        """Remove every rule: requests go straight to the emulators again."""
        with self._lock:
            self._rules.clear()
            self._fired.clear()

    def rules(self) -> list[FaultRule]:
        """The active rules, in the order they are tried."""
        with self._lock:
            return list(self._rules)

    def pick(self, crm: str, path: str) -> FaultRule | None:
        """The fault to inject into this request, if any; draws from the RNG only on a match."""
        return self._fire(crm, path, lambda kind: kind not in EFFECTS)

    def strikes(self, crm: str, path: str, kind: str) -> bool:
        """Whether the effect `kind` hits this record or job of a request to `path`."""
        rule = self._fire(crm, path, lambda candidate: candidate == kind)
        if rule is not None:
            log.info("sandbox.fault_injected", crm=crm, path=path, kind=kind)
        return rule is not None

    def _fire(self, crm: str, path: str, wanted: Callable[[str], bool]) -> FaultRule | None:
        with self._lock:
            for index, rule in enumerate(self._rules):
                exhausted = rule.limit is not None and self._fired[index] >= rule.limit
                if exhausted or not wanted(rule.kind) or not rule.matches(crm, path):
                    continue
                if self._rng.random() < rule.rate:
                    self._fired[index] += 1
                    return rule
            return None


@dataclass(frozen=True)
class RequestLogEntry:
    """One API request as the sandbox saw it: when (sandbox time), where, outcome, volume.

    `status` is 0 for a dropped connection; `fault` names the injected fault kind, if any.
    """

    at: datetime
    crm: str
    method: str
    path: str
    status: int
    records_in: int
    records_out: int
    duration_ms: float
    fault: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The entry as JSON-ready data (the control endpoint's shape)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


class RequestLog:
    """Thread-safe, append-only record of every API request both emulators received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[RequestLogEntry] = []

    def append(self, entry: RequestLogEntry) -> None:
        """Record one request."""
        with self._lock:
            self._entries.append(entry)

    def entries(
        self, *, crm: str | None = None, method: str | None = None, path_pattern: str | None = None
    ) -> list[RequestLogEntry]:
        """The recorded requests, oldest first, optionally filtered (path by regex search)."""
        regex = re.compile(path_pattern) if path_pattern is not None else None
        with self._lock:
            snapshot = list(self._entries)
        return [
            entry
            for entry in snapshot
            if (crm is None or entry.crm == crm)
            and (method is None or entry.method == method.upper())
            and (regex is None or regex.search(entry.path) is not None)
        ]

    def count(
        self, *, crm: str | None = None, method: str | None = None, path_pattern: str | None = None
    ) -> int:
        """How many recorded requests match the filters."""
        return len(self.entries(crm=crm, method=method, path_pattern=path_pattern))

    def clear(self) -> None:
        """Forget every recorded request (e.g. between the phases of a benchmark)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


async def _swallowed(message: Message) -> None:
    """Where a lost answer goes: the CRM did the work; the client never hears of it."""


class ErrorResponder(Protocol):
    """An emulator's error body in its own format (`error_response` of each CRM), for the
    endpoint at `path` (Salesforce's login endpoints word errors unlike its REST API)."""

    def __call__(
        self, status: int, *, retry_after_s: int | None = None, path: str = ""
    ) -> Response: ...


ConnectionAborter = Callable[[Scope], bool]


class SandboxMiddleware:
    """ASGI middleware: injects faults before the CRM routes run and logs every API request.

    Control requests (`/_sandbox/...`) pass through unlogged and never fail. Every response's
    `Date` header tells the sandbox clock's time, as a CRM's tells its own: clients that bound
    their cursors by the server's `Date` (HubSpot's look-back) see the time the data lives in.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        clock: SandboxClock,
        faults: FaultInjector,
        request_log: RequestLog,
        error_responders: Mapping[str, ErrorResponder],
        abort_connection: ConnectionAborter,
        date_style: Callable[[], DateStyle] = lambda: "gmt",
    ) -> None:
        self._app = app
        self._date_style = date_style
        self._clock = clock
        self._faults = faults
        self._log = request_log
        self._error_responders = error_responders
        self._abort_connection = abort_connection

    def _dated(self, send: Send) -> Send:
        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                dates = [(b"date", stamp) for stamp in self._date_stamps()]
                message = {**message, "headers": [*message.get("headers", []), *dates]}
            await send(message)

        return dated

    def _date_stamps(self) -> list[bytes]:
        moment = self._clock.now().timestamp()
        style = self._date_style()
        if style == "minus_zero":
            return [formatdate(moment).encode("latin-1")]  # formatdate writes -0000 for UTC
        stamp = formatdate(moment, usegmt=True).encode("latin-1")
        return [stamp, stamp] if style == "doubled" else [stamp]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        send = self._dated(send)
        if scope["type"] != "http" or str(scope["path"]).startswith(CONTROL_PREFIX):
            await self._app(scope, receive, send)
            return
        path = str(scope["path"])
        crm = crm_of_path(path)
        started_at = self._clock.now()
        started = time.perf_counter()
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        recorded = False
        rule = self._faults.pick(crm, path)
        if rule is not None:
            log.info("sandbox.fault_injected", crm=crm, path=path, kind=rule.kind)

        def record() -> None:
            # Called before the last byte leaves (or the connection drops), so a client that
            # has its answer always finds the request in the log.
            nonlocal recorded
            if recorded:
                return
            recorded = True
            self._log.append(
                RequestLogEntry(
                    at=started_at,
                    crm=crm,
                    method=str(scope["method"]),
                    path=path,
                    status=status,
                    records_in=int(state.get("records_in", 0)),
                    records_out=int(state.get("records_out", 0)),
                    duration_ms=(time.perf_counter() - started) * 1000.0,
                    fault=None if rule is None else rule.kind,
                )
            )

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()
            await send(message)

        try:
            if rule is None or rule.kind == "slow":
                if rule is not None:
                    await asyncio.sleep(rule.delay_s)
                await self._app(scope, receive, send_and_watch)
            elif rule.kind == "drop":
                status = DROPPED_STATUS
                record()
                await self._drop(scope, receive)
            elif rule.kind == "lost":
                await self._app(scope, receive, _swallowed)
                status = DROPPED_STATUS
                record()
                await self._drop(scope, receive)
            else:
                retry_after = math.ceil(rule.delay_s) if rule.delay_s > 0 else None
                response = self._error_responders[crm](
                    int(rule.kind), retry_after_s=retry_after, path=path
                )
                await response(scope, receive, send_and_watch)
        finally:
            record()

    async def _drop(self, scope: Scope, receive: Receive) -> None:
        if not self._abort_connection(scope):
            raise RuntimeError(f"cannot drop the connection of {scope.get('client')}: unknown")
        while (await receive())["type"] != "http.disconnect":
            continue
