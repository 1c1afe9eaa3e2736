"""The time machine's activity simulation, driven against an in-memory CRM."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from worker.sandbox.activity import ActivitySummary, OpenDeal, OpenTask, TaskHabits, simulate

START = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


class MemoryCrm:
    """An ActivityTarget that records every write with its timestamp."""

    def __init__(self, contacts: int, open_cases: int, onboarding: int, tasks: int) -> None:
        self.contacts = [f"c{i}" for i in range(contacts)]
        self.cases = {f"case{i}": "Working" for i in range(open_cases)}
        self.accounts = {f"a{i}": "In Progress" for i in range(onboarding)}
        self.tasks = {f"t{i}": "Not Started" for i in range(tasks)}
        self.opened = START - timedelta(hours=1)
        self.writes: list[tuple[datetime, str, str]] = []

    def open_case_ids(self) -> list[str]:
        return [key for key, status in self.cases.items() if status != "Closed"]

    def close_case(self, case_id: str, at: datetime) -> None:
        self.cases[case_id] = "Closed"
        self.writes.append((at, "close_case", case_id))

    def contact_ids(self) -> list[str]:
        return list(self.contacts)

    def open_case(self, contact_id: str, subject: str, at: datetime) -> str:
        case_id = f"case{len(self.cases)}"
        self.cases[case_id] = "New"
        self.writes.append((at, "open_case", contact_id))
        return case_id

    def onboarding_in_progress_account_ids(self) -> list[str]:
        return [key for key, status in self.accounts.items() if status == "In Progress"]

    def complete_onboarding(self, account_id: str, at: datetime) -> None:
        self.accounts[account_id] = "Completed"
        self.writes.append((at, "complete_onboarding", account_id))

    def open_tasks(self) -> list[OpenTask]:
        return [
            OpenTask(key, self.opened, status != "Not Started")
            for key, status in self.tasks.items()
            if status != "Completed"
        ]

    def start_task(self, task_id: str, at: datetime) -> None:
        assert self.tasks[task_id] == "Not Started"
        self.tasks[task_id] = "In Progress"
        self.writes.append((at, "start_task", task_id))

    def complete_task(self, task_id: str, at: datetime) -> None:
        assert self.tasks[task_id] == "In Progress", "a rep starts a task before completing it"
        self.tasks[task_id] = "Completed"
        self.writes.append((at, "complete_task", task_id))

    def first(self, kind: str) -> dict[str, datetime]:
        """When each task was first written as `kind`."""
        found: dict[str, datetime] = {}
        for at, written, key in self.writes:
            if written == kind:
                found.setdefault(key, at)
        return found


def _month(seed: int) -> tuple[MemoryCrm, ActivitySummary]:
    crm = MemoryCrm(contacts=1_000, open_cases=60, onboarding=20, tasks=40)
    summary = simulate(crm, random.Random(seed), START, START + timedelta(days=30))
    return crm, summary


class TestSimulate:
    def test_a_month_closes_cases_completes_onboarding_and_tasks(self) -> None:
        """Thirty days close most open cases, finish most onboarding and tasks, open new cases."""
        crm, summary = _month(1)
        assert summary.cases_closed >= 60
        assert summary.onboardings_completed >= 10
        assert summary.tasks_started >= 35
        assert summary.tasks_completed >= 30
        assert 40 <= summary.cases_opened <= 150
        assert summary.cases_closed == sum(1 for _, kind, _ in crm.writes if kind == "close_case")

    def test_every_write_is_stamped_inside_the_interval_in_time_order(self) -> None:
        """Writes carry times in (start, end], and are applied in time order."""
        crm, _ = _month(2)
        times = [at for at, _, _ in crm.writes]
        assert times == sorted(times)
        assert all(START < at <= START + timedelta(days=30) for at in times)

    def test_same_seed_replays_the_same_activity(self) -> None:
        """The same RNG seed on the same state yields the same writes at the same times."""
        assert _month(3)[0].writes == _month(3)[0].writes
        assert _month(3)[0].writes != _month(4)[0].writes

    @pytest.mark.parametrize(
        "delta",
        [pytest.param(timedelta(0), id="empty"), pytest.param(timedelta(-1), id="backwards")],
    )
    def test_an_empty_interval_does_nothing(self, delta: timedelta) -> None:
        """No time passing means no activity."""
        crm = MemoryCrm(contacts=100, open_cases=10, onboarding=5, tasks=5)
        summary = simulate(crm, random.Random(0), START, START + delta)
        assert summary == ActivitySummary()
        assert crm.writes == []

    def test_an_hour_does_far_less_than_a_day(self) -> None:
        """Probabilities scale with the interval: an hour closes few of many open cases."""
        hour = MemoryCrm(contacts=0, open_cases=2_000, onboarding=0, tasks=0)
        day = MemoryCrm(contacts=0, open_cases=2_000, onboarding=0, tasks=0)
        closed_in_hour = simulate(hour, random.Random(5), START, START + timedelta(hours=1))
        closed_in_day = simulate(day, random.Random(5), START, START + timedelta(days=1))
        assert closed_in_hour.cases_closed * 10 < closed_in_day.cases_closed

    def test_no_contacts_means_no_new_cases(self) -> None:
        """Without contacts nobody can open a case."""
        crm = MemoryCrm(contacts=0, open_cases=0, onboarding=0, tasks=0)
        summary = simulate(crm, random.Random(0), START, START + timedelta(days=10))
        assert summary.cases_opened == 0

    def test_naive_bounds_are_refused(self) -> None:
        """The interval must be timezone-aware."""
        crm = MemoryCrm(contacts=1, open_cases=0, onboarding=0, tasks=0)
        with pytest.raises(ValueError, match="timezone-aware"):
            simulate(crm, random.Random(0), datetime(2025, 6, 2), START)  # noqa: DTZ001


NO_HOLIDAYS = TaskHabits(ignored_share=0.0)


def _tasks_only(count: int, days: int, habits: TaskHabits, seed: int = 1) -> MemoryCrm:
    crm = MemoryCrm(contacts=0, open_cases=0, onboarding=0, tasks=count)
    simulate(crm, random.Random(seed), START, START + timedelta(days=days), habits)
    return crm


class TestTaskHabits:
    """Reps start a task (first contact), later complete it, and sometimes are away."""

    def test_every_completed_task_was_started_earlier(self) -> None:
        """In Progress comes first, Completed strictly later, both inside the interval."""
        crm = _tasks_only(500, 30, NO_HOLIDAYS)
        started, completed = crm.first("start_task"), crm.first("complete_task")
        assert len(completed) > 400
        assert all(started[key] < at for key, at in completed.items())

    def test_first_contact_and_close_take_realistic_times(self) -> None:
        """About half the tasks are started within a day; closing takes a few days more."""
        crm = _tasks_only(2_000, 30, NO_HOLIDAYS)
        started, completed = crm.first("start_task"), crm.first("complete_task")
        within_a_day = sum(1 for at in started.values() if at <= START + timedelta(days=1))
        assert 0.42 <= within_a_day / 2_000 <= 0.58
        work = sorted((completed[key] - started[key]) for key in completed)
        median = work[len(work) // 2]
        assert timedelta(days=1) <= median <= timedelta(days=3)

    def test_ignored_tasks_sit_untouched_for_the_holiday(self) -> None:
        """A task whose owner is away gets no write until `ignored_for` after it was opened."""
        away = TaskHabits(ignored_share=1.0, ignored_for=timedelta(days=5))
        crm = _tasks_only(200, 10, away)
        back = crm.opened + timedelta(days=5)
        assert crm.writes
        assert min(at for at, _, _ in crm.writes) > back

    def test_about_one_task_in_seven_is_ignored_always_the_same(self) -> None:
        """The default share is near 15 %, and the choice is stable per task id."""
        habits = TaskHabits()
        ignored = [key for key in (f"00T{i:015d}" for i in range(5_000)) if habits.ignored(key)]
        assert 0.13 <= len(ignored) / 5_000 <= 0.17
        assert all(TaskHabits().ignored(key) for key in ignored)

    def test_holidays_leave_tasks_open_past_a_two_day_sla(self) -> None:
        """With the default habits, a share of tasks is still not started after two days."""
        crm = _tasks_only(1_000, 2, TaskHabits())
        untouched = sum(1 for status in crm.tasks.values() if status == "Not Started")
        assert untouched >= 300  # ~15 % away, plus a quarter of the rest (0.5 ** 2): ~360


class TestActivitySummary:
    def test_summaries_add_up_field_by_field(self) -> None:
        """`+` sums each count, so both CRMs' activity reads as one summary."""
        total = ActivitySummary(1, 2, 3, 4, 5) + ActivitySummary(10, 20, 30, 40, 50)
        assert total == ActivitySummary(11, 22, 33, 44, 55)
        assert total.to_dict() == {
            "cases_opened": 11,
            "cases_closed": 22,
            "onboardings_completed": 33,
            "tasks_started": 44,
            "tasks_completed": 55,
            "tasks_waiting": 0,
            "tasks_deferred": 0,
            "tasks_reassigned": 0,
            "tasks_deleted": 0,
            "deals_closed": 0,
            "deal_contacts_added": 0,
        }


class WorkflowCrm(MemoryCrm):
    """A CRM with HubSpot's task states, deletion, hand-over, and renewal deals."""

    def __init__(self) -> None:
        super().__init__(contacts=100, open_cases=0, onboarding=0, tasks=60)
        self.handovers = 0
        self.deals = {f"d{i}": START.date() + timedelta(days=i) for i in range(20)}
        self.deal_contacts: dict[str, int] = {}

    def open_tasks(self) -> list[OpenTask]:
        return [
            OpenTask(key, self.opened, status in ("In Progress", "Waiting"))
            for key, status in self.tasks.items()
            if status not in ("Completed", "Deleted")
        ]

    def start_task(self, task_id: str, at: datetime) -> None:
        assert self.tasks[task_id] in ("Not Started", "Deferred")
        self.tasks[task_id] = "In Progress"

    def complete_task(self, task_id: str, at: datetime) -> None:
        assert self.tasks[task_id] in ("In Progress", "Waiting")
        self.tasks[task_id] = "Completed"

    def wait_on_task(self, task_id: str, at: datetime) -> None:
        self.tasks[task_id] = "Waiting"

    def defer_task(self, task_id: str, at: datetime) -> None:
        self.tasks[task_id] = "Deferred"

    def reassign_task(self, task_id: str, at: datetime) -> None:
        assert self.tasks[task_id] in ("Not Started", "Deferred"), "only untouched tasks move"
        self.handovers += 1

    def delete_task(self, task_id: str, at: datetime) -> None:
        self.tasks[task_id] = "Deleted"

    def open_deals(self) -> list[OpenDeal]:
        return [OpenDeal(key, day) for key, day in self.deals.items()]

    def close_deal(self, deal_id: str, won: bool, at: datetime) -> None:
        assert self.deals[deal_id] - timedelta(days=14) <= at.date()
        del self.deals[deal_id]

    def add_deal_contact(self, deal_id: str, at: datetime) -> None:
        self.deal_contacts[deal_id] = self.deal_contacts.get(deal_id, 0) + 1


class TestTaskWorkflow:
    def test_a_crm_with_the_states_sees_every_move(self) -> None:
        """Reps wait, defer, hand over and delete tasks, and close deals near their date."""
        crm = WorkflowCrm()
        habits = TaskHabits(defer_per_day=0.1, reassign_per_day=0.1, delete_per_day=0.05)
        summary = simulate(crm, random.Random(4), START, START + timedelta(days=20), habits)
        assert summary.tasks_waiting > 0
        assert summary.tasks_waiting <= summary.tasks_started
        assert summary.tasks_deferred > 0
        assert summary.tasks_reassigned == crm.handovers > 0
        assert summary.tasks_deleted == sum(s == "Deleted" for s in crm.tasks.values())
        assert summary.deals_closed == 20 - len(crm.deals) > 0

    def test_a_crm_without_them_sees_starts_and_completions_only(self) -> None:
        """Where the CRM has no such states, nothing but starts and completions happens."""
        _, summary = _month(3)
        assert summary.tasks_waiting == summary.tasks_deferred == 0
        assert summary.tasks_reassigned == summary.tasks_deleted == summary.deals_closed == 0
