"""One set of rules for every way an answer comes in: the page's form, the signed webhook, the
CSV import (issue 16, item 3).

Each bad value is refused with a 4xx naming the field (the webhook also names the item), or
for `nps-worker import` with the file's line and column; nothing is stored, on SQLite and on
PostgreSQL (which refuses NUL in text: such values used to reach it and fail as a 503 or a
traceback). A bad row in a file does not keep the good rows out.
"""

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.web_support import HOOKS_SECRET, Harness, Link
from worker.cli import main
from worker.store.models import Contact, Response
from worker.surveys.web.hooks import signature
from worker.surveys.webhook_import import webhook_importer

ADDRESS = "ann@example.com"
COLUMNS = ("email", "crm_id", "date", "score", "comment", "program")


@dataclass(frozen=True)
class Bad:
    """One bad value of one field, and on which ways in it can arrive."""

    field: str
    value: str
    web: bool = False
    csv: bool = True

    def item(self, good: dict[str, str], now: datetime) -> dict[str, str]:
        """A webhook item / CSV row with this value in place of the good one."""
        future = (now + timedelta(days=7)).date().isoformat()
        return {**good, self.field: self.value.replace("FUTURE", future)}


TOO_LONG = "x" * 4_001
CASES = [
    pytest.param(Bad("comment", "fine\x00then", web=True), id="comment-nul"),
    pytest.param(Bad("comment", "ring \x07 the bell", web=True), id="comment-control"),
    pytest.param(Bad("comment", "broken \ud800 half", csv=False), id="comment-lone-surrogate"),
    pytest.param(Bad("comment", TOO_LONG, web=True), id="comment-too-long"),
    pytest.param(Bad("score", "\uff19", web=True), id="score-fullwidth-digit"),
    pytest.param(Bad("score", "\u0669", web=True), id="score-arabic-indic-digit"),
    pytest.param(Bad("score", "9\x00", web=True), id="score-nul"),
    pytest.param(Bad("date", "\uff12\uff10\uff12\uff16-02-20"), id="date-fullwidth-digits"),
    pytest.param(Bad("date", "2026/\u0660\u0662/20"), id="date-arabic-indic-digits"),
    pytest.param(Bad("date", "0026-02-20"), id="date-before-nps-existed"),
    pytest.param(Bad("date", "FUTURE"), id="date-in-the-future"),
    pytest.param(Bad("email", "ann\x00@example.com"), id="email-nul"),
    pytest.param(Bad("crm_id", "003\x00abc"), id="crm-id-nul"),
    pytest.param(Bad("crm_id", "0" * 65), id="crm-id-too-long"),
    pytest.param(Bad("program", "support\x00"), id="program-nul"),
    pytest.param(Bad("program", "p" * 65), id="program-too-long"),
]


@pytest.fixture
def web(sessions: sessionmaker[Session]) -> Harness:
    """The app with the signed import on, over a fresh store (SQLite and PostgreSQL)."""
    probe = Harness(sessions)
    return Harness(sessions, import_handler=webhook_importer(sessions, probe.config))


@pytest.fixture
def link(web: Harness) -> Link:
    """A sent survey of ADDRESS (so the address and its CRM id are mirrored)."""
    return web.survey(email=ADDRESS)


def _good(web: Harness, now: datetime, days_ago: int = 10) -> dict[str, str]:
    """A valid answer of ADDRESS's contact, dated `days_ago` before `now`."""
    with web.sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.email == ADDRESS)).one()
        crm_id = contact.crm_id
    return {
        "email": ADDRESS,
        "crm_id": crm_id,
        "date": (now - timedelta(days=days_ago)).date().isoformat(),
        "score": "3",
        "comment": "slow support",
        "program": "support_case_closed",
    }


def _stored(web: Harness) -> int:
    with web.sessions() as session:
        return session.scalar(select(func.count()).select_from(Response)) or 0


def _post_hook(web: Harness, document: Any) -> Any:
    body = json.dumps(document).encode()
    timestamp = str(int(web.clock.now.timestamp()))
    return web.client.post(
        "/hooks/answers",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-NPS-Timestamp": timestamp,
            "X-NPS-Signature": signature(HOOKS_SECRET.encode(), timestamp, body),
        },
    )


@pytest.mark.parametrize("bad", CASES)
def test_the_webhook_refuses_the_batch_naming_item_and_field(
    web: Harness, link: Link, bad: Bad
) -> None:
    """422 naming `webhook:<item>: <field>:`; the good item of the batch is not half imported."""
    now = web.clock.now
    other = _good(web, now, days_ago=11)

    answer = _post_hook(web, {"answers": [other, bad.item(_good(web, now), now)]})

    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["refused"]
    assert problem.startswith(f"webhook:2: {bad.field}: "), problem
    assert _stored(web) == 0
    assert _post_hook(web, {"answers": [other]}).json()["imported"] == 1, "fixed, it goes in"


@pytest.mark.parametrize("bad", [case for case in CASES if case.values[0].csv])
def test_the_import_names_line_and_column_and_keeps_the_good_rows(
    web: Harness,
    link: Link,
    bad: Bad,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`nps-worker import` reports `file:line:column: field:` and imports the other rows.

    The command judges dates by the wall clock, so this file's dates are relative to it.
    """
    now = datetime.now(UTC)
    rows = [_good(web, now, days_ago=11), bad.item(_good(web, now), now)]
    path = tmp_path / "answers.csv"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    url = web.sessions.kw["bind"].url.render_as_string(hide_password=False)
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: '{url}'}}\ncrm: {{kind: salesforce}}\n", "utf-8")
    capsys.readouterr()

    code = main(["import", str(path), "--config", str(config)])

    err = capsys.readouterr().err
    column = COLUMNS.index(bad.field) + 1
    assert code == 1
    assert f"{path}:3:{column}: {bad.field}: " in err, err
    assert "Traceback" not in err
    assert _stored(web) == 1, "the good row is imported"


@pytest.mark.parametrize("bad", [case for case in CASES if case.values[0].web])
def test_the_answer_page_refuses_the_same_values(web: Harness, link: Link, bad: Bad) -> None:
    """The page's form: 422 with the field marked; nothing stored."""
    fields = {"score": "3", "comment": "slow support", bad.field: bad.value}

    answer = web.post(link, fields)

    assert answer.status_code == 422
    assert 'id="form-error"' in answer.text, "the page says what to fix"
    assert _stored(web) == 0
