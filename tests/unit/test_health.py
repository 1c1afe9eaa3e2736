"""The pure parts of the worker's health: when the daily work was last due, and the backoff
between tries of a failing CRM."""

import datetime as dt

import pytest

from worker.health import backoff, due_at

AT_3 = dt.time(3, 0)
MINUTE = dt.timedelta(minutes=1)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        pytest.param(
            dt.datetime(2026, 5, 4, 2, 59, tzinfo=dt.UTC),
            dt.datetime(2026, 5, 3, 3, 0, tzinfo=dt.UTC),
            id="before-the-hour-yesterday",
        ),
        pytest.param(
            dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC),
            dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC),
            id="at-the-hour-today",
        ),
        pytest.param(
            dt.datetime(2026, 5, 4, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=9))),
            dt.datetime(2026, 5, 4, 3, 0, tzinfo=dt.UTC),
            id="other-zone-read-in-utc",
        ),
    ],
)
def test_due_at_is_the_last_daily_time(now: dt.datetime, due: dt.datetime) -> None:
    """The daily work was last due at the latest `daily_at` (UTC) not after now."""
    assert due_at(now, AT_3) == due


@pytest.mark.parametrize(
    ("failures", "every", "wait"),
    [
        pytest.param(0, 5 * MINUTE, dt.timedelta(0), id="healthy"),
        pytest.param(1, 5 * MINUTE, 5 * MINUTE, id="first-failure-waits-one-interval"),
        pytest.param(3, 5 * MINUTE, 20 * MINUTE, id="doubling"),
        pytest.param(9, 5 * MINUTE, 60 * MINUTE, id="capped-at-an-hour"),
        pytest.param(4, dt.timedelta(hours=6), dt.timedelta(hours=6), id="rare-cycles-cap-at-own"),
        pytest.param(10_000, dt.timedelta(days=1), dt.timedelta(days=1), id="no-overflow"),
    ],
)
def test_backoff_doubles_from_the_cycle_interval_up_to_an_hour(
    failures: int, every: dt.timedelta, wait: dt.timedelta
) -> None:
    """A failing CRM is tried again after the cycle interval, doubled per failure in a row."""
    assert backoff(failures, every) == wait
