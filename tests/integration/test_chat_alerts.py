"""Chat alerts reach a real webhook receiver: detractors with the task's context, batched under
a per-minute limit, kept in the store and retried when the chat fails, filtered per program and
segment. The receiver is an HTTP server in the test; what it received is the judge."""

# ruff: noqa: RUF001 - Japanese text uses full-width punctuation

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import Config, ConfigError, parse_config
from worker.domain import Category
from worker.loop.answers import handle_answers
from worker.notify.alerts import send_alerts
from worker.status import status
from worker.store.models import (
    Account,
    ChatAlert,
    Contact,
    Crm,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.sync.base import UserProfile
from worker.sync.link import link

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)


class Receiver:
    """Slack- and Teams-style incoming webhooks: records each JSON post; answers with the
    statuses queued in `fail` first, then 200."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = receiver.fail.pop(0) if receiver.fail else 200
                if status == 200:
                    receiver.posts.append((self.path, body))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "30")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def texts(self, chat: str) -> list[str]:
        """Every post to `chat` as plain text (Slack's fallback; Teams' card text blocks)."""
        found = []
        for path, body in self.posts:
            if path != f"/{chat}":
                continue
            if chat == "slack":
                found.append(body["text"])
            else:
                card = body["attachments"][0]["content"]
                found.append("\n".join(block["text"] for block in card["body"]))
        return found


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a free local port."""
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()


class FakeClient:
    """A CRM the answer step only reads users from."""

    name = "salesforce"

    def managers(self) -> dict[str, str]:
        return {}

    def users(self) -> dict[str, UserProfile]:
        return {"005000000000OWN": UserProfile("005000000000OWN", "健", "田中", "ja", "Asia/Tokyo")}

    def task_statuses(self, task_ids: Sequence[str]) -> list[object]:
        return []


def _config(rules: str, per_minute: int = 20, batch: int = 10) -> Config:
    return parse_config(
        "crm: {kind: salesforce}\n"
        "programs:\n"
        "  support_case_closed:\n"
        "    touchpoint: support\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}}}\n"
        "  onboarding:\n"
        "    touchpoint: onboarding\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: New}}}}\n"
        "segments: {fields: {plan: account.Plan__c, arr: account.AnnualRevenue}}\n"
        "notify: {slack: {webhook_env: SLACK_URL}, teams: {webhook_env: TEAMS_URL}}\n"
        f"alerts:\n  per_minute: {per_minute}\n  batch: {batch}\n  rules:\n{rules}",
        "config.yaml",
        env={"SLACK_URL": "http://x/slack", "TEAMS_URL": "http://x/teams"},
    )


def _env(receiver: Receiver) -> dict[str, str]:
    return {"SLACK_URL": f"{receiver.url}/slack", "TEAMS_URL": f"{receiver.url}/teams"}


def _answers(
    sessions: sessionmaker[Session],
    count: int,
    *,
    score: int = 2,
    program: str = "support_case_closed",
    plan: str = "Enterprise",
) -> None:
    with sessions.begin() as session:
        account = Account(
            crm=Crm.SALESFORCE,
            crm_id=f"001{plan}",
            name="Acme",
            owner_crm_id="005000000000OWN",
            fields={"segments": {"Plan__c": plan, "arr": 120000}},
            modified_at=NOW,
            deleted=False,
            synced_at=NOW,
        )
        session.add(account)
        session.flush()
        for index in range(count):
            contact = Contact(
                crm=Crm.SALESFORCE,
                crm_id=f"003{plan}{program}{index}",
                account_crm_id=account.crm_id,
                account_id=account.id,
                email=f"p{index}.{plan}.{program}@example.com",
                first_name="Jane",
                last_name=f"Doe{index}",
                opted_out=False,
                fields={},
                modified_at=NOW,
                deleted=False,
                synced_at=NOW,
            )
            session.add(contact)
            session.flush()
            survey = Survey(
                program=program,
                contact_id=contact.id,
                token_id=f"tok-{plan}-{program}-{index}",
                state=SurveyState.ANSWERED,
                language="en",
                channel=SurveyChannel.EMAIL,
                planned_at=NOW - timedelta(days=2),
                scheduled_for=NOW - timedelta(days=2),
                sent_at=NOW - timedelta(days=2),
                expires_at=NOW + timedelta(days=12),
                reminder_count=0,
            )
            session.add(survey)
            session.flush()
            session.add(
                Response(
                    survey_id=survey.id,
                    score=score,
                    category=Category.of_score(score),
                    comment="Export times out every night",
                    provisional=False,
                    source=ResponseSource.WEB,
                    received_at=NOW - timedelta(hours=1),
                    version=1,
                    handled_version=0,
                )
            )


def _handle(sessions: sessionmaker[Session], config: Config) -> None:
    handle_answers(sessions, config, link(config, FakeClient()), NOW, {})  # type: ignore[arg-type]


def test_a_detractor_reaches_slack_and_teams_with_the_tasks_context(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """Each chat receives the detractor once: customer, score, comment, due time and owner, in
    the rule's language; a second run posts nothing again."""
    config = _config("    - {chats: [slack]}\n    - {chats: [teams], language: ja}\n")
    _answers(sessions, 1)
    _handle(sessions, config)
    _handle(sessions, config)
    stats = send_alerts(sessions, config, NOW, env=_env(receiver))
    again = send_alerts(sessions, config, NOW + timedelta(minutes=5), env=_env(receiver))
    assert (stats.sent, again.sent) == (2, 0)
    [slack] = receiver.texts("slack")
    [teams] = receiver.texts("teams")
    assert "NPS 2 · Detractor: Jane Doe0, Acme" in slack
    assert "Comment: Export times out every night" in slack
    assert "Due: Tue 2026-05-05 20:00 JST (24 h SLA)" in slack
    assert "Owner: 田中 健" in slack
    assert "ARR: 120,000" in slack
    assert "NPS 2・批判者：Doe0 Jane 様（Acme）・期限 2026-05-05（火）20:00 JST" in teams
    assert "担当：田中 健" in teams


def test_alerts_wait_in_the_store_while_the_chat_fails(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """A 5xx leaves the alert queued with a backoff, a 429 waits its Retry-After; a later
    run delivers it once. Handling the answer never touched the chat."""
    config = _config("    - {chats: [slack]}\n")
    _answers(sessions, 1)
    receiver.fail = [503, 429]
    _handle(sessions, config)
    assert receiver.posts == []
    first = send_alerts(sessions, config, NOW, env=_env(receiver))
    soon = send_alerts(sessions, config, NOW + timedelta(seconds=30), env=_env(receiver))
    second = send_alerts(sessions, config, NOW + timedelta(minutes=1), env=_env(receiver))
    early = send_alerts(sessions, config, NOW + timedelta(seconds=80), env=_env(receiver))
    third = send_alerts(sessions, config, NOW + timedelta(seconds=91), env=_env(receiver))
    assert [s.deferred for s in (first, soon, second, early)] == [1, 0, 1, 0]
    assert third.sent == 1
    assert len(receiver.texts("slack")) == 1
    with sessions() as session:
        alert = session.scalars(select(ChatAlert)).one()
        shown = status(session, config, NOW + timedelta(minutes=2))
    assert (alert.state, alert.attempts) == ("sent", 3)
    assert "chat alerts: sent 1" in shown


def test_alerts_are_batched_under_the_rate_limit(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """12 detractors, 5 alerts a message, 2 messages a minute: 10 now, 2 a minute later."""
    config = _config("    - {chats: [slack]}\n", per_minute=2, batch=5)
    _answers(sessions, 12)
    _handle(sessions, config)
    now = send_alerts(sessions, config, NOW, env=_env(receiver))
    same_minute = send_alerts(sessions, config, NOW + timedelta(seconds=20), env=_env(receiver))
    later = send_alerts(sessions, config, NOW + timedelta(seconds=61), env=_env(receiver))
    assert [(s.sent, s.messages) for s in (now, same_minute, later)] == [(10, 2), (0, 0), (2, 1)]
    texts = receiver.texts("slack")
    assert texts[0].startswith("5 NPS alerts")
    assert sum(text.count("Export times out every night") for text in texts) == 12


def test_rules_filter_by_program_and_segment(
    sessions: sessionmaker[Session], receiver: Receiver
) -> None:
    """Only the configured program's answers at Enterprise accounts are posted."""
    config = _config(
        "    - chats: [slack]\n"
        "      programs: [support_case_closed]\n"
        "      when: {account.Plan__c: Enterprise}\n"
    )
    _answers(sessions, 1, plan="Enterprise")
    _answers(sessions, 1, plan="Starter")
    _answers(sessions, 1, program="onboarding", plan="Growth")
    _answers(sessions, 1, score=8, plan="Team")
    _handle(sessions, config)
    send_alerts(sessions, config, NOW, env=_env(receiver))
    [text] = receiver.texts("slack")
    assert "Jane Doe0, Acme" in text
    with sessions() as session:
        assert session.scalars(select(ChatAlert.dedup_key)).all() == [
            session.scalars(select(ChatAlert.dedup_key)).one()
        ]


def test_a_chat_without_a_webhook_is_a_config_error() -> None:
    """A rule naming a chat `notify` does not configure is refused, naming the key."""
    with pytest.raises(
        ConfigError, match=r"config\.yaml:2:\d+: alerts\.rules\[0\]\.chats: chat 'teams'"
    ):
        parse_config(
            "crm: {kind: salesforce}\nalerts: {rules: [{chats: [teams]}]}\n",
            "config.yaml",
            env={},
        )
