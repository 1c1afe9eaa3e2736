"""The weekly review pack: its numbers against an independent count, one send per scheduled
time to every address in its language, a chat summary with a link, the daemon's job."""

import datetime as dt
import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests import analytics_reference as ref
from tests.integration.chat_receiver import chat_receiver
from tests.integration.outer_loop_data import account, answer, config, contact
from worker.cli import main
from worker.config import Config
from worker.cycle import Loop
from worker.digest.content import build_digest
from worker.digest.send import latest_due, send_due
from worker.notify.sender import Chats, WebhookSender
from worker.scheduler import Daemon
from worker.surveys.mail import DirectoryMailer

MONDAY = dt.datetime(2026, 3, 30, 8, 0, tzinfo=dt.UTC)
DIGEST = """\
digest:
  enabled: true
  cron: "0 8 * * 1"
  to: [revops@acme.example, {address: tokyo@acme.example, language: ja}]
  link_url: https://intranet.acme.example/nps
notify:
  slack: {webhook_env: SLACK_URL}
  teams: {webhook_env: TEAMS_URL}
analytics:
  targets: {nps: 50, response_rate: 10}
"""


def _settings(folder: Path) -> Config:
    return config(DIGEST, directory=str(folder))


def _history(session: Session) -> None:
    """Last week: 3 promoters, 1 passive, 2 detractors citing a new theme (integrations);
    the week before: 2 promoters, 2 detractors citing support (cited by all this week)."""
    acme = account(session, "Acme")
    week = dt.timedelta(days=7)
    plan = [
        (MONDAY - dt.timedelta(days=2), [10, 9, 9, 7], ["support"]),
        (MONDAY - dt.timedelta(days=1), [3, 2], ["integrations", "support"]),
        (MONDAY - week - dt.timedelta(days=2), [10, 10], []),
        (MONDAY - week - dt.timedelta(days=3), [4, 1], ["support"]),
    ]
    for at, scores, tags in plan:
        for score in scores:
            who = contact(session, acme, f"c{score}{at.day}@acme.example")
            answer(session, who, score, tags, at=at)


def test_latest_due_is_the_last_cron_time_in_the_interval() -> None:
    """Monday 08:00 UTC: due from 08:00 on; nothing again until the next Monday."""
    settings = config(DIGEST)
    before = MONDAY - dt.timedelta(days=7)
    assert latest_due(settings, after=before, now=MONDAY - dt.timedelta(minutes=1)) is None
    assert latest_due(settings, after=before, now=MONDAY + dt.timedelta(hours=3)) == MONDAY
    assert latest_due(settings, after=MONDAY, now=MONDAY + dt.timedelta(days=6)) is None


def test_numbers_match_an_independent_count(sessions: sessionmaker[Session]) -> None:
    """NPS this week and last, their difference, new and rising themes."""
    settings = config(DIGEST)
    with sessions.begin() as session:
        _history(session)
    with sessions() as session:
        digest = build_digest(session, settings, until=MONDAY, language="en")
        rows = ref.answers(session, {}, MONDAY)
    week = dt.timedelta(days=7)
    this = [r["score"] for r in rows if r["received_at"] >= MONDAY - week]
    last = [r["score"] for r in rows if MONDAY - 2 * week <= r["received_at"] < MONDAY - week]
    assert digest.current is not None
    assert digest.previous is not None
    assert digest.current.nps == pytest.approx(ref.nps(this))
    assert digest.previous.nps == pytest.approx(ref.nps(last))
    assert digest.change is not None
    assert digest.change.difference == pytest.approx(ref.nps(this) - ref.nps(last))
    assert [m.tag for m in digest.new_themes] == ["integrations"]
    assert [m.tag for m in digest.rising_themes] == ["support"]


def test_sent_once_per_scheduled_time_in_each_language_with_a_chat_summary(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """EN and JA mails with the charts; Slack and Teams get the summary and the link; the same
    Monday never goes out twice; the backlog planned first is among the changes."""
    folder = tmp_path / "mail"
    settings = _settings(folder)
    with sessions.begin() as session:
        _history(session)
    with chat_receiver() as receiver:
        env = {"SLACK_URL": receiver.url + "/slack", "TEAMS_URL": receiver.url + "/teams"}
        chats = Chats(settings.notify, env, WebhookSender(timeout=5, retries=1, backoff=0.01))
        transport = DirectoryMailer(settings.survey.mail.directory)
        now = MONDAY + dt.timedelta(minutes=3)
        sent = send_due(sessions, settings, now=now, transport=transport, chats=chats)
        again = send_due(sessions, settings, now=now, transport=transport, chats=chats)
        assert chats.sender.flush(10)
    assert sent is not None
    assert (sent.scheduled_for, sent.mails, sent.failed, sent.planned) == (MONDAY, 2, 0, 2)
    assert again is None
    mails = {
        str(m["To"]): m
        for m in (
            email.message_from_bytes(p.read_bytes(), policy=default, _class=EmailMessage)
            for p in folder.glob("*.eml")
        )
    }
    assert set(mails) == {"revops@acme.example", "tokyo@acme.example"}
    english, japanese = mails["revops@acme.example"], mails["tokyo@acme.example"]
    assert str(english["Subject"]).startswith("NPS review 2026-03-23 to 2026-03-30:")
    assert str(japanese["Subject"]).startswith("NPS 週次レビュー")
    html = english.get_body(("html",))
    assert html is not None
    page = html.get_content()
    for piece in (
        "<svg",
        "polygon",
        "New themes",
        "Integrations",
        "KPIs against targets",
        "below target",
        "Backlog changes",
        "https://intranet.acme.example/nps",
    ):
        assert piece in page, piece
    posted = dict(receiver.posts)
    assert (
        posted["/slack"]["blocks"][-1]["elements"][0]["url"] == "https://intranet.acme.example/nps"
    )
    assert "NPS" in posted["/teams"]["attachments"][0]["content"]["body"][1]["text"]


def test_the_daemon_schedules_the_digest_on_its_cron(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """With the digest enabled, `run` has a live (not paused) digest job on the cron; one tick
    of it at Monday 08:00 sends the mails."""
    folder = tmp_path / "mail"
    settings = _settings(folder).model_copy(update={"notify": config().notify})
    with sessions.begin() as session:
        _history(session)
    loop = Loop(settings, sessions, [], {}, clock=lambda: MONDAY + dt.timedelta(seconds=30))
    daemon = Daemon(loop, holder="test")
    daemon.start()
    try:
        job = daemon.scheduler.get_job("digest")
        assert job is not None
        assert job.next_run_time is not None
        assert job.next_run_time.weekday() == 0
        assert (job.next_run_time.hour, job.next_run_time.minute) == (8, 0)
        job.func()
    finally:
        daemon.stop()
    assert len(list(folder.glob("*.eml"))) == 2


def test_digest_command(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`digest --out DIR` writes both languages; `--send` with the digest disabled is exit 2."""
    with sessions.begin() as session:
        url = str(session.get_bind().url.render_as_string(hide_password=False))
    file = tmp_path / "config.yaml"
    file.write_text(f"database:\n  url: {url}\ncrm:\n  kind: salesforce\n", encoding="utf-8")
    assert main(["digest", "--config", str(file), "--out", str(tmp_path / "pack")]) == 0
    assert sorted(p.name for p in (tmp_path / "pack").iterdir()) == [
        "digest-en.html",
        "digest-ja.html",
    ]
    assert main(["digest", "--send", "--config", str(file)]) == 2
    assert "digest.enabled is false" in capsys.readouterr().err
