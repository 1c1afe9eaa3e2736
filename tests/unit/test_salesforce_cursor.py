"""The Salesforce cursor rules: what a committed cursor may claim, given the look-back."""

from datetime import UTC, datetime, timedelta

import pytest

from worker.sync.base import Cursor
from worker.sync.salesforce.soql import after, capped, horizon

T = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


class TestHorizon:
    @pytest.mark.parametrize(
        ("read_at", "lookback", "expected"),
        [
            pytest.param(T, timedelta(minutes=5), T - timedelta(minutes=5) - SECOND, id="5m"),
            pytest.param(T, timedelta(0), T - SECOND, id="no-look-back"),
            pytest.param(
                T + timedelta(milliseconds=700),
                timedelta(minutes=5),
                T - timedelta(minutes=5) - SECOND,
                id="fraction-floored",
            ),
        ],
    )
    def test_a_read_vouches_for_stamps_before_its_look_back(
        self, read_at: datetime, lookback: timedelta, expected: datetime
    ) -> None:
        """Whole seconds strictly before `read_at - lookback`: `> t` then re-reads the rest."""
        assert horizon(read_at, lookback) == expected


class TestCapped:
    LIMIT = T - timedelta(minutes=5)

    @pytest.mark.parametrize(
        ("reached", "since", "expected"),
        [
            pytest.param(
                Cursor(LIMIT - SECOND, "003A"), Cursor(), Cursor(LIMIT - SECOND, "003A"), id="old"
            ),
            pytest.param(Cursor(LIMIT, "003A"), Cursor(), Cursor(LIMIT, "003A"), id="at-limit"),
            pytest.param(Cursor(T, "003B"), Cursor(), Cursor(LIMIT, None), id="capped"),
            pytest.param(
                Cursor(T, "003B"),
                Cursor(LIMIT + SECOND, "003A"),
                Cursor(LIMIT + SECOND, "003A"),
                id="never-behind-since",
            ),
            pytest.param(
                Cursor(T, "003B"), Cursor(LIMIT, "003Z"), Cursor(LIMIT, None), id="covers-ties"
            ),
            pytest.param(Cursor(), Cursor(), Cursor(), id="nothing-read"),
        ],
    )
    def test_a_cursor_claims_nothing_newer_than_the_limit(
        self, reached: Cursor, since: Cursor, expected: Cursor
    ) -> None:
        """Past the limit the cursor falls back to (limit, all ids), but never behind `since`."""
        assert capped(reached, since, self.LIMIT) == expected

    def test_a_capped_cursor_reads_from_just_after_the_limit(self) -> None:
        """Cursor(t, None) selects SystemModstamp > t: the look-back window comes again."""
        assert after(Cursor(self.LIMIT, None)) == "SystemModstamp > 2026-03-02T08:55:00Z"
