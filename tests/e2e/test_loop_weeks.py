"""Five simulated weeks of the loop, driven as a cron deployment drives it (`sync --once`: a
cycle, then the daily work when it is due), through CRM outages (one with a restart, so the
login itself fails), contacts moving between accounts and answers sliding out of a short
roll-up window: after three weeks RevOps drops the weekly relationship program, so most
accounts get no new answer while their old ones slide out.

Judged from outside the worker: every account's roll-up in the CRM equals one computed from the
answers the web page acknowledged and the CRM's own contact-to-account links (promise 11), and
the daily work ran every day, on time, outages or not: no comment outlives the retention
period by more than a day, none is erased early, and `status` never calls the work late.
"""

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.loop_harness import (
    CYCLES_PER_DAY,
    KINDS,
    START,
    Company,
    Tuning,
    company,
    config_for,
)
from tests.e2e.rollup_judge import expected_rollups, mismatches
from worker.commands import one_sync
from worker.health import crm_health
from worker.sandbox.faults import FaultRule
from worker.sandbox.server import Sandbox
from worker.status import gather
from worker.store.models import Response, Survey

pytestmark = pytest.mark.e2e

SEED = 5
SIZE = 60
DAYS = 35
WINDOW = dt.timedelta(days=14)
RETENTION = dt.timedelta(days=10)
TUNING = Tuning(
    sections=(
        f"writeback: {{account_window: {WINDOW.days}d}}",
        f"privacy: {{retention: {{comments: {RETENTION.days}d}}}}",
    )
)
OUTAGES = {
    8: FaultRule(None, r"^/(services|crm)/", "503", 1.0),
    9: FaultRule(None, r"^/(services|crm)/", "503", 1.0),
    20: FaultRule(None, r"^/(services|crm)/", "drop", 1.0),
}
"""Days on which the CRM answers nothing useful, its login included."""
DAY = dt.timedelta(days=1)
RESTART_DAY = 8
WEEKLY_DROPPED_DAY = 24
MOVE_DAY = 26
MOVES = 4


def _comment(address: str) -> str | None:
    """Two people in three explain their score."""
    if hashlib.sha256(address.encode()).digest()[2] % 3 == 0:
        return None
    return "Support was slow this month, but the product is good."


@pytest.mark.parametrize("kind", KINDS)
def test_five_weeks_of_rollups_and_retention(kind: str, tmp_path: Path) -> None:
    """Roll-ups equal the independent computation after outages and moves; retention daily."""
    sandbox = Sandbox(seed=SEED, size=SIZE, start=START, hubspot_rate_limits=False).start()
    try:
        with company(kind, sandbox, tmp_path, tuning=TUNING, comment_of=_comment) as whole:
            moved = _live_five_weeks(whole, tmp_path)
            whole.advance_to(_next_day(whole, hour=3, minute=30))
            for _ in range(3):  # what cron runs next: the daily work, then the drain
                _sync(whole)
            now = whole.sandbox.clock.now()

            assert mismatches(whole, now, WINDOW) == {}
            expected = expected_rollups(whole, now, WINDOW)
            assert sum(r.count for r in expected.values()) >= 10, "too few answers to judge"
            assert any(r.trend is not None for r in expected.values()), "no trend was tested"
            touched = {account for pair in moved for account in pair}
            assert any(expected[account].count for account in touched), "no move mattered"
            with whole.store.sessions() as session:
                assert crm_health(session, kind, whole.config.scheduler.cycle_every).up
    finally:
        sandbox.stop()


def _live_five_weeks(whole: Company, out: Path) -> list[tuple[str, str]]:
    """Run the weeks with their outages and moves; check retention after each day.

    Returns the (old, new) account of each contact moved.
    """
    moved: list[tuple[str, str]] = []
    failed_during_outages = 0
    for day in range(DAYS):
        whole.sandbox.faults.clear()
        if day in OUTAGES:
            whole.sandbox.faults.add(OUTAGES[day])
        if day == RESTART_DAY:
            whole.restart()  # a new process logs in while the CRM is down
        if day == WEEKLY_DROPPED_DAY:
            _drop_weekly_program(whole, out)
        if day == MOVE_DAY:
            moved = _move_answered_contacts(whole)
        before = len(whole.reports)
        day_start = whole.sandbox.clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
        for offset in CYCLES_PER_DAY:
            whole.advance_to(day_start + offset)
            _sync(whole)
            _assert_retention_on_schedule(whole)
        whole.advance_to(day_start + dt.timedelta(days=1))
        if day in OUTAGES:
            failed_during_outages += sum(not r.ok for r in whole.reports[before:])
    whole.sandbox.faults.clear()
    assert failed_during_outages >= 2 * len(OUTAGES), "the outages did not fail the cycles"
    assert len(moved) == MOVES
    return moved


def _drop_weekly_program(whole: Company, out: Path) -> None:
    """RevOps removes the weekly relationship program from the config; the worker restarts."""
    whole.config = config_for(
        whole.kind,
        whole.sandbox,
        out,
        database_url=whole.config.database.url.get_secret_value(),
        programs=("case_closed", "onboarding_completed"),
        tuning=TUNING,
        port=whole.config.server.port,
    )
    whole.restart()


def _sync(whole: Company) -> None:
    """What `nps-worker sync --once` runs: one cycle, then the daily work when due."""
    report, _ = one_sync(whole.loop)
    whole.reports.append(report)
    whole.people.read_new_mail()


def _next_day(whole: Company, *, hour: int, minute: int) -> dt.datetime:
    now = whole.sandbox.clock.now()
    return (now + dt.timedelta(days=1)).replace(hour=hour, minute=minute, second=0, microsecond=0)


def _move_answered_contacts(whole: Company) -> list[tuple[str, str]]:
    """Reps move a few contacts who answered to another account that has answers too."""
    email = "Email" if whole.kind == "salesforce" else "email"
    answered = {a.address.lower() for a in whole.people.acknowledged}
    contacts = [
        c for c in whole.crm_records("contact") if str(c.get(email) or "").lower() in answered
    ]
    accounts = sorted({whole.account_of(c) for c in contacts} - {None})
    moves = []
    for contact in contacts[:MOVES]:
        old = whole.account_of(contact)
        new = next(a for a in accounts if a != old)
        assert old is not None
        whole.move_contact(str(contact["Id"]), new)
        moves.append((old, new))
    return moves


def _assert_retention_on_schedule(whole: Company) -> None:
    """After a cron run: no comment older than the retention period (plus the day the daily
    work may take to come round), the younger ones kept, the daily work not late."""
    now = whole.sandbox.clock.now()
    with whole.store.sessions() as session:
        rows = session.execute(
            select(Survey.token_id, Response.received_at, Response.comment).join(
                Response, Response.survey_id == Survey.id
            )
        ).all()
        state = gather(session, whole.config, now)
    commented = {a.token_id for a in whole.people.acknowledged if _comment(a.address)}
    kept_too_long = [at for _, at, comment in rows if comment and at < now - RETENTION - DAY]
    erased_early = [
        at
        for token, at, comment in rows
        if token in commented and not comment and at > now - RETENTION
    ]
    assert (kept_too_long, erased_early) == ([], [])
    assert not state.daily.late
    assert state.daily.last_ok_at is not None
