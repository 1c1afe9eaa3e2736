"""Assembly: from one config to the running parts (store, CRM links, channels, web app).

The one place that builds things; `cli`, the scheduler, the demo and the tests get the same
wiring, so what is tested is what runs.
"""

import datetime as dt
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

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
from worker.surveys.web.app import create_app
from worker.surveys.webhook_import import webhook_importer
from worker.sync.factory import connect
from worker.sync.link import CrmLink, link
from worker.sync.outbox import enqueue_update

Clock = Callable[[], dt.datetime]


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


@contextmanager
def serving(
    config: Config,
    store: Store,
    *,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
    port: int | None = None,
) -> Iterator[uvicorn.Server]:
    """Serve the response web app in a background thread for the life of the block.

    `/hooks/answers` (signed imports) is on when `server.hooks_secret_env` names a set variable.
    """
    environ = os.environ if env is None else env
    importer = (
        webhook_importer(store.sessions, config)
        if environ.get(config.server.hooks_secret_env)
        else None
    )
    app = create_app(config, store.sessions, signer_of(config, env), clock, importer, env=env)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.server.host,
            port=config.server.port if port is None else port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.02)
    if not server.started:
        raise RuntimeError(f"the web endpoint could not listen on {config.server.host}")
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)
