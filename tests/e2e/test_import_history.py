"""`import` of history: answers feed the CRM's contact fields but open no task, unless asked;
asked, a task's due date is counted from the import, never already past.

Judged in the sandbox CRM: its Task records and the contact's NPS fields.
"""

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.loop_harness import company
from worker.sandbox.server import Sandbox
from worker.store.models import Contact
from worker.surveys.import_command import import_command

pytestmark = pytest.mark.e2e


def _csv(path: Path, rows: list[tuple[str, str, int]]) -> Path:
    path.write_text(
        "email,date,score,comment\n"
        + "".join(f"{email},{date},{score},too slow\n" for email, date, score in rows),
        encoding="utf-8",
    )
    return path


def test_history_opens_no_task_and_follow_up_is_never_overdue(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A year-old detractor imported as history: its score reaches the contact, no Task is
    made, the follow-up status is not Overdue. With --follow-up: one Task, due after today."""
    with company("salesforce", sandbox, tmp_path, programs=("case_closed",)) as world:
        world.cycle()
        with world.store.sessions() as session:
            first, second = session.scalars(
                select(Contact).where(Contact.email.is_not(None)).order_by(Contact.id).limit(2)
            ).all()
            old, new = (first.email or "", first.crm_id), (second.email or "", second.crm_id)
        now = sandbox.clock.now()
        a_year_ago = (now - dt.timedelta(days=365)).date().isoformat()

        history = _csv(tmp_path / "history.csv", [(old[0], a_year_ago, 2)])
        result = import_command(world.config, history, dry_run=False, now=now)
        assert (result.imported, result.issues) == (1, [])
        world.settle(2)
        follow_ups = [key for key in world.crm_tasks() if not key.startswith("note:")]
        assert follow_ups == []  # the answer's timeline note is history too, and is kept
        contact = world.crm_contact(old[1])
        assert contact["NPS_Last_Score__c"] == 2
        assert contact["NPS_Followup_Status__c"] != world.crm_stage("overdue")

        wanted = _csv(tmp_path / "wanted.csv", [(new[0], a_year_ago, 1)])
        result = import_command(world.config, wanted, dry_run=False, now=now, follow_up=True)
        assert result.imported == 1
        world.settle(2)
        tasks = [
            task
            for task in sandbox.salesforce.records("Task")
            if task.get("WhoId") == new[1]
            and str(task.get("NPS_Dedup_Key__c") or "").startswith("followup:")
        ]
        assert len(tasks) == 1
        assert dt.date.fromisoformat(str(tasks[0]["ActivityDate"])) >= now.date()
        assert world.crm_contact(new[1])["NPS_Followup_Status__c"] != world.crm_stage("overdue")
