"""Assembly: from one config to the running parts (store, CRM links, channels, web app).

The one place that builds things; `cli`, the scheduler, the demo and the tests get the same
wiring, so what is tested is what runs.
"""

import datetime as dt
import gc
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

import structlog
import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from worker.config import Config, ConfigError
from worker.config.errors import ConfigIssue
from worker.cycle import Loop
from worker.domain import ContactWriteback
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import current_revision, head_revision
from worker.store.mirror import known_values
from worker.store.models import SurveyChannel
from worker.surveys.channels import Channel, CrmFieldChannel, EmailChannel, WebhookChannel
from worker.surveys.delivery import Delivery
from worker.surveys.mail import make_transport
from worker.surveys.render import Templates
from worker.surveys.tokens import TokenSigner
from worker.surveys.web.app import create_app, create_metrics_app
from worker.surveys.webhook_import import webhook_importer
from worker.sync.factory import connect
from worker.sync.link import CrmLink, link
from worker.sync.outbox import enqueue_update

Clock = Callable[[], dt.datetime]

log = structlog.get_logger(__name__)


def utc_now() -> dt.datetime:
    """The wall clock, in UTC: the daemon's clock (the demo passes the sandbox's instead)."""
    return dt.datetime.now(dt.UTC)


@dataclass
class Store:
    """The database: engine and sessions."""

    engine: Engine
    sessions: sessionmaker[Session]
    url: str


def open_store(config: Config) -> Store:
    """Connect to the configured database; it must be at the newest schema (`migrate`)."""
    url = config.database.url.get_secret_value()
    current, head = current_revision(url), head_revision()
    if current != head:
        issue = ConfigIssue(
            "<database>",
            0,
            0,
            "database.url",
            f"database at revision {current or 'none'}, code needs {head}:"
            " run `nps-worker migrate`",
        )
        raise ConfigError([issue])
    engine = make_engine(url)
    return Store(engine, session_factory(engine), url)


def signer_of(config: Config, env: Mapping[str, str] | None = None) -> TokenSigner:
    """The token signer, its secret read from the variable the config names."""
    return TokenSigner.from_env(config.survey.token_secret_env, env)


def build_loop(
    config: Config,
    store: Store,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
    links: list[CrmLink] | None = None,
    others: Sequence[Config] = (),
) -> Loop:
    """Everything one cycle needs, logged in to each CRM (`others`: side by side) unless
    `links` are given."""
    crm_links = (
        links
        if links is not None
        else [link(each, connect(each, env)) for each in (config, *others)]
    )
    signer = signer_of(config, env)
    return Loop(
        config=config,
        sessions=store.sessions,
        links=crm_links,
        channels=channels_of(config, signer, crm_links, env),
        clock=clock,
    )


YOUNG_OBJECTS_BEFORE_COLLECTING = 20_000
"""The cyclic collector's first threshold (Python's default: 700). A pulled page allocates
tens of thousands of short-lived containers, nearly all freed by reference counting; at 700 the
collector ran dozens of times a page over objects about to go anyway. Measured on a 100k
HubSpot first sync replayed through the pull (the same pages, five runs of each in turn): about
4 % less CPU.
Garbage in reference cycles waits for at most this many new objects."""


def freeze_long_lived() -> None:
    """Take what the worker has built so far out of the cyclic collector's sight (`gc.freeze`).

    Imported modules, the config, SDK clients and store metadata live as long as the process,
    yet every full collection walked them again: a tenth of a HubSpot first sync's CPU, whose
    pages allocate enough to trigger a few dozen. Garbage is collected first, so only live
    objects are frozen; then the young generation's threshold is raised (see above).
    Called once by the daemon at start (`run_daemon`), not by `build_loop`:
    a process that builds loop after loop (tests, the demo) would keep every one frozen.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_BEFORE_COLLECTING, *gc.get_threshold()[1:])


def channels_of(
    config: Config,
    signer: TokenSigner,
    links: list[CrmLink],
    env: Mapping[str, str] | None = None,
) -> dict[SurveyChannel, Channel]:
    """The channel `survey.channel` names, ready to deliver."""
    survey = config.survey
    if survey.channel == "webhook":
        return {SurveyChannel.WEBHOOK: WebhookChannel.from_config(survey, signer, env)}
    if survey.channel == "crm_field":
        by_name = {crm_link.name: crm_link for crm_link in links}

        def write(session: Session, delivery: Delivery, url: str, now: dt.datetime) -> None:
            target = by_name[delivery.crm]
            known = known_values(session, delivery.crm, "contact", delivery.crm_id)
            update = target.contact_update(
                delivery.crm_id,
                ContactWriteback(survey_url=url),
                known,
                f"survey-url:{delivery.delivery_id}",
            )
            if update is not None:
                enqueue_update(session, delivery.crm, update, essential=True, now=now)

        return {SurveyChannel.CRM: CrmFieldChannel(survey, signer, write)}
    transport = make_transport(survey.mail, env)
    return {
        SurveyChannel.EMAIL: EmailChannel(survey, signer, Templates.from_config(survey), transport)
    }


@dataclass(frozen=True)
class Listeners:
    """The servers `serving` runs: the answer pages, and /metrics when configured."""

    answers: uvicorn.Server
    metrics: uvicorn.Server | None

    @property
    def port(self) -> int:
        """The port the answer pages are served on."""
        return _bound_port(self.answers)

    @property
    def metrics_port(self) -> int | None:
        """The port /metrics is served on, or None without a metrics listener."""
        return None if self.metrics is None else _bound_port(self.metrics)


@contextmanager
def serving(
    config: Config,
    store: Store,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
    port: int | None = None,
) -> Iterator[Listeners]:
    """Serve the response web app, and its metrics apart, in background threads for the block.

    `/hooks/answers` (signed imports) is on when `server.hooks_secret_env` names a set variable.
    `/metrics` is served on `server.metrics` (loopback by default), never on the answer port.
    """
    environ = os.environ if env is None else env
    importer = (
        webhook_importer(store.sessions, config)
        if environ.get(config.server.hooks_secret_env)
        else None
    )
    app = create_app(config, store.sessions, signer_of(config, env), clock, importer, env=env)
    server = config.server
    with ExitStack() as stack:
        answers = stack.enter_context(
            _listening(app, server.host, server.port if port is None else port, "answers")
        )
        metrics = None
        if server.metrics.port is not None:
            metrics = stack.enter_context(
                _listening(
                    create_metrics_app(app.metrics),
                    server.metrics.host,
                    server.metrics.port,
                    "metrics",
                )
            )
        yield Listeners(answers, metrics)


@contextmanager
def _listening(app: ASGIApp, host: str, port: int, name: str) -> Iterator[uvicorn.Server]:
    """One uvicorn server in a thread until the block ends; refuses to start unheard."""
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    )
    thread = threading.Thread(target=server.run, name=f"web-{name}", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.02)
    if not server.started:
        raise RuntimeError(f"the {name} endpoint could not listen on {host}:{port}")
    log.info("listening", endpoint=name, host=host, port=_bound_port(server))
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _bound_port(server: uvicorn.Server) -> int:
    """The port a started server listens on (the one taken, when configured as 0)."""
    return int(server.servers[0].sockets[0].getsockname()[1])
