"""What people do in a CRM while simulated days pass: cases open and close, onboarding finishes,
reps start their follow-up tasks and later complete them (or, on holiday, leave them for days).
Where the CRM's task model has it (`TaskWorkflow`), reps also wait on the customer, put tasks
aside, hand them to a colleague or delete them; where it has deals (`DealWork`), renewals close
as their date nears and new stakeholders join them.

`simulate` drives one emulated CRM through the narrow `ActivityTarget` protocol, one day (or
less) at a time, applying each slice's events in time order with timestamps inside the slice.
"""

import math
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Protocol, runtime_checkable

DAY = timedelta(days=1)

# Daily probabilities (hazards) of the simulated behaviours, chosen so that a month shows a
# realistic B2B rhythm: most cases close within a week, onboarding takes weeks, a rep works
# through a follow-up task in a few days, and a few customers a day open a new case.
CASE_CLOSE_PER_DAY = 0.25
ONBOARDING_COMPLETE_PER_DAY = 0.06
NEW_CASES_PER_CONTACT_PER_DAY = 0.003
# A rep picks up half of their new follow-up tasks within a day (the first call), and closes a
# started one in about three days (median 1.6: calls back, agrees a fix, writes it up), so
# time to first contact and time to close both have a spread an SLA report can show.
TASK_START_PER_DAY = 0.5
TASK_COMPLETE_PER_DAY = 0.35
# Some reps are away: about one task in seven sits untouched for five days after it is opened,
# long enough to miss a 24-48 h SLA and to reach the escalation tiers within a simulated week.
TASK_IGNORED_SHARE = 0.15
TASK_IGNORED_FOR = timedelta(days=5)
# Where the CRM has those states: a third of first contacts leave the task waiting on the
# customer; an untouched task is put aside, handed to a colleague or deleted now and then.
TASK_WAIT_SHARE = 0.3
TASK_DEFER_PER_DAY = 0.05
TASK_REASSIGN_PER_DAY = 0.03
TASK_DELETE_PER_DAY = 0.01
# Renewal deals close in the last two weeks before their close date, most of them won; now and
# then a new stakeholder (a contact of the company) is added to an open deal.
DEAL_CLOSING_WINDOW = timedelta(days=14)
DEAL_CLOSE_PER_DAY = 0.15
DEAL_WON_SHARE = 0.85
DEAL_CONTACT_PER_DAY = 0.02
_POISSON_EXACT_LIMIT = 30.0

Event = tuple[datetime, Callable[[datetime], object]]
"""A write to apply to the CRM at a simulated moment."""

CASE_SUBJECTS = (
    "Cannot log in after SSO change",
    "Export to CSV times out",
    "Question about invoice",
    "Sync with calendar stopped working",
    "Request to add seats",
    "Dashboard shows wrong totals",
    "API returns 500 on bulk update",
    "How do I reset a user's password?",
    "Notification emails not arriving",
    "Feature request: custom fields on reports",
)


class ActivityTarget(Protocol):
    """Operations the time machine performs on one emulated CRM."""

    def open_case_ids(self) -> list[str]:
        """Ids of cases/tickets that are not closed."""
        ...

    def close_case(self, case_id: str, at: datetime) -> None:
        """Close a case/ticket, stamping its modification time with `at`."""
        ...

    def contact_ids(self) -> list[str]:
        """Ids of all contacts."""
        ...

    def open_case(self, contact_id: str, subject: str, at: datetime) -> str:
        """Open a new case/ticket for a contact (and its company); return its id."""
        ...

    def onboarding_in_progress_account_ids(self) -> list[str]:
        """Ids of accounts/companies whose onboarding is in progress."""
        ...

    def complete_onboarding(self, account_id: str, at: datetime) -> None:
        """Mark an account's onboarding completed at `at`."""
        ...

    def open_tasks(self) -> list["OpenTask"]:
        """Tasks not yet completed, started or not."""
        ...

    def start_task(self, task_id: str, at: datetime) -> None:
        """Move a task to in progress at `at` (the rep's first contact)."""
        ...

    def complete_task(self, task_id: str, at: datetime) -> None:
        """Mark a task completed at `at`."""
        ...


_OUTCOME_LINE = re.compile(r"^(\[([12])\][^:：\n]*([:：]))[ \t]*$", re.MULTILINE)  # noqa: RUF001
_OUTCOMES = {
    ":": {"1": "called, apologised and thanked them", "2": "confirmed what happened"},
    "：": {"1": "電話でお詫びとお礼を伝えた", "2": "経緯をお客様と確認した"},  # noqa: RUF001
}


def fill_outcomes(description: str | None) -> str | None:
    """What a rep writes on a guided task's first two outcome lines when closing it (lines
    like `[1] Apology:`); a description without them is left as it is."""
    if not description:
        return description

    def written(line: re.Match[str]) -> str:
        space = " " if line.group(3) == ":" else ""
        return f"{line.group(1)}{space}{_OUTCOMES[line.group(3)][line.group(2)]}"

    return _OUTCOME_LINE.sub(written, description)


@runtime_checkable
class TaskWorkflow(Protocol):
    """The rest of what reps do with tasks, where the CRM's task model has it."""

    def wait_on_task(self, task_id: str, at: datetime) -> None:
        """First contact made, now waiting on the customer (counts as started)."""
        ...

    def defer_task(self, task_id: str, at: datetime) -> None:
        """Put an untouched task aside (still not started)."""
        ...

    def reassign_task(self, task_id: str, at: datetime) -> None:
        """Hand a task to a colleague (the CRM picks who)."""
        ...

    def delete_task(self, task_id: str, at: datetime) -> None:
        """Delete a task."""
        ...


@dataclass(frozen=True)
class OpenDeal:
    """A deal not closed yet, and the date it is expected to close."""

    id: str
    close_date: date


@runtime_checkable
class DealWork(Protocol):
    """What reps do with deals, where the CRM has them."""

    def open_deals(self) -> list[OpenDeal]:
        """Deals not closed yet."""
        ...

    def close_deal(self, deal_id: str, won: bool, at: datetime) -> None:
        """Close a deal, won or lost, at `at`."""
        ...

    def add_deal_contact(self, deal_id: str, at: datetime) -> None:
        """Associate one more contact of the deal's company with it (a new stakeholder)."""
        ...


@dataclass(frozen=True)
class OpenTask:
    """A task a rep has still to finish: when it was opened, and whether work has begun."""

    id: str
    created_at: datetime
    started: bool


@dataclass(frozen=True)
class TaskHabits:
    """How reps treat follow-up tasks: daily hazards to start and to complete, and holidays.

    A task is ignored (untouched for `ignored_for` after it was opened) when a stable hash of
    its id falls in `ignored_share`, so the same task is ignored on every replay.
    """

    start_per_day: float = TASK_START_PER_DAY
    complete_per_day: float = TASK_COMPLETE_PER_DAY
    ignored_share: float = TASK_IGNORED_SHARE
    ignored_for: timedelta = TASK_IGNORED_FOR
    wait_share: float = TASK_WAIT_SHARE
    defer_per_day: float = TASK_DEFER_PER_DAY
    reassign_per_day: float = TASK_REASSIGN_PER_DAY
    delete_per_day: float = TASK_DELETE_PER_DAY

    def ignored(self, task_id: str) -> bool:
        """Whether this task's owner is away when it arrives."""
        return zlib.crc32(task_id.encode()) / 2**32 < self.ignored_share


@dataclass(frozen=True)
class ActivitySummary:
    """How much happened in a simulated interval (summed over CRMs by `+`)."""

    cases_opened: int = 0
    cases_closed: int = 0
    onboardings_completed: int = 0
    tasks_started: int = 0
    tasks_completed: int = 0
    tasks_waiting: int = 0
    """Of the tasks started, those left waiting on the customer."""
    tasks_deferred: int = 0
    tasks_reassigned: int = 0
    tasks_deleted: int = 0
    deals_closed: int = 0
    deal_contacts_added: int = 0

    def __add__(self, other: "ActivitySummary") -> "ActivitySummary":
        mine, theirs = self.counts(), other.counts()
        return ActivitySummary(**{name: mine[name] + theirs[name] for name in mine})

    def counts(self) -> dict[str, int]:
        """The counts by name (for logs and the control endpoint)."""
        return asdict(self)

    def to_dict(self) -> dict[str, int]:
        """The summary as JSON-ready data."""
        return self.counts()


def simulate(
    target: ActivityTarget,
    rng: random.Random,
    start: datetime,
    end: datetime,
    habits: TaskHabits | None = None,
    *,
    walk: Callable[[datetime], None] | None = None,
) -> ActivitySummary:
    """Play the interval (start, end] on `target`; every write is stamped inside it.

    `walk` is told each write's moment just before it is made (to set a clock that the target
    reads, e.g. for its search-index lag), in time order.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("simulate needs timezone-aware start and end")
    habits = habits or TaskHabits()
    summary = ActivitySummary()
    slice_start = start
    while slice_start < end:
        slice_end = min(slice_start + DAY, end)
        summary += _simulate_slice(target, rng, (slice_start, slice_end), habits, walk)
        slice_start = slice_end
    return summary


def _happens(rng: random.Random, per_day: float, span: timedelta) -> bool:
    """A daily hazard over `span`: the chance it happens at least once in that time."""
    return rng.random() < 1.0 - float((1.0 - per_day) ** (span / DAY))


def _within(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment in (start, end]."""
    return start + (end - start) * (1.0 - rng.random())


@dataclass
class _TaskMoves:
    """What reps did to tasks in one slice: the writes, and how many of each kind."""

    events: list[Event]
    counts: dict[str, int]

    def add(self, kind: str, at: datetime, write: Callable[[datetime], object]) -> None:
        self.events.append((at, write))
        self.counts[kind] = self.counts.get(kind, 0) + 1


def _task_events(
    tasks: list[OpenTask],
    target: ActivityTarget,
    rng: random.Random,
    window: tuple[datetime, datetime],
    habits: TaskHabits,
) -> _TaskMoves:
    """Starts and completions of open tasks within `window` (and, on a CRM with a task
    workflow, waits, deferrals, hand-overs and deletions).

    A task is worked on only once it exists and, if ignored, once its owner is back; one started
    in this slice may also be completed later in it.
    """
    start, end = window
    workflow = target if isinstance(target, TaskWorkflow) else None
    moves = _TaskMoves([], {})
    for task in tasks:
        away = habits.ignored_for if habits.ignored(task.id) else timedelta(0)
        begin = max(start, task.created_at + away)
        if begin >= end:
            continue
        if not task.started:
            if workflow is not None and _aside(moves, workflow, task.id, rng, (begin, end), habits):
                continue
            if not _happens(rng, habits.start_per_day, end - begin):
                continue
            begin = _within(rng, begin, end)
            if workflow is not None and rng.random() < habits.wait_share:
                moves.add("tasks_started", begin, partial(workflow.wait_on_task, task.id))
                moves.counts["tasks_waiting"] = moves.counts.get("tasks_waiting", 0) + 1
            else:
                moves.add("tasks_started", begin, partial(target.start_task, task.id))
        if _happens(rng, habits.complete_per_day, end - begin):
            at = _within(rng, begin, end)
            moves.add("tasks_completed", at, partial(target.complete_task, task.id))
    return moves


def _aside(  # noqa: PLR0917 - the slice's state, passed as `_task_events` holds it
    moves: _TaskMoves,
    workflow: TaskWorkflow,
    task_id: str,
    rng: random.Random,
    window: tuple[datetime, datetime],
    habits: TaskHabits,
) -> bool:
    """Maybe delete, hand over or defer an untouched task; True when it is done with for now."""
    begin, end = window
    for kind, per_day, write in (
        ("tasks_deleted", habits.delete_per_day, workflow.delete_task),
        ("tasks_reassigned", habits.reassign_per_day, workflow.reassign_task),
        ("tasks_deferred", habits.defer_per_day, workflow.defer_task),
    ):
        if _happens(rng, per_day, end - begin):
            moves.add(kind, _within(rng, begin, end), partial(write, task_id))
            return True
    return False


def _deal_events(
    target: ActivityTarget, rng: random.Random, window: tuple[datetime, datetime]
) -> tuple[list[Event], int, int]:
    """Renewals closing near their date, stakeholders added to open deals (where deals exist)."""
    if not isinstance(target, DealWork):
        return [], 0, 0
    start, end = window
    events: list[Event] = []
    closed = added = 0
    for deal in target.open_deals():
        closing = deal.close_date - DEAL_CLOSING_WINDOW <= start.date()
        if closing and _happens(rng, DEAL_CLOSE_PER_DAY, end - start):
            won = rng.random() < DEAL_WON_SHARE
            close = partial(target.close_deal, deal.id, won)
            events.append((_within(rng, start, end), close))
            closed += 1
        elif _happens(rng, DEAL_CONTACT_PER_DAY, end - start):
            events.append((_within(rng, start, end), partial(target.add_deal_contact, deal.id)))
            added += 1
    return events, closed, added


def _simulate_slice(
    target: ActivityTarget,
    rng: random.Random,
    window: tuple[datetime, datetime],
    habits: TaskHabits,
    walk: Callable[[datetime], None] | None,
) -> ActivitySummary:
    start, end = window
    span = end - start
    fraction = span / DAY

    def moment() -> datetime:
        return _within(rng, start, end)

    def happens(per_day: float) -> bool:
        return _happens(rng, per_day, span)

    events: list[Event] = []
    closes = [case_id for case_id in target.open_case_ids() if happens(CASE_CLOSE_PER_DAY)]
    events += [(moment(), partial(target.close_case, case_id)) for case_id in closes]
    onboardings = [
        account_id
        for account_id in target.onboarding_in_progress_account_ids()
        if happens(ONBOARDING_COMPLETE_PER_DAY)
    ]
    events += [(moment(), partial(target.complete_onboarding, key)) for key in onboardings]
    moves = _task_events(target.open_tasks(), target, rng, (start, end), habits)
    events += moves.events
    deal_events, deals_closed, deal_contacts = _deal_events(target, rng, (start, end))
    events += deal_events
    contacts = target.contact_ids()
    new_count = _poisson(rng, NEW_CASES_PER_CONTACT_PER_DAY * len(contacts) * fraction)
    new_cases = [
        partial(target.open_case, rng.choice(contacts), rng.choice(CASE_SUBJECTS))
        for _ in range(new_count if contacts else 0)
    ]
    events += [(moment(), open_case) for open_case in new_cases]
    for at, action in sorted(events, key=lambda event: event[0]):
        if walk is not None:
            walk(at)
        action(at)
    return ActivitySummary(
        cases_opened=len(new_cases),
        cases_closed=len(closes),
        onboardings_completed=len(onboardings),
        deals_closed=deals_closed,
        deal_contacts_added=deal_contacts,
        **moves.counts,
    )


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact (Knuth) for small means, the normal approximation for large ones."""
    if mean <= 0:
        return 0
    if mean > _POISSON_EXACT_LIMIT:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    threshold = math.exp(-mean)
    count, product = 0, rng.random()
    while product > threshold:
        count += 1
        product *= rng.random()
    return count
