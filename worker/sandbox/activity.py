"""What people do in a CRM while simulated days pass: cases open and close, onboarding finishes,
reps start their follow-up tasks and later complete them (or, on holiday, leave them for days).

`simulate` drives one emulated CRM through the narrow `ActivityTarget` protocol, one day (or
less) at a time, applying each slice's events in time order with timestamps inside the slice.
"""

import math
import random
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol

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

    def __add__(self, other: "ActivitySummary") -> "ActivitySummary":
        return ActivitySummary(
            cases_opened=self.cases_opened + other.cases_opened,
            cases_closed=self.cases_closed + other.cases_closed,
            onboardings_completed=self.onboardings_completed + other.onboardings_completed,
            tasks_started=self.tasks_started + other.tasks_started,
            tasks_completed=self.tasks_completed + other.tasks_completed,
        )

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


def _task_events(
    tasks: list[OpenTask],
    target: ActivityTarget,
    rng: random.Random,
    window: tuple[datetime, datetime],
    habits: TaskHabits,
) -> tuple[list[Event], int, int]:
    """Starts and completions of open tasks within `window`, with how many of each.

    A task is worked on only once it exists and, if ignored, once its owner is back; one started
    in this slice may also be completed later in it.
    """
    start, end = window
    events: list[Event] = []
    started = completed = 0
    for task in tasks:
        away = habits.ignored_for if habits.ignored(task.id) else timedelta(0)
        begin = max(start, task.created_at + away)
        if begin >= end:
            continue
        if not task.started:
            if not _happens(rng, habits.start_per_day, end - begin):
                continue
            begin = _within(rng, begin, end)
            events.append((begin, partial(target.start_task, task.id)))
            started += 1
        if _happens(rng, habits.complete_per_day, end - begin):
            events.append((_within(rng, begin, end), partial(target.complete_task, task.id)))
            completed += 1
    return events, started, completed


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
    task_events, started, completed = _task_events(
        target.open_tasks(), target, rng, (start, end), habits
    )
    events += task_events
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
        tasks_started=started,
        tasks_completed=completed,
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
