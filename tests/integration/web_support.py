"""Helpers for the web app tests: a fake clock, a migrated store with surveys, a test client."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.testclient import TestClient

from worker.config import Config, load_config
from worker.config.sections import RateLimit
from worker.store.models import (
    Contact,
    Crm,
    Response,
    ResponseVersion,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.surveys.tokens import Purpose, TokenSigner, new_token_id
from worker.surveys.web.app import create_app, create_metrics_app
from worker.surveys.web.context import ImportHandler

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
SECRET = "test-secret-" + "x" * 32
OLD_SECRET = "old-secret-" + "y" * 32
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126 Safari"
HOOKS_SECRET = "hooks-secret-" + "z" * 32


def web_config(per_minute: int = 100_000, burst: int = 100_000, **server: object) -> Config:
    """The documented example config, with the rate limit and server keys given."""
    config = load_config(EXAMPLE, env={})
    updated = config.server.model_copy(
        update={"rate_limit": RateLimit(per_minute=per_minute, burst=burst), **server}
    )
    return config.model_copy(update={"server": updated})


@dataclass
class FakeClock:
    """The app's clock; tests move it."""

    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move time forward."""
        self.now += delta


@dataclass
class FakeMonotonic:
    """The rate limiter's clock."""

    seconds: float = 1_000.0

    def __call__(self) -> float:
        return self.seconds


@dataclass(frozen=True)
class Link:
    """A survey in the store and the tokens of its links."""

    survey_id: int
    token_id: str
    answer: str
    unsubscribe: str

    def page(self, score: int | str | None = None) -> str:
        """Path of the answer page, with `score` as the e-mail button sends it."""
        return f"/s/{self.answer}" + ("" if score is None else f"?score={score}")


@dataclass(repr=False)
class Harness:
    """The app under test with its store, clock and client."""

    sessions: sessionmaker[Session]
    config: Config = field(default_factory=web_config)
    clock: FakeClock = field(default_factory=FakeClock)
    monotonic: FakeMonotonic = field(default_factory=FakeMonotonic)
    signer: TokenSigner = field(default_factory=lambda: TokenSigner(SECRET))
    import_handler: ImportHandler | None = None

    def __post_init__(self) -> None:
        app = create_app(
            self.config,
            self.sessions,
            self.signer,
            self.clock,
            self.import_handler,
            env={self.config.server.hooks_secret_env: HOOKS_SECRET},
            monotonic=self.monotonic,
        )
        self.app = app
        self.client = TestClient(app, base_url="https://nps.example.com")
        self.metrics_client = TestClient(create_metrics_app(app.metrics))

    def survey(
        self,
        *,
        language: str = "en",
        sent_ago: timedelta = timedelta(hours=2),
        state: SurveyState = SurveyState.SENT,
        email: str | None = "ann@example.com",
        expires_in: timedelta = timedelta(days=14),
    ) -> Link:
        """A sent survey of a new contact, and its answer and unsubscribe tokens."""
        now = self.clock.now
        token_id = new_token_id()
        with self.sessions() as session, session.begin():
            contact = Contact(
                crm=Crm.SALESFORCE,
                crm_id=f"003{new_token_id()}",
                email=email,
                language=language,
                modified_at=now,
                synced_at=now,
            )
            session.add(contact)
            session.flush()
            survey = Survey(
                program="case_closed",
                contact_id=contact.id,
                token_id=token_id,
                state=state,
                language=language,
                channel=SurveyChannel.EMAIL,
                planned_at=now - sent_ago,
                scheduled_for=now - sent_ago,
                sent_at=now - sent_ago,
                expires_at=now + expires_in,
            )
            session.add(survey)
            session.flush()
            survey_id = survey.id
        expires_at = now + expires_in
        return Link(
            survey_id=survey_id,
            token_id=token_id,
            answer=self.signer.issue(token_id, Purpose.ANSWER, expires_at),
            unsubscribe=self.signer.issue(token_id, Purpose.UNSUBSCRIBE, now + timedelta(days=365)),
        )

    def response(self, link: Link) -> Response | None:
        """The stored response of the survey."""
        with self.sessions() as session:
            return session.scalars(
                select(Response).where(Response.survey_id == link.survey_id)
            ).one_or_none()

    def versions(self, link: Link) -> list[ResponseVersion]:
        """Every stored version of the survey's answer, oldest first."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(ResponseVersion)
                    .join(Response, Response.id == ResponseVersion.response_id)
                    .where(Response.survey_id == link.survey_id)
                    .order_by(ResponseVersion.version)
                )
            )

    def stored_survey(self, link: Link) -> Survey:
        """The survey row as stored now."""
        with self.sessions() as session:
            return session.get_one(Survey, link.survey_id)

    def open(self, link: Link, score: int | str | None = None, agent: str = BROWSER) -> str:
        """GET the page like a browser; returns the form token on it."""
        page = self.client.get(link.page(score), headers={"User-Agent": agent})
        assert page.status_code == 200, page.text
        return form_token(page.text)

    def post(
        self, link: Link, fields: dict[str, object], token: str | None = None
    ) -> httpx.Response:
        """POST the answer form with `fields` and the page's form token."""
        body = {"form": token if token is not None else self.open(link), **fields}
        return self.client.post(link.page(), data=body, headers={"User-Agent": BROWSER})


def form_token(html: str) -> str:
    """The hidden form token of a rendered page."""
    found = re.search(r'name="form" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)
