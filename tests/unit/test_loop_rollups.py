"""Account roll-ups: true NPS from each contact's latest answer in the window, and its trend."""

import datetime as dt

import pytest

from worker.domain import Category
from worker.loop.rollups import rollup_of, tally

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
WINDOW = dt.timedelta(days=180)
P, S, D = Category.PROMOTER, Category.PASSIVE, Category.DETRACTOR


def _days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


@pytest.mark.parametrize(
    ("answers", "nps", "count"),
    [
        pytest.param([], None, 0, id="no answers, no score"),
        pytest.param([(1, P, _days_ago(1))], 100.0, 1, id="one promoter"),
        pytest.param(
            [(1, P, _days_ago(1)), (2, D, _days_ago(2)), (3, S, _days_ago(3))],
            0.0,
            3,
            id="one of each: 33% - 33%",
        ),
        pytest.param(
            [(1, D, _days_ago(30)), (1, P, _days_ago(2))],
            100.0,
            1,
            id="a contact counts once, with the latest answer",
        ),
        pytest.param(
            [(1, P, _days_ago(1)), (2, P, _days_ago(2)), (3, D, _days_ago(3))],
            33.3,
            3,
            id="not an average of scores: 2 promoters, 1 detractor",
        ),
        pytest.param([(1, P, _days_ago(200))], None, 0, id="older than the window"),
    ],
)
def test_rollup_is_true_nps_over_latest_answers(
    answers: list[tuple[int, Category, dt.datetime]], nps: float | None, count: int
) -> None:
    rollup = rollup_of(answers, NOW, WINDOW)
    assert (rollup.nps_score, rollup.response_count) == (nps, count)


def test_trend_compares_with_the_previous_window() -> None:
    answers = [
        (1, D, _days_ago(200)),
        (2, D, _days_ago(250)),
        (3, P, _days_ago(300)),
        (1, P, _days_ago(10)),
        (2, S, _days_ago(20)),
    ]
    rollup = rollup_of(answers, NOW, WINDOW)
    assert rollup.nps_score == 50.0
    assert rollup.nps_trend == 50.0 - round(100 * (1 - 2) / 3, 1)
    assert (rollup.promoters, rollup.passives, rollup.detractors) == (1, 1, 0)
    assert rollup.last_response_at == _days_ago(10)


def test_no_trend_without_a_previous_window() -> None:
    assert rollup_of([(1, P, _days_ago(1))], NOW, WINDOW).nps_trend is None


def test_tally_window_is_half_open() -> None:
    start, end = _days_ago(10), NOW
    counted = tally([(1, P, start), (2, D, end)], start, end)
    assert (counted.promoters, counted.detractors) == (1, 0)
