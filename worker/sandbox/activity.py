"""What people do in a CRM while simulated days pass: cases open and close, onboarding finishes,
reps complete their tasks.

`simulate` drives one emulated CRM through the narrow `ActivityTarget` protocol, one day (or
less) at a time, applying each slice's events in time order with timestamps inside the slice.
"""

import math
import random
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
TASK_COMPLETE_PER_DAY = 0.3
NEW_CASES_PER_CONTACT_PER_DAY = 0.003
_POISSON_EXACT_LIMIT = 30.0

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

    def open_task_ids(self) -> list[str]:
        """Ids of tasks not yet completed."""
        ...

    def complete_task(self, task_id: str, at: datetime) -> None:
        """Mark a task completed at `at`."""
        ...


@dataclass(frozen=True)
class ActivitySummary:
    """How much happened in a simulated interval (summed over CRMs by `+`)."""

    cases_opened: int = 0
    cases_closed: int = 0
    onboardings_completed: int = 0
    tasks_completed: int = 0

    def __add__(self, other: "ActivitySummary") -> "ActivitySummary":
        return ActivitySummary(
            cases_opened=self.cases_opened + other.cases_opened,
            cases_closed=self.cases_closed + other.cases_closed,
            onboardings_completed=self.onboardings_completed + other.onboardings_completed,
            tasks_completed=self.tasks_completed + other.tasks_completed,
        )

    def counts(self) -> dict[str, int]:
        """The counts by name (for logs and the control endpoint)."""
        return asdict(self)

    def to_dict(self) -> dict[str, int]:
        """The summary as JSON-ready data."""
        return self.counts()


def simulate(
    target: ActivityTarget, rng: random.Random, start: datetime, end: datetime
) -> ActivitySummary:
    """Play the interval (start, end] on `target`; every write is stamped inside it."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("simulate needs timezone-aware start and end")
    summary = ActivitySummary()
    slice_start = start
    while slice_start < end:
        slice_end = min(slice_start + DAY, end)
        summary += _simulate_slice(target, rng, slice_start, slice_end)
        slice_start = slice_end
    return summary


def _simulate_slice(
    target: ActivityTarget, rng: random.Random, start: datetime, end: datetime
) -> ActivitySummary:
    span = end - start
    fraction = span / DAY

    def moment() -> datetime:
        return start + span * (1.0 - rng.random())

    def happens(per_day: float) -> bool:
        return rng.random() < 1.0 - float((1.0 - per_day) ** fraction)

    events: list[tuple[datetime, Callable[[datetime], object]]] = []
    closes = [case_id for case_id in target.open_case_ids() if happens(CASE_CLOSE_PER_DAY)]
    events += [(moment(), partial(target.close_case, case_id)) for case_id in closes]
    onboardings = [
        account_id
        for account_id in target.onboarding_in_progress_account_ids()
        if happens(ONBOARDING_COMPLETE_PER_DAY)
    ]
    events += [(moment(), partial(target.complete_onboarding, key)) for key in onboardings]
    tasks = [task_id for task_id in target.open_task_ids() if happens(TASK_COMPLETE_PER_DAY)]
    events += [(moment(), partial(target.complete_task, task_id)) for task_id in tasks]
    contacts = target.contact_ids()
    new_count = _poisson(rng, NEW_CASES_PER_CONTACT_PER_DAY * len(contacts) * fraction)
    new_cases = [
        partial(target.open_case, rng.choice(contacts), rng.choice(CASE_SUBJECTS))
        for _ in range(new_count if contacts else 0)
    ]
    events += [(moment(), open_case) for open_case in new_cases]
    for at, action in sorted(events, key=lambda event: event[0]):
        action(at)
    return ActivitySummary(
        cases_opened=len(new_cases),
        cases_closed=len(closes),
        onboardings_completed=len(onboardings),
        tasks_completed=len(tasks),
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
