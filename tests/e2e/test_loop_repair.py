"""What the loop repairs or refuses as days pass, judged from the CRM's records and the mail.

Each test lives through a few simulated days of a small company on the sandbox CRM, breaks one
thing the way real life does (a CRM error after answers were taken in, a contact moving to
another account, a person unsubscribing, a rep leaving the company, a person who only clicks
a score in the mail) and then checks what the CRM and the mailbox show.
"""

import datetime as dt
import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.loop_harness import BROWSER, KINDS, SCORE_LINK, START, Company, Tuning, company
from tests.e2e.loop_harness import plain_text as text_of
from tests.e2e.rollup_judge import expected_rollups, mismatches
from worker.cycle import run_cycle
from worker.sandbox.server import Sandbox
from worker.sync.base import Unavailable

pytestmark = pytest.mark.e2e

SEED = 3
SIZE = 50
WINDOW = dt.timedelta(days=180)
"""The default `writeback.account_window`."""


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A small company on the sandbox CRM, its clock at the harness's Monday morning."""
    running = Sandbox(seed=SEED, size=SIZE, start=START, hubspot_rate_limits=False).start()
    yield running
    running.stop()


def _wave(whole: Company, *, at_least: int = 10, tries: int = 40) -> None:
    """Cycles every six hours until one sends `at_least` invitations (people answer at once)."""
    for _ in range(tries):
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(hours=6))
        if whole.cycle().dispatch.sent >= at_least:
            return
    pytest.fail("no wave of invitations went out")


def _settled(whole: Company) -> dt.datetime:
    """A few cycles with nothing new, so every queued write reached the CRM; their time."""
    whole.settle(3)
    return whole.sandbox.clock.now()


@pytest.mark.parametrize("kind", KINDS)
def test_answers_taken_in_before_a_crm_error_still_reach_the_account_rollup(
    kind: str, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cycle takes in a wave of answers, then the CRM fails the task-status read: the
    answers are handled, the cycle is cut short before its roll-ups. The next cycles queue
    them, so every account shows what its answers say (promise 11)."""
    with company(kind, sandbox, tmp_path) as whole:
        whole.run_days(3)
        _wave(whole)
        client_type = type(whole.loop.links[0].client)

        def unreachable(_self: object, _ids: object) -> None:
            raise Unavailable(kind, "ConnectionError", "no answer")

        monkeypatch.setattr(client_type, "task_statuses", unreachable)
        cut_short = whole.cycle()
        monkeypatch.undo()

        assert cut_short.crms[0].answers.handled >= 10
        assert cut_short.crms[0].error == "ConnectionError: no answer"
        now = _settled(whole)
        assert mismatches(whole, now, WINDOW) == {}


@pytest.mark.parametrize("kind", KINDS)
def test_a_contact_moving_accounts_takes_its_answers_along(
    kind: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Contacts who answered move to another account in the CRM: the old account no longer
    counts them and the new one does, each roll-up equal to the independent computation."""
    with company(kind, sandbox, tmp_path) as whole:
        whole.run_days(2)
        before = expected_rollups(whole, _settled(whole), WINDOW)
        # A minute on: a change in the very second of the last pull's cursor, with a smaller
        # id, is not pulled (strict SystemModstamp/Id cursor) - a separate, known gap.
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(minutes=1))
        moves = _move_answered(whole, 3)
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(hours=1))
        now = _settled(whole)

        after = expected_rollups(whole, now, WINDOW)
        assert all(before[old].count > after[old].count for old, _ in moves)
        assert mismatches(whole, now, WINDOW) == {}


def _move_answered(whole: Company, count: int) -> list[tuple[str, str]]:
    """Move `count` contacts who answered, each to an account other than its own."""
    email = "Email" if whole.kind == "salesforce" else "email"
    answered = {a.address.lower() for a in whole.people.acknowledged}
    contacts = [
        c for c in whole.crm_records("contact") if str(c.get(email) or "").lower() in answered
    ]
    accounts = sorted(str(a["Id"]) for a in whole.crm_records("account"))
    moves = []
    for contact in contacts[:count]:
        old = whole.account_of(contact)
        assert old is not None
        new = next(account for account in reversed(accounts) if account != old)
        whole.move_contact(str(contact["Id"]), new)
        moves.append((old, new))
    return moves


def _unsubscribes(address: str) -> bool:
    """One person in three unsubscribes from their first mail instead of answering."""
    return hashlib.sha256(address.encode()).digest()[3] % 3 == 0


@pytest.mark.parametrize("kind", KINDS)
def test_every_delivered_invitation_counts_against_the_account_cap(
    kind: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    """With a cap of two invitations per account in fourteen days, no account's people receive
    more, counted from their mailboxes, although some unsubscribe after the first mail (their
    survey is then suppressed at its reminder, but it was delivered)."""
    cap = Tuning(account_cap="{enabled: true, count: 2, per: 14d}")
    with company(kind, sandbox, tmp_path, tuning=cap, unsubscribes=_unsubscribes) as whole:
        whole.run_days(24)

        assert whole.people.unsubscribed, "nobody unsubscribed: the leak was not tried"
        invitations = _invitations_by_account(whole)
        assert sum(len(times) for times in invitations.values()) > 2 * len(invitations)
        crowded = {
            account: [f"{t:%m-%d %H:%M}" for t in times]
            for account, times in invitations.items()
            if any(
                sum(1 for other in times if start <= other < start + dt.timedelta(days=14)) > 2
                for start in times
            )
        }
        assert crowded == {}


def _invitations_by_account(whole: Company) -> dict[str, list[dt.datetime]]:
    """When each survey's first mail arrived, by the CRM account of its recipient."""
    email = "Email" if whole.kind == "salesforce" else "email"
    account_of = {
        str(c.get(email) or "").lower(): whole.account_of(c) for c in whole.crm_records("contact")
    }
    first: dict[str, tuple[dt.datetime, str]] = {}
    for at, message in whole.mail.sent():
        found = SCORE_LINK.search(text_of(message))
        if found is None:
            continue
        survey = found.group(1)
        if survey not in first:
            first[survey] = (at, _address(str(message["To"])))
    by_account: dict[str, list[dt.datetime]] = defaultdict(list)
    for at, address in first.values():
        account = account_of.get(address)
        if account:
            by_account[account].append(at)
    return {account: sorted(times) for account, times in by_account.items()}


def _address(recipient: str) -> str:
    found = re.search(r"<([^>]+)>", recipient)
    return (found.group(1) if found else recipient).strip().lower()


@pytest.mark.parametrize("kind", KINDS)
def test_tasks_skip_inactive_owners_down_the_chain(
    kind: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    """Half the reps leave (Salesforce users deactivated, HubSpot owners archived) before the
    answers come in. Every detractor still gets exactly one task in the CRM, owned by the
    account's owner while active and otherwise by the next active user of the owner chain;
    the CRM refuses nothing."""
    stand_in, leavers = _deactivate_half_the_reps(kind, sandbox)
    chain = Tuning(
        sections=(
            "followup:",
            "  detractor:",
            f"    owner: [account_owner, contact_owner, '{stand_in}']",
        )
    )
    with company(kind, sandbox, tmp_path, tuning=chain) as whole:
        whole.run_days(3)
        _settled(whole)

        detractors = [a for a in whole.people.acknowledged if a.score <= 6]
        assert detractors
        tasks = _followup_tasks(whole)
        assert len(tasks) == len(detractors)
        owners = {str(task.get("OwnerId") or task.get("hubspot_owner_id")) for task in tasks}
        assert owners.isdisjoint(leavers)
        assert stand_in in owners, "no task fell through to the next owner in the chain"
        assert len(owners) > 1, "no task stayed with an active account owner"


def _deactivate_half_the_reps(kind: str, sandbox: Sandbox) -> tuple[str, set[str]]:
    """Deactivate every other account owner; returns an active user who owns no account (the
    chain's last link) and the users who left."""
    if kind == "salesforce":
        org = sandbox.salesforce
        reps = sorted({str(a["OwnerId"]) for a in org.records("Account")})
        users = {str(u["Id"]) for u in org.records("User")} - {org.integration_user_id}
        leavers = set(reps[::2])
        for user in leavers:
            org.update("User", user, {"IsActive": False})
    else:
        portal = sandbox.hubspot
        reps = sorted({str(c["hubspot_owner_id"]) for c in portal.records("companies")})
        users = set(portal.owners)
        leavers = set(reps[::2])
        for owner in leavers:
            portal.archive_owner(owner)
    return sorted(users - set(reps))[0], leavers


def _followup_tasks(whole: Company) -> list[Mapping[str, Any]]:
    """The CRM's tasks for follow-ups (not notes, asks or escalations), by their dedup key."""
    field_name = "NPS_Dedup_Key__c" if whole.kind == "salesforce" else "nps_dedup_key"
    records: list[Mapping[str, Any]] = (
        whole.sandbox.salesforce.records("Task")
        if whole.kind == "salesforce"
        else whole.sandbox.hubspot.records("tasks")
    )
    return [
        r
        for r in records
        if str(r.get(field_name) or "").startswith("followup:")
        and ":escalation:" not in str(r.get(field_name))
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_a_click_only_answer_keeps_the_time_of_the_click(
    kind: str, sandbox: Sandbox, tmp_path: Path
) -> None:
    """A person clicks a score in the mail two hours after it arrives, in a browser whose page
    script runs, and never submits. A day later the click becomes the answer: the CRM shows it
    answered at the click, not when the worker made it final."""
    with company(kind, sandbox, tmp_path) as whole:
        run_cycle(whole.loop)  # nobody reads this mail but the one person below
        sent = [message for _, message in whole.mail.sent()]
        assert sent, "the first cycle sent nothing"
        whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(hours=2))
        clicked_at = whole.sandbox.clock.now()
        _click_only(text_of(sent[0]))
        whole.advance_to(clicked_at + dt.timedelta(hours=26))
        for _ in range(2):
            run_cycle(whole.loop)

        contact = _crm_contact_by_address(whole, _address(str(sent[0]["To"])))
        shown = contact[whole.config.writeback.contact.last_response_at or ""]
        answered_at = _instant(shown)
        assert answered_at is not None, "the click never became an answer"
        assert abs(answered_at - clicked_at) < dt.timedelta(minutes=2)


def _click_only(body: str) -> None:
    """Open the score link in a browser (its script reports back), then walk away."""
    link = next(url for url, score in SCORE_LINK.findall(body) if score == "8")
    http = requests.Session()
    page = http.get(f"{link}?score=8", headers={"User-Agent": BROWSER}, timeout=10)
    assert page.status_code == 200
    form = re.search(r'name="form" value="([^"]+)"', page.text)
    seen = re.search(r'data-seen="([^"]+)"', page.text)
    assert form is not None
    assert seen is not None
    beacon = http.post(
        f"{link.rsplit('/', 1)[0]}/{seen.group(1)}",
        data={"form": form.group(1)},
        headers={"User-Agent": BROWSER},
        timeout=10,
    )
    assert beacon.status_code < 300


def _crm_contact_by_address(whole: Company, address: str) -> Mapping[str, Any]:
    email = "Email" if whole.kind == "salesforce" else "email"
    return next(
        c for c in whole.crm_records("contact") if str(c.get(email) or "").lower() == address
    )


def _instant(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return dt.datetime.fromisoformat(text)
