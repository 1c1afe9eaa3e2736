"""The running sandbox: one TLS server in a thread serving both emulated CRMs and a control API.

Clients trust the sandbox's own CA (`Sandbox.ca_path`, made with trustme); Salesforce login
hosts are routed to the sandbox by the worker's endpoint adapter (`sync/endpoint.py`, or
`tests/sandbox_session.py` for tests), so simple-salesforce keeps its real login code path.
"""

import asyncio
import json
import random
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import structlog
import trustme
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Scope
from uvicorn.protocols.http.h11_impl import H11Protocol

from worker.sandbox.activity import ActivitySummary, TaskHabits, simulate
from worker.sandbox.clock import SandboxClock
from worker.sandbox.faults import (
    CONTROL_PREFIX,
    DateStyle,
    FaultInjector,
    FaultRule,
    RequestLog,
    SandboxMiddleware,
)
from worker.sandbox.hubspot import HubSpotPortal
from worker.sandbox.hubspot.store import IndexLag
from worker.sandbox.salesforce import SalesforceOrg
from worker.sandbox.salesforce.org import INTEGRATION_PERMISSION_SETS
from worker.sandbox.salesforce.permissions import InvalidPermissionSet
from worker.sandbox.salesforce.session_timeout import DEFAULT_TIMEOUT
from worker.sandbox.world import World, generate_world

log = structlog.get_logger(__name__)

T = TypeVar("T")

STARTUP_TIMEOUT_S = 15.0
SHUTDOWN_TIMEOUT_S = 10.0
GRACEFUL_SHUTDOWN_S = 2
DEFAULT_INDEX_LAG = (1.0, 15.0)
"""Seconds of sandbox time before a HubSpot write reaches search: a seeded draw per write.
HubSpot says "a few moments"; (0, 0) turns the lag off."""
_WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - names of "all interfaces", not a bind


class Sandbox:
    """The running emulator: clock, data, both CRMs, faults, request log, TLS server in a thread."""

    clock: SandboxClock
    salesforce: SalesforceOrg
    hubspot: HubSpotPortal
    faults: FaultInjector
    log: RequestLog
    world: World
    task_habits: TaskHabits
    """How reps treat follow-up tasks as time passes (default: with holidays, see TaskHabits)."""
    date_style: DateStyle
    """How responses spell their `Date` header (see `DateStyle`; tests switch it)."""

    def __init__(
        self,
        *,
        seed: int = 1,
        size: int = 100,
        start: datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        hubspot_rate_limits: bool = True,
        hubspot_nps_properties: bool = True,
        hubspot_index_lag: tuple[float, float] = DEFAULT_INDEX_LAG,
        task_habits: TaskHabits | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        salesforce_permission_sets: Sequence[str] = INTEGRATION_PERMISSION_SETS,
        salesforce_session_timeout: timedelta | None = DEFAULT_TIMEOUT,
        salesforce_bulk_polls: int = 3,
    ) -> None:
        begin = start if start is not None else datetime.now(UTC).replace(microsecond=0)
        self.seed = seed
        self.size = size
        self.host = host
        self.clock = SandboxClock(begin, monotonic=monotonic)  # tests may hold time still
        self.faults = FaultInjector(seed)
        self.log = RequestLog()
        self.world = generate_world(seed, size, self.clock.now())
        self.salesforce = SalesforceOrg(
            self.clock,
            permission_sets=salesforce_permission_sets,
            faults=self.faults,
            session_timeout=salesforce_session_timeout,
            bulk_polls=salesforce_bulk_polls,
        )
        self.hubspot = HubSpotPortal(
            self.clock,
            enforce_rate_limits=hubspot_rate_limits,
            preinstall_nps_properties=hubspot_nps_properties,
            index_lag=IndexLag(*hubspot_index_lag, seed=seed),
        )
        self.salesforce.load(self.world)
        self.hubspot.load(self.world)
        self.task_habits = task_habits or TaskHabits()
        self.date_style = "gmt"
        self._activity_rngs = {
            crm: random.Random(f"activity:{seed}:{crm}")  # noqa: S311 - reproducible, not secret
            for crm in ("salesforce", "hubspot")
        }
        self._requested_port = port
        self._port: int | None = None
        self._tls: _TlsMaterial | None = None
        self._connections: dict[tuple[str, int], asyncio.Transport] = {}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._failure: BaseException | None = None

    @property
    def port(self) -> int:
        """The TCP port the server is bound to (known once started)."""
        if self._port is None:
            raise RuntimeError("the sandbox is not running: call start() first")
        return self._port

    @property
    def base_url(self) -> str:
        """`https://HOST:PORT`, the root both CRMs are served under."""
        host = "127.0.0.1" if self.host in _WILDCARD_HOSTS else self.host
        return f"https://{host}:{self.port}"

    @property
    def ca_path(self) -> Path:
        """The PEM bundle of the sandbox CA that clients must trust."""
        if self._tls is None:
            raise RuntimeError("the sandbox has not been started: call start() first")
        return self._tls.ca_path

    def start(self) -> "Sandbox":
        """Make the TLS material, start serving in a background thread, and wait until bound."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        if self._tls is None:
            self._tls = _TlsMaterial(self.host)
        config = uvicorn.Config(
            self._build_app(),
            host=self.host,
            port=self._requested_port,
            ssl_certfile=str(self._tls.certfile),
            ssl_keyfile=str(self._tls.keyfile),
            http=_tracked_h11_protocol(self._connections),
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            date_header=False,  # SandboxMiddleware sends the sandbox clock's date
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )
        self._server = uvicorn.Server(config)
        self._failure = None
        self._thread = threading.Thread(
            target=self._serve, args=(self._server,), name="sandbox-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the sandbox server did not start on {self.host}:{self._requested_port}"
                ) from self._failure
            time.sleep(0.005)
        sockets = self._server.servers[0].sockets
        self._port = int(sockets[0].getsockname()[1])
        log.info("sandbox.started", base_url=self.base_url, seed=self.seed, size=self.size)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread; clients now see connections refused.

        The TLS material outlives a stop (a restart reuses it) and is deleted with the object.
        """
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=SHUTDOWN_TIMEOUT_S)
            if self._thread.is_alive():
                raise RuntimeError("the sandbox server thread did not stop")
        self._server = None
        self._thread = None
        self._loop = None
        self._port = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def advance(self, delta: timedelta) -> ActivitySummary:
        """Move the clock forward by `delta` and simulate what users do in both CRMs meanwhile.

        Runs on the server's event loop when serving, so it never interleaves with a request.
        """
        return self._on_server_loop(lambda: self._advance(delta))

    def _advance(self, delta: timedelta) -> ActivitySummary:
        start = self.clock.now()
        end = self.clock.advance(delta)
        rngs, habits = self._activity_rngs, self.task_habits
        summary = simulate(self.salesforce, rngs["salesforce"], start, end, habits)
        # HubSpot's writes are made at their moments (its search index lags behind each one).
        summary += simulate(self.hubspot, rngs["hubspot"], start, end, habits, walk=self.clock.set)
        self.clock.set(end)
        log.info(
            "sandbox.advanced", start=start.isoformat(), end=end.isoformat(), **summary.counts()
        )
        return summary

    def _on_server_loop(self, work: Callable[[], T]) -> T:
        loop = self._loop
        if loop is None or not loop.is_running():
            return work()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            return work()

        async def run() -> T:
            return work()

        return asyncio.run_coroutine_threadsafe(run(), loop).result()

    def _serve(self, server: uvicorn.Server) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported by start(); SystemExit included
            self._failure = exc
            log.error("sandbox.server_failed", error=repr(exc))
        finally:
            loop.close()

    def _build_app(self) -> SandboxMiddleware:
        routes: list[BaseRoute] = [
            Mount(CONTROL_PREFIX.rstrip("/"), routes=self._control_routes()),
            *self.salesforce.routes(),
            *self.hubspot.routes(),
        ]
        return SandboxMiddleware(
            Starlette(routes=routes),
            clock=self.clock,
            faults=self.faults,
            request_log=self.log,
            error_responders={
                "salesforce": self.salesforce.error_response,
                "hubspot": self.hubspot.error_response,
            },
            abort_connection=self._abort_connection,
            date_style=lambda: self.date_style,
        )

    def _abort_connection(self, scope: Scope) -> bool:
        client = scope.get("client")
        transport = self._connections.get(tuple(client)) if client else None
        if transport is None:
            return False
        transport.abort()
        return True

    def _control_routes(self) -> list[BaseRoute]:
        return [
            Route("/clock", self._get_clock, methods=["GET"]),
            Route("/clock", self._set_clock, methods=["POST"]),
            Route("/advance", self._post_advance, methods=["POST"]),
            Route("/faults", self._get_faults, methods=["GET"]),
            Route("/faults", self._set_faults, methods=["POST"]),
            Route("/requests", self._get_requests, methods=["GET"]),
            Route("/salesforce/permission-sets", self._get_permission_sets, methods=["GET"]),
            Route("/salesforce/permission-sets", self._set_permission_sets, methods=["POST"]),
        ]

    async def _get_clock(self, request: Request) -> JSONResponse:
        return JSONResponse({"now": self.clock.now().isoformat()})

    async def _set_clock(self, request: Request) -> JSONResponse:
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        try:
            moment = datetime.fromisoformat(str(body["now"]))
            self.clock.set(moment)
        except (KeyError, ValueError) as exc:
            return _bad_request(f'expected {{"now": "<ISO 8601 with offset>"}}: {exc}')
        return JSONResponse({"now": self.clock.now().isoformat()})

    async def _post_advance(self, request: Request) -> JSONResponse:
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        units = ("days", "hours", "minutes", "seconds")
        if not body or set(body) - set(units):
            return _bad_request(f"expected a JSON object with some of: {', '.join(units)}")
        if not all(isinstance(body[unit], int | float) for unit in body):
            return _bad_request("advance amounts must be numbers")
        try:
            summary = self._advance(timedelta(**{unit: float(body[unit]) for unit in body}))
        except (ValueError, OverflowError) as exc:
            return _bad_request(str(exc))
        return JSONResponse({"now": self.clock.now().isoformat(), "activity": summary.to_dict()})

    async def _get_faults(self, request: Request) -> JSONResponse:
        return JSONResponse({"rules": [rule.to_dict() for rule in self.faults.rules()]})

    async def _set_faults(self, request: Request) -> JSONResponse:
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        raw_rules = body.get("rules")
        if set(body) != {"rules"} or not isinstance(raw_rules, list):
            return _bad_request('expected {"rules": [<rule>, ...]} (an empty list clears)')
        try:
            rules = [FaultRule.from_dict(raw) for raw in raw_rules if isinstance(raw, dict)]
        except ValueError as exc:
            return _bad_request(str(exc))
        if len(rules) != len(raw_rules):
            return _bad_request("each fault rule must be a JSON object")
        self.faults.clear()
        for rule in rules:
            self.faults.add(rule)
        return JSONResponse({"rules": [rule.to_dict() for rule in self.faults.rules()]})

    async def _get_permission_sets(self, request: Request) -> JSONResponse:
        org = self.salesforce
        return JSONResponse(
            {"deployed": sorted(org.permission_sets), "assigned": org.assigned_permission_sets()}
        )

    async def _set_permission_sets(self, request: Request) -> JSONResponse:
        """Deploy permission sets (`deploy`: name -> XML) and set the integration user's."""
        body = await _json_object(request)
        if isinstance(body, JSONResponse):
            return body
        deploy, assigned = body.get("deploy", {}), body.get("assigned")
        if (
            set(body) - {"deploy", "assigned"}
            or not isinstance(deploy, dict)
            or not all(isinstance(xml, str) for xml in deploy.values())
            or not isinstance(assigned, list)
            or not all(isinstance(name, str) for name in assigned)
        ):
            return _bad_request('expected {"assigned": [<name>, ...], "deploy": {<name>: <xml>}}')
        org = self.salesforce
        try:
            for name, xml_text in deploy.items():
                org.deploy_permission_set(name, xml_text)
            unknown = sorted(set(assigned) - set(org.permission_sets))
            if unknown:
                return _bad_request(f"not deployed: {', '.join(unknown)}")
        except InvalidPermissionSet as error:
            return _bad_request(str(error))
        for name in org.assigned_permission_sets():
            org.unassign_permission_set(name)
        for name in assigned:
            org.assign_permission_set(name)
        return await self._get_permission_sets(request)

    async def _get_requests(self, request: Request) -> JSONResponse:
        params = request.query_params
        try:
            entries = self.log.entries(
                crm=params.get("crm"), method=params.get("method"), path_pattern=params.get("path")
            )
        except ValueError as exc:
            return _bad_request(str(exc))
        return JSONResponse(
            {"count": len(entries), "requests": [entry.to_dict() for entry in entries]}
        )


class _TlsMaterial:
    """A fresh CA and a server certificate for the sandbox's names, in a private temp folder."""

    def __init__(self, host: str) -> None:
        folder = Path(tempfile.mkdtemp(prefix="nps-sandbox-tls-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        authority = trustme.CA(organization_name="nps-worker sandbox")
        names = ["127.0.0.1", "localhost"]
        if host not in _WILDCARD_HOSTS and host not in names:
            names.append(host)
        cert = authority.issue_cert(*names)
        self.ca_path = folder / "sandbox-ca.pem"
        self.certfile = folder / "server-chain.pem"
        self.keyfile = folder / "server-key.pem"
        authority.cert_pem.write_to_path(str(self.ca_path))
        self.certfile.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        cert.private_key_pem.write_to_path(str(self.keyfile))


def _tracked_h11_protocol(
    connections: dict[tuple[str, int], asyncio.Transport],
) -> type[H11Protocol]:
    """uvicorn's h11 protocol, remembering each connection's transport so a fault can drop it."""

    class TrackedH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if self.client is not None:
                connections[self.client] = transport

        def connection_lost(self, exc: Exception | None) -> None:
            if self.client is not None:
                connections.pop(self.client, None)
            super().connection_lost(exc)

        def shutdown(self) -> None:
            super().shutdown()
            if self.transport.is_closing():
                # An idle keep-alive connection: do not wait for the client's TLS close_notify.
                self.transport.abort()

    return TrackedH11Protocol


async def _json_object(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        return _bad_request(f"body is not JSON: {exc}")
    if not isinstance(body, dict):
        return _bad_request("body must be a JSON object")
    return body


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)
