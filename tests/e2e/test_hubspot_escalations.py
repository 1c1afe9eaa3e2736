"""Escalations on HubSpot reach a person, and a reassigned task stays one task.

A HubSpot company in the sandbox lives a few days through the production loop (the weekly
program surveys everyone on Wednesday; about half the people answer as detractors). Severe
detractors escalate at once. Judged from the portal's tasks and from `status`.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.loop_harness import START, Company, company
from worker.daily import run_daily_if_due
from worker.sandbox.hubspot.projection import owner_id
from worker.sandbox.server import Sandbox
from worker.status import gather, render
from worker.store.models import Account, Contact, FollowUp

pytestmark = pytest.mark.e2e

SEED = 5
SIZE = 60


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A HubSpot portal of 60 people with its rate limits off (the loop paces itself)."""
    running = Sandbox(seed=SEED, size=SIZE, start=START, hubspot_rate_limits=False).start()
    try:
        yield running
    finally:
        running.stop()


def reporting_lines(sandbox: Sandbox) -> dict[str, str]:
    """Owner -> their manager's owner id, as the sandbox's org chart has it."""
    return {
        owner_id(user.key): owner_id(user.manager_key)
        for user in sandbox.world.users
        if user.manager_key is not None
    }


def followup_yaml(tier: str, *, managers: dict[str, str], fallback: str | None) -> str:
    """A `followup` section: one detractor tier, the managers, maybe a fallback manager."""
    lines = ["followup:", "  detractor:", "    escalation:", f"      - {tier}"]
    if managers:
        lines.append("  managers:")
        lines += [f'    "{owner}": "{manager}"' for owner, manager in managers.items()]
    if fallback is not None:
        lines.append(f'  fallback_manager: "{fallback}"')
    return "\n".join(lines) + "\n"


def tasks_by_key(whole: Company) -> dict[str, list[dict[str, str]]]:
    """The portal's tasks the worker made, by dedup key."""
    found: dict[str, list[dict[str, str]]] = {}
    for task in whole.sandbox.hubspot.records("tasks"):
        if task.get("nps_dedup_key"):
            found.setdefault(task["nps_dedup_key"], []).append(task)
    return found


def escalated(whole: Company) -> list[FollowUp]:
    """Follow-ups that went up a level."""
    with whole.store.sessions() as session:
        return list(session.scalars(select(FollowUp).where(FollowUp.escalation_level > 0)))


def account_owner_of(whole: Company, followup: FollowUp) -> str | None:
    """The mirrored owner of the account of the follow-up's contact."""
    from worker.store.models import Response, Survey

    with whole.store.sessions() as session:
        response = session.get_one(Response, followup.response_id)
        contact = session.get_one(Contact, session.get_one(Survey, response.survey_id).contact_id)
        account = session.scalar(
            select(Account).where(
                Account.crm == contact.crm, Account.crm_id == contact.account_crm_id
            )
        )
        return account.owner_crm_id if account is not None else None


@pytest.mark.parametrize(
    "fallback", [pytest.param(True, id="fallback-manager"), pytest.param(False, id="account-owner")]
)
def test_an_escalation_without_a_manager_reaches_a_stand_in(
    sandbox: Sandbox, tmp_path: Path, fallback: bool
) -> None:
    """No manager is known: each escalation task goes to `fallback_manager`, else to the account
    owner, never to nobody; `status` counts them and stays healthy."""
    stand_in = owner_id(sandbox.world.users[-1].key) if fallback else None
    section = followup_yaml(
        "{level: 1, severity: [severe], notify: manager}", managers={}, fallback=stand_in
    )
    with company("hubspot", sandbox, tmp_path, followup=section) as whole:
        whole.run_days(4)
        whole.settle()
        run_daily_if_due(whole.loop)  # the daemon's daily work, so `status` judges the rest
        made = tasks_by_key(whole)
        ups = escalated(whole)
        assert ups, "some severe detractors answered"
        for followup in ups:
            [task] = made[f"{followup.dedup_key}:escalation:1"]
            expected = stand_in or account_owner_of(whole, followup)
            assert expected
            assert task.get("hubspot_owner_id") == expected
        with whole.store.sessions() as session:
            state = gather(session, whole.config, whole.sandbox.clock.now())
        who = "fallback_manager" if fallback else "account_owner"
        assert state.escalation_fallbacks.get(who, 0) >= 1
        assert "nobody" not in state.escalation_fallbacks
        assert state.healthy
        shown = "\n".join(render(state))
        assert ("to followup.fallback_manager" in shown) == fallback
        assert ("to the account owner" in shown) != fallback


def test_reassign_at_once_moves_the_one_task(sandbox: Sandbox, tmp_path: Path) -> None:
    """A tier that reassigns at once, due in the cycle that queues the task: the detractor's
    one task is created (or moved) to the manager; no second task exists."""
    managers = reporting_lines(sandbox)
    section = followup_yaml(
        "{level: 1, severity: [severe], notify: manager, action: reassign}",
        managers=managers,
        fallback=None,
    )
    with company("hubspot", sandbox, tmp_path, followup=section) as whole:
        whole.run_days(4)
        whole.settle()
        run_daily_if_due(whole.loop)  # the daemon's daily work, so `status` judges the rest
        made = tasks_by_key(whole)
        ups = escalated(whole)
        assert ups, "some severe detractors answered"
        assert [key for key in made if ":escalation:" in key] == []
        assert [key for key, tasks in made.items() if len(tasks) > 1] == []
        for followup in ups:
            [task] = made[followup.dedup_key]
            owner = account_owner_of(whole, followup)
            assert owner
            assert task.get("hubspot_owner_id") == managers.get(owner, owner)
            assert followup.owner_crm_id == task.get("hubspot_owner_id")
