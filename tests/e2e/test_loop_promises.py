"""The promises of DESIGN.md section 5, kept over simulated days of the whole loop.

Each CRM (parametrized) runs a small company through the production path: cases close,
onboarding completes and a weekly relationship program fires while people answer every survey
on the web endpoint, some unsubscribe, some contacts opt out in the CRM and reps work their
follow-up tasks. The store, the sandbox CRM and the mail sent are then checked against each
promise. Faults and crashes, and two replicas on PostgreSQL, get runs of their own.
"""

import datetime as dt
import hashlib
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.e2e.loop_harness import KINDS, START, Company, company, wired_loop
from tests.fixtures.db import DEFAULT_POSTGRES_URL, POSTGRES_URL_ENV, PostgresDatabases
from worker.cycle import Loop, run_cycle
from worker.domain import FollowupStage
from worker.loop import answers, planning
from worker.loop.events import RecordChangeObserver
from worker.loop.followups import followup_stage
from worker.runtime import open_store
from worker.sandbox.faults import FaultKind, FaultRule, RequestLogEntry
from worker.sandbox.server import Sandbox
from worker.store.models import (
    CrmEvent,
    FollowUp,
    FollowUpStatus,
    OutboxEntry,
    OutboxState,
    Response,
    Survey,
    SurveyDecision,
    SurveyState,
)

pytestmark = pytest.mark.e2e

SIZE = 50
SEED = 3
MIN_INTERVAL = dt.timedelta(days=7)
BACKFILL = dt.timedelta(days=7)
DETRACTOR_MAX = 6


def _unsubscribes(address: str) -> bool:
    """About one person in twelve unsubscribes from the first mail instead of answering."""
    return hashlib.sha256(address.encode()).digest()[1] % 12 == 0


@dataclass
class Lived:
    """Ten simulated days of one company, and what the test did to it along the way."""

    company: Company
    opted_out: dict[int, dt.datetime]
    """Contact store id -> when its opt-out was ticked in the CRM."""
    writes_before: int
    """CRM write requests made during the run."""
    noop_writes: list[RequestLogEntry]
    """CRM write requests of one more cycle after the loop settled."""


@pytest.fixture(scope="module", params=KINDS)
def lived(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lived]:
    """Ten days (two Wednesdays of the weekly program), opt-outs on day 4, a settled loop."""
    kind = str(request.param)
    sandbox = Sandbox(seed=SEED, size=SIZE, start=START, hubspot_rate_limits=False).start()
    out = tmp_path_factory.mktemp(f"lived-{kind}")
    try:
        with company(kind, sandbox, out, unsubscribes=_unsubscribes) as whole:
            whole.run_days(4)
            opted_out = _opt_out_some(whole)
            whole.run_days(6)
            whole.settle()
            writes_before = len(whole.writes())
            mark = len(sandbox.log)
            whole.cycle()
            yield Lived(whole, opted_out, writes_before, whole.writes(mark))
    finally:
        sandbox.stop()


def _opt_out_some(whole: Company) -> dict[int, dt.datetime]:
    """Every fifth contact with an address, surveyed or not, opts out in the CRM now."""
    now = whole.sandbox.clock.now()
    chosen = [row for row in whole.contacts().values() if row.email and not row.opted_out][::5]
    for row in chosen:
        whole.opt_out(row.crm_id)
    return {row.id: now for row in chosen}


def _decisions(whole: Company) -> list[SurveyDecision]:
    with whole.store.sessions() as session:
        return list(session.scalars(select(SurveyDecision)))


def _followups(whole: Company) -> list[tuple[FollowUp, Response]]:
    with whole.store.sessions() as session:
        rows = session.execute(
            select(FollowUp, Response).join(Response, Response.id == FollowUp.response_id)
        )
        return [(followup, response) for followup, response in rows]


def _responses(whole: Company) -> dict[str, Response]:
    """Final responses by their survey's token id."""
    with whole.store.sessions() as session:
        rows = session.execute(
            select(Survey.token_id, Response)
            .join(Response, Response.survey_id == Survey.id)
            .where(Response.provisional.is_(False))
        )
        return dict(rows.all())


def _sent_gaps(surveys: list[Survey]) -> dict[int, list[dt.timedelta]]:
    """Per contact, the time between consecutive invitations."""
    sent: dict[int, list[dt.datetime]] = defaultdict(list)
    for survey in surveys:
        if survey.sent_at is not None:
            sent[survey.contact_id].append(survey.sent_at)
    return {contact: [b - a for a, b in pairwise(sorted(times))] for contact, times in sent.items()}


def test_no_contact_is_surveyed_twice_within_the_minimum_interval(lived: Lived) -> None:
    """Across all programs, invitations to one contact are at least `min_interval` apart,
    and the throttle had real collisions to refuse, from more than one program."""
    whole = lived.company
    gaps = _sent_gaps(whole.surveys())
    too_close = {
        contact: g for contact, g in gaps.items() if min(g, default=MIN_INTERVAL) < MIN_INTERVAL
    }
    assert too_close == {}
    assert any(gaps.values()), "no contact was surveyed twice: the interval was never tested"
    refused = [d for d in _decisions(whole) if d.reason_code == "min_interval"]
    assert len({d.program for d in refused}) >= 2, "collisions came from a single program"
    assert all(d.survey_id is None for d in refused)


def test_opted_out_and_unsubscribed_contacts_are_never_surveyed(lived: Lived) -> None:
    """After a contact opts out in the CRM, or its address unsubscribes in one click, nothing
    more goes to it: planning refuses it, and what was already planned is suppressed."""
    whole = lived.company
    surveys = whole.surveys()
    for survey in surveys:
        since = lived.opted_out.get(survey.contact_id)
        if since is not None:
            assert survey.sent_at is None or survey.sent_at < since, survey.id
            assert survey.reminded_at is None or survey.reminded_at < since, survey.id
    held_back = [
        d
        for d in _decisions(whole)
        if d.contact_id in lived.opted_out
        and d.reason_code == "opted_out"
        and d.decided_at >= lived.opted_out[d.contact_id]
    ]
    suppressed = [
        s for s in surveys if s.contact_id in lived.opted_out and s.state == SurveyState.SUPPRESSED
    ]
    assert held_back or suppressed, "no opted-out contact was ever due again"

    unsubscribed = whole.people.unsubscribed
    assert unsubscribed, "nobody unsubscribed"
    late = [
        (message["To"], at)
        for at, message in whole.mail.sent()
        if str(message["To"]) in unsubscribed and at > unsubscribed[str(message["To"])]
    ]
    assert late == []
    contacts = whole.contacts()
    refused = {
        contacts[d.contact_id].email
        for d in _decisions(whole)
        if d.reason_code == "unsubscribed" and d.contact_id is not None
    }
    assert refused & set(unsubscribed), "no unsubscribed address was ever due again"


def test_each_detractor_answer_yields_exactly_one_task(lived: Lived) -> None:
    """One follow-up per detractor response and none for others; its task exists once in the
    CRM, and no task the worker created exists twice, after all the cycles re-ran."""
    whole = lived.company
    tasks = whole.crm_tasks()
    assert [key for key, count in tasks.items() if count > 1] == []
    followups = _followups(whole)
    detractors = [r for r in _responses(whole).values() if r.score <= DETRACTOR_MAX]
    assert detractors, "nobody answered as a detractor"
    assert sorted(r.id for _, r in followups) == sorted(r.id for r in detractors)
    assert all(tasks[followup.dedup_key] == 1 for followup, _ in followups)
    assert all(followup.crm_task_id for followup, _ in followups)


def test_task_completion_flows_back_to_the_followup_and_the_contact(lived: Lived) -> None:
    """Reps work their tasks as days pass; the follow-ups read it back with its times, and each
    answered contact's follow-up status in the CRM is the stage of its latest answer."""
    whole = lived.company
    followups = _followups(whole)
    closed = [f for f, _ in followups if f.status == FollowUpStatus.CLOSED]
    assert closed, "no follow-up was ever closed"
    assert all(f.closed_at is not None and f.first_contact_at is not None for f in closed)
    assert all(
        f.first_contact_at is not None
        for f, _ in followups
        if f.status == FollowUpStatus.IN_PROGRESS
    )
    now = whole.reports[-1].started_at
    status_field = whole.config.writeback.contact.followup_status
    score_field = whole.config.writeback.contact.last_score
    assert status_field is not None
    assert score_field is not None
    latest = _latest_answers(whole)
    assert latest
    stages = {response.id: followup for followup, response in followups}
    contacts = whole.contacts()
    for contact_id, response in latest.items():
        crm = whole.crm_contact(contacts[contact_id].crm_id)
        followup = stages.get(response.id)
        stage = followup_stage(followup, now) if followup else FollowupStage.NONE
        expected = (whole.crm_stage(stage.value), response.score)
        assert (str(crm[status_field]), _score(crm[score_field])) == expected, contact_id
    shown = whole.crm_stage(FollowupStage.CLOSED.value)
    assert any(whole.crm_contact(contacts[c].crm_id)[status_field] == shown for c in latest), (
        "no contact shows a closed follow-up"
    )


def _latest_answers(whole: Company) -> dict[int, Response]:
    """Each answered contact's latest final response."""
    with whole.store.sessions() as session:
        rows = session.execute(
            select(Survey.contact_id, Response)
            .join(Response, Response.survey_id == Survey.id)
            .where(Response.provisional.is_(False))
            .order_by(Response.received_at, Response.id)
        )
        return dict(rows.all())


def _score(value: Any) -> int:
    return int(float(value))


def test_a_cycle_without_crm_changes_writes_nothing(lived: Lived) -> None:
    """After the loop settles, one more cycle makes no write call to the CRM."""
    assert lived.writes_before > 0
    assert [(entry.method, entry.path) for entry in lived.noop_writes] == []


@pytest.mark.parametrize("kind", KINDS)
def test_the_first_sync_is_not_a_blast(kind: str, tmp_path: Path) -> None:
    """The first cycle on a world full of closed cases fires and sends nothing; after ten days
    without cycles, only changes inside the backfill window fire."""
    sandbox = Sandbox(seed=SEED, size=150, start=START, hubspot_rate_limits=False).start()
    try:
        with company(
            kind, sandbox, tmp_path, programs=("case_closed", "onboarding_completed")
        ) as whole:
            assert _closed_cases(sandbox, kind) > 10
            first = whole.cycle()
            assert first.crms[0].events.refused.get("first_sync", 0) > 10
            assert (first.crms[0].events.fired, first.dispatch.sent) == ({}, 0)
            whole.cycle()
            assert _events(whole) == []
            assert whole.mail.sent() == []

            whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(days=10))
            later = whole.cycle()
            now = later.started_at
            events = _events(whole)
            assert later.crms[0].events.refused.get("before_backfill_window", 0) > 0
            assert events, "nothing inside the backfill window fired"
            assert [e.dedup_key for e in events if e.occurred_at < now - BACKFILL] == []
    finally:
        sandbox.stop()


def _closed_cases(sandbox: Sandbox, kind: str) -> int:
    if kind == "salesforce":
        return sum(1 for case in sandbox.salesforce.records("Case") if case["Status"] == "Closed")
    return sum(1 for t in sandbox.hubspot.records("tickets") if t.get("hs_pipeline_stage") == "4")


def _events(whole: Company) -> list[CrmEvent]:
    with whole.store.sessions() as session:
        return list(session.scalars(select(CrmEvent)))


class Crash(BaseException):
    """The process dies here (like SystemExit: no `except Exception` stops it)."""


class CrashPoints:
    """Makes chosen functions die, before or after doing their work, at random calls."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
        self._monkeypatch = monkeypatch
        self._random = random.Random(seed)
        self.armed = True
        self.crashes: list[str] = []

    def add(self, owner: Any, name: str, *, rate: float, after: bool = True) -> None:
        """Wrap `owner.name` to die at a `rate` of its calls, before it starts or once done."""
        original: Callable[..., Any] = getattr(owner, name)
        label = f"{getattr(owner, '__name__', owner)}.{name}:{'after' if after else 'before'}"

        def dying(*args: Any, **kwargs: Any) -> Any:
            if not after:
                self._maybe(label, rate)
            result = original(*args, **kwargs)
            if after:
                self._maybe(label, rate)
            return result

        self._monkeypatch.setattr(owner, name, dying)

    def _maybe(self, label: str, rate: float) -> None:
        if self.armed and self._random.random() < rate:
            self.crashes.append(label)
            raise Crash(label)


FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "drop")
FAULTS = [FaultRule(None, r"^/(services/data|crm/v)", kind, 0.025) for kind in FAULT_KINDS]
"""About one CRM call in ten fails: rate limited, server errors, connections dropped."""


@pytest.mark.parametrize("kind", KINDS)
def test_faults_and_crashes_lose_and_duplicate_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten days with CRM faults and the worker dying at random points (each time a fresh process
    carries on), then faults off: every acknowledged answer is stored and on the CRM contact,
    no e-mail, survey or task exists twice, and every queued write is applied."""
    sandbox = Sandbox(seed=SEED, size=60, start=START, hubspot_rate_limits=False).start()
    try:
        with company(kind, sandbox, tmp_path) as whole:
            client_type = type(whole.loop.links[0].client)
            crashes = CrashPoints(monkeypatch, seed=11)
            crashes.add(RecordChangeObserver, "__call__", rate=0.05)  # a pulled page, stored
            crashes.add(planning, "_plan_event", rate=0.01)  # an event planned, not committed
            crashes.add(type(whole.mail), "send", rate=0.03)  # a mail out, not marked sent
            crashes.add(answers, "_handle", rate=0.03)  # an answer handled, not committed
            for method in ("update", "create_tasks", "create_notes"):  # the CRM took the writes
                crashes.add(client_type, method, rate=0.2)
            crashes.add(client_type, "task_statuses", rate=0.1, after=False)
            for rule in FAULTS:
                sandbox.faults.add(rule)

            def cycle_or_crash() -> None:
                try:
                    whole.cycle()
                except Crash:
                    whole.people.read_new_mail()
                    whole.restart()

            whole.run_days(10, cycle=cycle_or_crash)
            crashes.armed = False
            sandbox.faults.clear()
            for _ in range(8):
                if _outbox_states(whole) == {OutboxState.DONE}:
                    break
                whole.advance_to(whole.sandbox.clock.now() + dt.timedelta(hours=6))
                whole.cycle()

            assert len(crashes.crashes) >= 5, crashes.crashes
            assert sum(1 for e in sandbox.log.entries() if e.fault) > 5
            assert _outbox_states(whole) == {OutboxState.DONE}
            _assert_nothing_lost_or_doubled(whole)
    finally:
        sandbox.stop()


def _outbox_states(whole: Company) -> set[OutboxState]:
    with whole.store.sessions() as session:
        return set(session.scalars(select(OutboxEntry.state).distinct()))


def _assert_nothing_lost_or_doubled(whole: Company) -> None:
    acknowledged = whole.people.acknowledged
    assert len(acknowledged) > 10
    assert whole.people.problems == []
    stored = _responses(whole)
    assert {a.token_id: a.score for a in acknowledged} == {
        token: stored[token].score
        for token in (a.token_id for a in acknowledged)
        if token in stored
    }
    assert {a.token_id for a in acknowledged} <= set(stored)
    contacts = whole.contacts()
    score_field = whole.config.writeback.contact.last_score
    assert score_field is not None
    for contact_id, response in _latest_answers(whole).items():
        crm = whole.crm_contact(contacts[contact_id].crm_id)
        assert _score(crm[score_field]) == response.score, contact_id
    assert [mid for mid, count in whole.mail.message_ids().items() if count > 1] == []
    surveys = whole.surveys()
    pairs = [(s.program, s.crm_event_id) for s in surveys]
    assert len(pairs) == len(set(pairs))
    assert all(min(g, default=MIN_INTERVAL) >= MIN_INTERVAL for g in _sent_gaps(surveys).values())
    tasks = whole.crm_tasks()
    assert [key for key, count in tasks.items() if count > 1] == []
    assert all(tasks[followup.dedup_key] == 1 for followup, _ in _followups(whole))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (an unreachable server fails the test)."""
    import os

    server = PostgresDatabases(os.environ.get(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))
    url = server.create()
    yield url
    server.drop(url)
    server.close()


@pytest.mark.postgres
def test_two_replicas_on_postgresql_send_each_survey_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """Two replicas run every cycle at the same moment over one database for a week (as when
    the scheduler lease changes hands while the old holder is still busy): each e-mail goes out
    once, no (program, event) pair has two surveys, no task exists twice. A replica may lose a
    race to a unique constraint (its cycle rolls back, the next one carries on), never both."""
    sandbox = Sandbox(seed=SEED, size=60, start=START, hubspot_rate_limits=False).start()
    try:
        with company("salesforce", sandbox, tmp_path, database_url=postgres_url) as whole:
            other = open_store(whole.config)
            replicas = [whole.loop, wired_loop(whole.config, other, whole.mail, sandbox)]
            rounds: list[list[BaseException]] = []

            def both() -> None:
                failures: list[BaseException] = []

                def run(loop: Loop) -> None:
                    try:
                        run_cycle(loop)
                    except BaseException as error:  # noqa: BLE001 (judged below)
                        failures.append(error)

                threads = [threading.Thread(target=run, args=(loop,)) for loop in replicas]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                rounds.append(failures)
                whole.people.read_new_mail()

            whole.run_days(7, cycle=both)
            other.engine.dispose()
            failures = [error for failed in rounds for error in failed]
            assert [e for e in failures if not isinstance(e, IntegrityError)] == []
            assert all(len(failed) < len(replicas) for failed in rounds)
            assert len(whole.mail.sent()) > 20
            assert [mid for mid, n in whole.mail.message_ids().items() if n > 1] == []
            surveys = whole.surveys()
            pairs = [(s.program, s.crm_event_id) for s in surveys]
            assert len(pairs) == len(set(pairs))
            assert all(
                min(g, default=MIN_INTERVAL) >= MIN_INTERVAL for g in _sent_gaps(surveys).values()
            )
            assert [key for key, count in whole.crm_tasks().items() if count > 1] == []
    finally:
        sandbox.stop()
