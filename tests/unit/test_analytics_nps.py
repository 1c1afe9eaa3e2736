"""NPS math against hand-computed cases: score, standard error, interval, comparison."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.analytics.nps import Tally, compare, estimate


class TestEstimate:
    """NPS = %promoters - %detractors with the multinomial standard error."""

    @pytest.mark.parametrize(
        ("tally", "nps", "error", "low", "high"),
        [
            # p=.5 d=.2: var = .5+.2-.3^2 = .61; se = sqrt(.61/10) = .246982
            pytest.param(Tally(5, 3, 2), 30.0, 24.6982, -18.4076, 78.4076, id="ten-answers"),
            # same shares, n=100: se = sqrt(.0061) = .078102
            pytest.param(Tally(50, 30, 20), 30.0, 7.8102, 14.6924, 45.3076, id="hundred-answers"),
            pytest.param(Tally(1, 0, 0), 100.0, 0.0, 100.0, 100.0, id="one-promoter"),
            pytest.param(Tally(0, 0, 4), -100.0, 0.0, -100.0, -100.0, id="all-detractors"),
            pytest.param(Tally(0, 10, 0), 0.0, 0.0, 0.0, 0.0, id="all-passive"),
            # p=.9 d=.1: var = 1 - .64 = .36; se = .6/sqrt(10) = .189737; high clipped at 100
            pytest.param(Tally(9, 0, 1), 80.0, 18.9737, 42.8124, 100.0, id="clipped-at-100"),
        ],
    )
    def test_hand_computed(
        self, tally: Tally, nps: float, error: float, low: float, high: float
    ) -> None:
        """Score, standard error and the 95% interval match the worked examples."""
        result = estimate(tally)
        assert result is not None
        assert result.nps == pytest.approx(nps)
        assert result.standard_error == pytest.approx(error, abs=1e-4)
        assert (result.low, result.high) == pytest.approx((low, high), abs=1e-3)
        assert result.n == tally.n

    def test_no_answers_no_score(self) -> None:
        """An empty tally has no NPS at all (not 0)."""
        assert estimate(Tally()) is None

    def test_tally_of_scores_uses_the_standard_bands(self) -> None:
        """0-6 detract, 7-8 are passive, 9-10 promote."""
        assert Tally.of_scores([0, 6, 7, 8, 9, 10, 10]) == Tally(3, 2, 2)

    @given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
    def test_interval_brackets_the_score(self, pro: int, pas: int, det: int) -> None:
        """Any tally: -100 <= low <= NPS <= high <= 100."""
        result = estimate(Tally(pro, pas, det))
        if pro + pas + det == 0:
            assert result is None
            return
        assert result is not None
        assert -100 <= result.low <= result.nps <= result.high <= 100


class TestCompare:
    """A z test on the difference of two independent NPS values."""

    @pytest.mark.parametrize(
        ("before", "after", "expected"),
        [
            # se 7.8102 and 6.7082 -> 10.2956; z = 20 / 10.2956
            pytest.param(Tally(50, 30, 20), Tally(60, 30, 10), (20.0, 1.9426, 0.05207, False),
                         id="borderline-noise"),
            # four times the answers halve both errors: z doubles
            pytest.param(Tally(200, 120, 80), Tally(240, 120, 40), (20.0, 3.8852, 0.000102, True),
                         id="same-shift-more-answers"),
            pytest.param(Tally(60, 30, 10), Tally(50, 30, 20), (-20.0, -1.9426, 0.05207, False),
                         id="drop-is-symmetric"),
        ],
    )  # fmt: skip
    def test_hand_computed(
        self, before: Tally, after: Tally, expected: tuple[float, float, float, bool]
    ) -> None:
        """Difference, z, two-sided p-value and the verdict match the worked examples."""
        difference, z, p_value, significant = expected
        first, second = estimate(before), estimate(after)
        assert first is not None
        assert second is not None
        result = compare(first, second)
        assert result.difference == pytest.approx(difference)
        assert result.z == pytest.approx(z, abs=1e-3)
        assert result.p_value == pytest.approx(p_value, rel=1e-2)
        assert result.significant is significant

    def test_zero_error_samples(self) -> None:
        """Two unanimous samples: equal ones are no change, different ones certainly are."""
        promoters, detractors = estimate(Tally(5, 0, 0)), estimate(Tally(0, 0, 5))
        assert promoters is not None
        assert detractors is not None
        same = compare(promoters, promoters)
        assert (same.p_value, same.significant) == (1.0, False)
        moved = compare(promoters, detractors)
        assert moved.significant
        assert moved.z == -math.inf
