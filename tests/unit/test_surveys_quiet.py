"""Quiet hours at send time, in the contact's own zone."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from worker.config.survey import QuietHours
from worker.surveys.quiet import next_allowed

TOKYO = ZoneInfo("Asia/Tokyo")
QUIET = QuietHours(holidays=("2025-06-04",))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(datetime(2025, 6, 2, 1, 0, tzinfo=UTC), "2025-06-02 01:00", id="mon-10h-open"),
        pytest.param(datetime(2025, 6, 2, 12, 0, tzinfo=UTC), "2025-06-02 23:00", id="mon-21h"),
        pytest.param(datetime(2025, 6, 2, 20, 0, tzinfo=UTC), "2025-06-02 23:00", id="tue-05h"),
        pytest.param(datetime(2025, 6, 6, 12, 0, tzinfo=UTC), "2025-06-08 23:00", id="fri-night"),
        pytest.param(datetime(2025, 6, 3, 12, 0, tzinfo=UTC), "2025-06-04 23:00", id="holiday"),
    ],
)
def test_next_allowed(now: datetime, expected: str) -> None:
    """Open hours send now; nights, weekends and holidays wait for 08:00 local on a workday."""
    assert next_allowed(QUIET, TOKYO, now).strftime("%Y-%m-%d %H:%M") == expected
