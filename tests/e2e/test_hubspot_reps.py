"""Simulated HubSpot reps use every task state, and deals lead to their contacts.

Ten days of a HubSpot company through the production loop: reps start tasks or leave them
waiting on the customer, defer, hand over and delete them; renewal deals close, and the
contacts associated with each won deal are surveyed. Judged from the portal's records (tasks,
their status and owner, deal associations) and the mail sent, against the worker's follow-ups.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.loop_harness import CYCLES_PER_DAY, START, Company, company
from worker.sandbox.activity import ActivitySummary, TaskHabits
from worker.sandbox.hubspot.objects import DEALS, TASKS
from worker.sandbox.hubspot.timefmt import iso_ms
from worker.sandbox.server import Sandbox
from worker.store.models import Contact, FollowUp, FollowUpStatus, Survey

pytestmark = pytest.mark.e2e

BUSY_REPS = TaskHabits(
    start_per_day=0.5,
    complete_per_day=0.2,
    ignored_share=0.1,
    wait_share=0.5,
    defer_per_day=0.15,
    reassign_per_day=0.1,
    delete_per_day=0.05,
)
"""Reps who use every state often enough that two weeks show each of them."""
CLOSING_SOON = 6
"""Open renewal deals whose close date the reps moved into the coming week, before the run."""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A HubSpot portal of 150 people, rate limits off (the loop paces itself)."""
    running = Sandbox(
        seed=9, size=150, start=START, hubspot_rate_limits=False, task_habits=BUSY_REPS
    ).start()
    try:
        yield running
    finally:
        running.stop()


def bring_renewals_forward(sandbox: Sandbox) -> list[str]:
    """Move some open deals' close date into the coming week (a week before the first sync)."""
    portal = sandbox.hubspot
    soon = (START + dt.timedelta(days=5)).replace(hour=0)
    with portal.lock:
        deals = [deal.id for deal in portal.open_deals()][:CLOSING_SOON]
        for deal_id in deals:
            record = portal.store.get(DEALS, deal_id)
            assert record is not None
            portal.store.update(
                DEALS, record, {"closedate": iso_ms(soon)}, START - dt.timedelta(days=7)
            )
        portal.store.publish_all()
    return deals


def live(whole: Company, days: int) -> ActivitySummary:
    """`days` days of two cycles each; what the reps did meanwhile."""
    summary = ActivitySummary()
    for _ in range(days):
        day_start = whole.sandbox.clock.now().replace(hour=9, minute=0, second=0, microsecond=0)
        for offset in CYCLES_PER_DAY:
            ahead = day_start + offset - whole.sandbox.clock.now()
            if ahead > dt.timedelta(0):
                summary += whole.sandbox.advance(ahead)
            whole.cycle()
        summary += whole.sandbox.advance(
            day_start + dt.timedelta(days=1) - whole.sandbox.clock.now()
        )
    return summary


def crm_tasks(sandbox: Sandbox) -> dict[str, tuple[str, str | None, bool]]:
    """The worker's tasks in the portal by dedup key: (status, owner, deleted)."""
    portal = sandbox.hubspot
    with portal.lock:
        return {
            record.properties["nps_dedup_key"]: (
                record.properties.get("hs_task_status", ""),
                record.properties.get("hubspot_owner_id"),
                record.archived,
            )
            for record in portal.store.all(TASKS)
            if record.properties.get("nps_dedup_key")
        }


EXPECTED = {
    "NOT_STARTED": (FollowUpStatus.OPEN, False),
    "DEFERRED": (FollowUpStatus.OPEN, False),
    "IN_PROGRESS": (FollowUpStatus.IN_PROGRESS, True),
    "WAITING": (FollowUpStatus.IN_PROGRESS, True),
    "COMPLETED": (FollowUpStatus.CLOSED, True),
}
"""What each task status means for the follow-up: its state and whether contact was made."""


def test_every_task_state_and_deal_surveys_run_end_to_end(sandbox: Sandbox, tmp_path: Path) -> None:
    """Each follow-up reads as its task stands in the portal (deleted: cancelled; handed
    over: the new owner); each renewal won is surveyed at a contact associated with it."""
    programs = ("case_closed", "weekly", "renewal_won")
    closing = bring_renewals_forward(sandbox)
    # A short minimum interval: the weekly survey must not keep the deals' people from theirs.
    with company("hubspot", sandbox, tmp_path, programs=programs, min_interval="1d") as whole:
        summary = live(whole, 10)
        whole.settle(2)
        tasks = crm_tasks(sandbox)
        with whole.store.sessions() as session:
            followups = list(session.scalars(select(FollowUp)))
            surveyed = session.execute(
                select(Survey.program, Contact.crm_id, Contact.email).join(
                    Contact, Contact.id == Survey.contact_id
                )
            ).all()
        assert summary.tasks_waiting > 0
        assert summary.tasks_deferred > 0
        assert summary.tasks_reassigned > 0
        assert summary.tasks_deleted > 0
        assert summary.deals_closed > 0
        seen = {status for status, _, deleted in tasks.values() if not deleted}
        assert {"WAITING", "DEFERRED", "COMPLETED"} <= seen
        assert any(deleted for _, _, deleted in tasks.values())
        checked = 0
        for followup in followups:
            status, owner, deleted = tasks[followup.dedup_key]
            if deleted:
                assert followup.status == FollowUpStatus.CANCELLED, followup.dedup_key
                continue
            state, contacted = EXPECTED[status]
            assert (followup.status, followup.first_contact_at is not None) == (state, contacted)
            assert followup.owner_crm_id == owner
            checked += 1
        assert checked > 10
        won = [
            deal_id
            for deal_id in closing
            if sandbox.hubspot.record("deals", deal_id).get("dealstage") == "closedwon"
        ]
        assert won, "some renewal brought forward was won"
        stakeholders = {
            contact
            for deal_id in won
            for contact in sandbox.hubspot.associated_ids("deals", deal_id, "contacts")
        }
        deal_surveys = [crm_id for program, crm_id, _ in surveyed if program == "renewal_won"]
        assert deal_surveys
        assert set(deal_surveys) <= stakeholders
        mailed = {str(message["To"]) for _, message in whole.mail.sent()}
        emails = {crm_id: email for program, crm_id, email in surveyed if program == "renewal_won"}
        assert any(emails[crm_id] in mailed for crm_id in deal_surveys)
