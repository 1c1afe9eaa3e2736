"""The HubSpot pull's windowing: keyset pages past the search cap, id mode, cursors, resume."""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.sync.base import Cursor
from worker.sync.hubspot.windows import (
    MAX_VALUES,
    PAGE_SIZE,
    TICK,
    Answer,
    Window,
    advance,
    epoch_ms,
    next_windows,
    start_windows,
    walk,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(minutes=5)
LATER = T0 + timedelta(days=1)


@dataclass(frozen=True)
class Rec:
    """A search result with just what the walk reads."""

    id: str
    modified_at: datetime


class FakeSearch:
    """CRM search semantics: filters, one ascending sort, 200 a page, ties in arbitrary order,
    and `paging.next` only when the query matched more than the page."""

    def __init__(self, records: Sequence[Rec], seed: int = 0, now: datetime | None = None) -> None:
        self.records = list(records)
        self.rng = random.Random(seed)
        self.calls = 0
        self.empty_answers = 0
        self.now = now or T0 + timedelta(days=30)
        self.lagging: set[str] = set()

    def __call__(self, window: Window) -> Answer[Rec]:
        """One page for `window`, the server's time of the answer, and whether more matched."""
        self.calls += 1
        hits = self.matches(window)
        self.empty_answers += not hits
        return Answer(hits[:PAGE_SIZE], self.now, len(hits) > PAGE_SIZE)

    def matches(self, window: Window) -> list[Rec]:
        """Everything the query matches, in HubSpot's order, leaving out records the index
        has not caught up with."""
        live = [r for r in self.records if r.id not in self.lagging]
        if window.by_id:
            assert window.after_id is not None
            hits = [
                r for r in live if r.modified_at == window.start and int(r.id) > window.after_id
            ]
            hits.sort(key=lambda r: int(r.id))
            return hits
        skipped = {str(record_id) for record_id in window.read_at_start}
        hits = [
            r
            for r in live
            if window.start is None
            or r.modified_at > window.start
            or (r.modified_at == window.start and r.id not in skipped)
        ]
        self.rng.shuffle(hits)
        hits.sort(key=lambda r: r.modified_at)
        return hits


class NoPagingSearch(FakeSearch):
    """A search whose answers never say whether more matched (`paging.next` always there)."""

    def __call__(self, window: Window) -> Answer[Rec]:
        """The page, as if every query had more."""
        records, answered_at, _ = super().__call__(window)
        return Answer(records, answered_at, True)


def records_at(times: Sequence[datetime], first_id: int = 1000) -> list[Rec]:
    """One record per time, ids ascending."""
    return [Rec(str(first_id + n), at) for n, at in enumerate(times)]


def pull_all(search: FakeSearch, since: Cursor | None = None) -> tuple[list[Rec], list[Cursor]]:
    """Every record and cursor one walk yields."""
    got: list[Rec] = []
    cursors: list[Cursor] = []
    for page, cursor in walk(search, since or Cursor(), LOOKBACK):
        got.extend(page)
        cursors.append(cursor)
    return got, cursors


class TestSearchBody:
    """The request each window sends."""

    def test_time_window_filters_and_sorts_by_modification(self) -> None:
        """A time slice is `>= start`, sorted ascending, 200 a page, mapped properties only."""
        body = Window(T0).search_body("hs_lastmodifieddate", ["name"])
        assert body == {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": epoch_ms(T0),
                        }
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["name"],
            "limit": 200,
        }

    def test_id_window_pins_the_instant_and_sorts_by_id(self) -> None:
        """An id slice is one instant, `hs_object_id > after`, sorted by id."""
        body = Window(T0, after_id=42).search_body("lastmodifieddate", [])
        assert body["filterGroups"][0]["filters"] == [
            {"propertyName": "lastmodifieddate", "operator": "EQ", "value": epoch_ms(T0)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": "42"},
        ]
        assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]

    def test_first_pull_has_no_filter(self) -> None:
        """Without a cursor the whole object is read, oldest first."""
        assert Window(None).search_body("hs_lastmodifieddate", [])["filterGroups"] == []


class TestPlanning:
    """Where the walk starts and how a page moves it on."""

    @pytest.mark.parametrize(
        ("since", "expected"),
        [
            pytest.param(Cursor(), [Window(None)], id="first-pull"),
            pytest.param(Cursor(T0), [Window(T0)], id="from-the-cursor"),
            pytest.param(
                Cursor(T0, "77"),
                [Window(T0, after_id=77), Window(T0 + TICK)],
                id="inside-an-instant",
            ),
        ],
    )
    def test_start(self, since: Cursor, expected: list[Window]) -> None:
        """A cursor inside one instant resumes that instant by id, then time goes on."""
        assert start_windows(since) == expected

    def test_short_page_ends_the_window(self) -> None:
        """Fewer than 200 results: nothing more in this slice."""
        assert next_windows(Window(T0), [(T0, 1)]) == []

    def test_full_page_restarts_at_its_last_time(self) -> None:
        """Keyset paging: the next query starts at the last time seen, minus what was read."""
        page = [(T0 + timedelta(seconds=n // 2), n) for n in range(PAGE_SIZE)]
        assert next_windows(Window(T0), page) == [Window(page[-1][0], read_at_start=(198, 199))]

    def test_full_page_without_a_next_page_ends_the_window(self) -> None:
        """No `paging.next`: the query matched exactly this page, so no search for an empty one."""
        page = [(T0 + timedelta(seconds=n), n) for n in range(PAGE_SIZE)]
        assert next_windows(Window(T0), page, more=False) == []
        assert next_windows(Window(T0, after_id=0), page, more=False) == []

    def test_more_than_100_read_at_the_last_time_leave_out_100(self) -> None:
        """`NOT_IN` takes 100 values: 100 of the tail are left out, the rest re-read (and
        dropped as duplicates)."""
        page = [(T0, 1), *[(T0 + TICK, n) for n in range(2, PAGE_SIZE + 1)]]
        read = tuple(range(PAGE_SIZE + 1 - MAX_VALUES, PAGE_SIZE + 1))
        assert next_windows(Window(T0), page) == [Window(T0 + TICK, read_at_start=read)]

    def test_window_leaving_out_what_was_read(self) -> None:
        """`> t` OR (`= t` AND id NOT_IN read): the two filter groups HubSpot ORs."""
        body = Window(T0, read_at_start=(7, 9)).search_body("lastmodifieddate", [])
        assert body["filterGroups"] == [
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GT", "value": epoch_ms(T0)}
                ]
            },
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "EQ", "value": epoch_ms(T0)},
                    {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": ["7", "9"]},
                ]
            },
        ]

    def test_full_page_of_one_instant_switches_to_ids(self) -> None:
        """200 records at one time: walk that instant by id, then go on just after it."""
        page = [(T0, n) for n in range(PAGE_SIZE)]
        assert next_windows(Window(T0), page) == [Window(T0, after_id=0), Window(T0 + TICK)]

    def test_full_id_page_continues_after_its_last_id(self) -> None:
        """Id mode pages on by `hs_object_id`."""
        page = [(T0, n) for n in range(5, 5 + PAGE_SIZE)]
        assert next_windows(Window(T0, after_id=4), page) == [Window(T0, after_id=4 + PAGE_SIZE)]

    @pytest.mark.parametrize(
        ("since", "window", "last", "horizon", "expected"),
        [
            pytest.param(Cursor(), Window(None), (T0, 5), LATER, Cursor(T0), id="from-nothing"),
            pytest.param(
                Cursor(T0), Window(T0), (T0 - TICK, 5), LATER, Cursor(T0), id="never-back"
            ),
            pytest.param(
                Cursor(T0, "9"), Window(T0), (T0, 5), LATER, Cursor(T0, "9"), id="keeps-its-id"
            ),
            pytest.param(
                Cursor(T0), Window(T0, after_id=0), (T0, 5), LATER, Cursor(T0, "5"), id="id-mode"
            ),
            pytest.param(
                Cursor(T0, "5"),
                Window(T0 + TICK),
                (T0 + TICK, 1),
                LATER,
                Cursor(T0 + TICK),
                id="past-the-instant",
            ),
            pytest.param(
                Cursor(),
                Window(None),
                (T0, 5),
                T0 - LOOKBACK,
                Cursor(T0 - LOOKBACK),
                id="stops-at-the-horizon",
            ),
        ],
    )
    def test_advance(
        self,
        since: Cursor,
        window: Window,
        last: tuple[datetime, int],
        horizon: datetime,
        expected: Cursor,
    ) -> None:
        """The cursor moves forward only, carries an id only in id mode, and trusts the index
        only up to its horizon."""
        assert advance(since, window, last, horizon) == expected


class TestWalk:
    """Whole pulls over a search engine with HubSpot's semantics."""

    def test_more_than_the_cap_in_one_instant(self) -> None:
        """12,000 records sharing a millisecond are all read once, with no query past the cap."""
        burst = records_at([T0] * 12_000)
        later = records_at([T0 + timedelta(seconds=n) for n in range(1, 301)], first_id=50_000)
        search = FakeSearch([*burst, *later])
        got, cursors = pull_all(search)
        assert sorted(int(r.id) for r in got) == sorted(int(r.id) for r in search.records)
        assert len(got) == len(search.records)
        assert cursors[-1] == Cursor(later[-1].modified_at)
        assert search.calls <= 1.05 * (len(search.records) / PAGE_SIZE) + 3

    @pytest.mark.parametrize(
        "per_instant",
        [pytest.param(1, id="distinct-times"), pytest.param(100, id="batch-write-ties")],
    )
    def test_calls_stay_at_the_floor(self, per_instant: int) -> None:
        """Pages do not overlap, even when a batch write stamped 100 records alike."""
        times = [T0 + timedelta(seconds=n // per_instant) for n in range(10_000)]
        search = FakeSearch(records_at(times))
        got, _ = pull_all(search)
        assert len(got) == 10_000
        assert search.calls == 10_000 / PAGE_SIZE
        assert search.empty_answers == 0

    @pytest.mark.parametrize("count", [PAGE_SIZE, 3 * PAGE_SIZE, 3 * PAGE_SIZE + 7])
    def test_no_search_for_an_empty_last_page(self, count: int) -> None:
        """The last search is the last page, also when the records fill whole pages exactly."""
        search = FakeSearch(records_at([T0 + timedelta(seconds=n) for n in range(count)]))
        got, _ = pull_all(search)
        assert len(got) == count
        assert search.calls == -(-count // PAGE_SIZE)
        assert search.empty_answers == 0

    def test_answers_without_paging_cost_one_empty_search(self) -> None:
        """Answers that never say the query is exhausted still end, on the first short page."""
        search = NoPagingSearch(records_at([T0 + timedelta(seconds=n) for n in range(400)]))
        got, _ = pull_all(search)
        assert len(got) == 400
        assert (search.calls, search.empty_answers) == (3, 1)

    def test_an_instant_past_100_records_re_reads_only_the_rest(self) -> None:
        """150 records stamped alike at the end of a page: 100 are left out by id, 50 read
        again; the pull stays within its 3 pages (re-reading all 150 would take a 4th)."""
        times = [T0 + timedelta(seconds=n) for n in range(50)]
        times += [T0 + timedelta(seconds=50)] * 150
        times += [T0 + timedelta(seconds=51 + n) for n in range(350)]
        search = FakeSearch(records_at(times))
        got, _ = pull_all(search)
        assert len(got) == len({r.id for r in got}) == 550
        assert search.calls == 3

    def test_quiet_portal_costs_one_search(self) -> None:
        """Long after the last change, a pull from the cursor reads one page and re-yields only
        the records at the cursor's own instant."""
        times = [T0 + timedelta(seconds=n) for n in range(600)]
        search = FakeSearch(records_at(times))
        _, cursors = pull_all(search)
        again, _ = pull_all(search, cursors[-1])
        assert search.calls == 3 + 1
        assert [r.modified_at for r in again] == [times[-1]]

    def test_index_lag_is_caught_by_the_next_pull(self) -> None:
        """A change not yet searchable when we read is picked up next time, not lost."""
        times = [T0 + timedelta(seconds=n) for n in range(300)]
        search = FakeSearch(records_at(times), now=times[-1] + timedelta(seconds=2))
        late = search.records[250]
        search.lagging = {late.id}
        first, cursors = pull_all(search)
        assert late not in first
        assert cursors[-1].modified_at is not None
        assert cursors[-1].modified_at <= late.modified_at
        search.lagging = set()
        again, _ = pull_all(search, cursors[-1])
        assert late in again

    @settings(max_examples=60, deadline=None)
    @given(
        offsets=st.lists(st.integers(0, 40), min_size=0, max_size=900),
        stop_after=st.integers(0, 10),
        seed=st.integers(0, 1000),
    )
    def test_resume_from_any_committed_cursor_loses_nothing(
        self, offsets: list[int], stop_after: int, seed: int
    ) -> None:
        """Kill after any page, resume from its cursor: every record arrives, none twice per run.

        Few distinct times force ties, full one-instant pages and id mode.
        """
        search = FakeSearch(records_at([T0 + timedelta(seconds=o) for o in offsets]), seed)
        first: list[Rec] = []
        cursor = Cursor()
        for index, (page, page_cursor) in enumerate(walk(search, Cursor(), LOOKBACK)):
            if index == stop_after:
                break
            first.extend(page)
            cursor = page_cursor
        second, _ = pull_all(search, cursor)
        assert len({r.id for r in second}) == len(second)
        assert {r.id for r in first} | {r.id for r in second} == {r.id for r in search.records}
