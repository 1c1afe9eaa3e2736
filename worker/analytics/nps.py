"""Exact NPS arithmetic: categories, the score, its standard error, interval and comparisons.

NPS is reported in points (-100..100). Each answer is a draw from a three-way multinomial
(promoter +1, passive 0, detractor -1), so the variance of one answer's value is
p_pro + p_det - (p_pro - p_det)^2 and the standard error of the mean is sqrt(that / n).
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from worker.domain import Category

Z_95 = 1.959963984540054
"""Two-sided 95% quantile of the standard normal distribution."""

SIGNIFICANCE = 0.05
"""A difference whose two-sided p-value is below this is called more than noise."""


@dataclass(frozen=True, slots=True)
class Tally:
    """How many answers fell in each category."""

    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def n(self) -> int:
        """All answers counted."""
        return self.promoters + self.passives + self.detractors

    def __add__(self, other: "Tally") -> "Tally":
        return Tally(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )

    def __sub__(self, other: "Tally") -> "Tally":
        return Tally(
            self.promoters - other.promoters,
            self.passives - other.passives,
            self.detractors - other.detractors,
        )

    @classmethod
    def of_scores(cls, scores: Iterable[int]) -> "Tally":
        """Count 0-10 scores by category."""
        counts = dict.fromkeys(Category, 0)
        for score in scores:
            counts[Category.of_score(score)] += 1
        return cls(counts[Category.PROMOTER], counts[Category.PASSIVE], counts[Category.DETRACTOR])


@dataclass(frozen=True, slots=True)
class Estimate:
    """An NPS with its uncertainty, all in points; `low`/`high` bound the 95% interval."""

    n: int
    nps: float
    standard_error: float
    low: float
    high: float
    promoter_share: float
    detractor_share: float


def estimate(tally: Tally) -> Estimate | None:
    """NPS = %promoters - %detractors with its 95% interval; None without any answer.

    The interval is the normal approximation clipped to -100..100; with all answers in one
    category the standard error is 0, which is exact for the sample but says little: the
    minimum-sample threshold guards the report against such small slices.
    """
    n = tally.n
    if n == 0:
        return None
    p_pro = tally.promoters / n
    p_det = tally.detractors / n
    score = p_pro - p_det
    variance = max(p_pro + p_det - score * score, 0.0)
    error = math.sqrt(variance / n)
    return Estimate(
        n=n,
        nps=100 * score,
        standard_error=100 * error,
        low=max(-100.0, 100 * (score - Z_95 * error)),
        high=min(100.0, 100 * (score + Z_95 * error)),
        promoter_share=100 * p_pro,
        detractor_share=100 * p_det,
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """Whether `after` differs from `before` by more than noise (two independent samples)."""

    difference: float
    standard_error: float
    z: float
    p_value: float
    significant: bool
    """True when the two-sided p-value is below `SIGNIFICANCE`."""


def compare(before: Estimate, after: Estimate) -> Comparison:
    """z test on `after.nps - before.nps`: the standard errors of independent samples add.

    With both standard errors 0, an equal pair has p = 1 and an unequal pair p = 0.
    """
    difference = after.nps - before.nps
    error = math.hypot(before.standard_error, after.standard_error)
    if error == 0:
        z = 0.0 if difference == 0 else math.copysign(math.inf, difference)
        p_value = float(difference == 0)
    else:
        z = difference / error
        p_value = math.erfc(abs(z) / math.sqrt(2))
    return Comparison(difference, error, z, p_value, p_value < SIGNIFICANCE)


def shrunk(tally: Tally, prior: Tally, weight: float) -> Estimate | None:
    """The NPS of `tally` pulled toward `prior`'s mix by `weight` pseudo-answers.

    The posterior of a Dirichlet prior with mean `prior`'s category shares and `weight` answers
    of mass: its mean share per category is (count + weight x prior share) / (n + weight), and
    the variance of promoter share minus detractor share is
    (m_pro + m_det - (m_pro - m_det)^2) / (n + weight + 1). A handful of answers moves the
    estimate a little and leaves a wide interval; hundreds move it to their own mix. Never has
    a zero standard error, unlike `estimate` on a one-category sample. None when `prior` is empty
    or when there is nothing to estimate from (no answer and no prior weight).
    """
    mass = tally.n + weight
    if prior.n == 0 or mass == 0:
        return None
    m_pro = (tally.promoters + weight * prior.promoters / prior.n) / mass
    m_det = (tally.detractors + weight * prior.detractors / prior.n) / mass
    score = m_pro - m_det
    error = math.sqrt(max(m_pro + m_det - score * score, 0.0) / (mass + 1))
    return Estimate(
        n=tally.n,
        nps=100 * score,
        standard_error=100 * error,
        low=max(-100.0, 100 * (score - Z_95 * error)),
        high=min(100.0, 100 * (score + Z_95 * error)),
        promoter_share=100 * m_pro,
        detractor_share=100 * m_det,
    )
