"""Theme impact at small n: shrunken estimates, their intervals, and the ranking they give.

The statistical test draws seeded samples from a model whose true theme impacts are known
exactly (computed from the model's probabilities, independently of the worker's code) and
checks what a product team relies on: the 95% intervals hold the truth about 95% of the time,
the estimates are closer to the truth than the raw ones, the costliest theme comes out on top,
and a rare but costly theme is ranked rather than hidden.
"""

import random
from datetime import UTC, datetime

import pytest

from worker.analytics.backlog import candidates
from worker.analytics.dataset import Answer
from worker.analytics.nps import Tally, estimate, shrunk
from worker.analytics.themes import Theme, impact, themes
from worker.domain import Category

SHARES = {Category.PROMOTER: 0.40, Category.PASSIVE: 0.30, Category.DETRACTOR: 0.30}
VALUE = {Category.PROMOTER: 1, Category.PASSIVE: 0, Category.DETRACTOR: -1}
CITE = {
    # P(an answer cites the theme | its category): outages are rare and cited by detractors
    "outage": {Category.PROMOTER: 0.002, Category.PASSIVE: 0.01, Category.DETRACTOR: 0.06},
    "price": {Category.PROMOTER: 0.05, Category.PASSIVE: 0.10, Category.DETRACTOR: 0.20},
    "support": {Category.PROMOTER: 0.20, Category.PASSIVE: 0.10, Category.DETRACTOR: 0.12},
    "onboarding": {Category.PROMOTER: 0.03, Category.PASSIVE: 0.05, Category.DETRACTOR: 0.08},
    "usability": {Category.PROMOTER: 0.10, Category.PASSIVE: 0.10, Category.DETRACTOR: 0.10},
    "features": {Category.PROMOTER: 0.25, Category.PASSIVE: 0.08, Category.DETRACTOR: 0.04},
}
WEIGHT = 3.0
NOW = datetime(2026, 3, 30, tzinfo=UTC)


def _true(theme: str) -> tuple[float, float]:
    """The model's exact impact (NPS without minus with, points) and priority of a theme."""
    cite = CITE[theme]
    frequency = sum(SHARES[c] * cite[c] for c in SHARES)
    with_theme = sum(VALUE[c] * SHARES[c] * cite[c] for c in SHARES) / frequency
    without = sum(VALUE[c] * SHARES[c] * (1 - cite[c]) for c in SHARES) / (1 - frequency)
    cost = 100 * (without - with_theme)
    return cost, frequency * cost


def _sample(rng: random.Random, n: int) -> list[tuple[Category, set[str]]]:
    categories = rng.choices(list(SHARES), list(SHARES.values()), k=n)
    return [(c, {t for t in CITE if rng.random() < CITE[t][c]}) for c in categories]


def _tally(categories: list[Category]) -> Tally:
    return Tally(
        categories.count(Category.PROMOTER),
        categories.count(Category.PASSIVE),
        categories.count(Category.DETRACTOR),
    )


def _answers(sample: list[tuple[Category, set[str]]]) -> list[Answer]:
    score = {Category.PROMOTER: 9, Category.PASSIVE: 7, Category.DETRACTOR: 3}
    return [
        Answer(
            response_id=i,
            contact_id=i,
            account=None,
            account_crm_id=None,
            program="p",
            touchpoint="support",
            channel="email",
            language="en",
            score=score[category],
            category=category,
            tags=tuple(sorted(tags)),
            comment=None,
            received_at=NOW,
            segments={},
        )
        for i, (category, tags) in enumerate(sample)
    ]


def _ranked(sample: list[tuple[Category, set[str]]]) -> tuple[Theme, ...]:
    return themes(
        _answers(sample),
        tags=list(CITE),
        structural=(),
        min_sample=30,
        prior_weight=WEIGHT,
        names={},
        language="en",
    )


Run = tuple[list[tuple[Category, set[str]]], tuple[Theme, ...]]


@pytest.fixture(scope="module")
def runs() -> list[Run]:
    """200 seeded samples of 150 answers each, with the themes the worker ranks from them."""
    rng = random.Random(20)
    found = []
    for _ in range(200):
        sample = _sample(rng, 150)
        found.append((sample, _ranked(sample)))
    return found


class TestShrunk:
    """The shrunken estimate sits between a group's own mix and the overall mix."""

    def test_no_answers_is_the_prior(self) -> None:
        """With nothing cited, the estimate is the overall NPS, with a wide interval."""
        overall = Tally(40, 30, 30)
        result = shrunk(Tally(), overall, WEIGHT)
        assert result is not None
        assert result.nps == pytest.approx(10.0)
        assert result.high - result.low > 60

    def test_many_answers_are_their_own_mix(self) -> None:
        """Thousands of answers barely move: the raw estimate is what counts."""
        group = Tally(1000, 1000, 3000)
        result = shrunk(group, Tally(40, 30, 30), WEIGHT)
        raw = estimate(group)
        assert result is not None
        assert raw is not None
        assert result.nps == pytest.approx(raw.nps, abs=0.1)

    def test_three_detractors_are_not_certain(self) -> None:
        """Three detractors: below the overall NPS, but with a non-zero standard error."""
        result = shrunk(Tally(0, 0, 3), Tally(40, 30, 30), WEIGHT)
        assert result is not None
        assert -100 < result.nps < 10
        assert result.standard_error > 10

    def test_no_weight_and_no_answer_has_no_estimate(self) -> None:
        """Without prior weight, an empty group has nothing to estimate from."""
        assert shrunk(Tally(), Tally(1, 1, 1), 0.0) is None


class TestRankingAgainstTheTruth:
    """Seeded samples of 150 answers; the truth comes from the model, not from the worker."""

    def test_intervals_cover_the_true_impact(self, runs: list[Run]) -> None:
        """The 95% interval holds the true impact in at least 90% of themes and samples."""
        inside = total = 0
        for _, ranked in runs:
            for theme in ranked:
                assert theme.impact is not None
                cost, _ = _true(theme.tag)
                inside += theme.impact.low <= cost <= theme.impact.high
                total += 1
        assert inside / total >= 0.90

    def test_shrunken_priorities_are_closer_than_raw_ones(self, runs: list[Run]) -> None:
        """Mean squared error of priority against the truth: lower than with no shrinkage."""
        shrunken = raw = 0.0
        for sample, ranked in runs:
            total = _tally([c for c, _ in sample])
            for theme in ranked:
                _, truth = _true(theme.tag)
                assert theme.priority is not None
                shrunken += (theme.priority - truth) ** 2
                cited = _tally([c for c, tags in sample if theme.tag in tags])
                unshrunk = impact(cited, total, 0.0)
                raw_priority = theme.frequency / 100 * unshrunk.value if unshrunk else 0.0
                raw += (raw_priority - truth) ** 2
        assert shrunken < 0.95 * raw

    def test_the_costliest_theme_comes_first(self, runs: list[Run]) -> None:
        """The theme the model makes costliest is ranked first in at least 80% of samples."""
        costliest = max(CITE, key=lambda t: _true(t)[1])
        first = sum(ranked[0].tag == costliest for _, ranked in runs)
        assert first / len(runs) >= 0.80

    def test_the_ranking_follows_the_true_order(self, runs: list[Run]) -> None:
        """Kendall's tau between estimated and true priorities averages above 0.7."""
        taus = []
        for _, ranked in runs:
            pairs = [(t.priority or 0.0, _true(t.tag)[1]) for t in ranked]
            agree = disagree = 0
            for i, (a, truth_a) in enumerate(pairs):
                for b, truth_b in pairs[i + 1 :]:
                    sign = (a - b) * (truth_a - truth_b)
                    agree += sign > 0
                    disagree += sign < 0
            taus.append((agree - disagree) / (agree + disagree))
        assert sum(taus) / len(taus) > 0.7

    def test_a_rare_costly_theme_is_ranked_and_flagged(self, runs: list[Run]) -> None:
        """Outages, cited a few times: a positive priority when cited, always flagged low n."""
        cited = [next(t for t in ranked if t.tag == "outage") for _, ranked in runs]
        cited = [t for t in cited if t.mentions]
        assert cited
        assert all(t.low_n for t in cited)
        assert sum((t.priority or 0) > 0 for t in cited) / len(cited) >= 0.9


class TestBacklogCandidates:
    """A backlog is never empty while detractors give reasons."""

    def test_costly_themes_in_rank_order(self) -> None:
        """Themes with a positive priority, highest first."""
        sample = [(Category.DETRACTOR, {"outage"})] * 3 + [(Category.PROMOTER, {"features"})] * 20
        sample += [(Category.PASSIVE, set())] * 10
        ranked = _ranked(sample)
        assert [t.tag for t in candidates(ranked)] == ["outage"]

    def test_a_theme_nobody_complained_about_is_no_item(self) -> None:
        """Cited only by passives below the overall NPS: ranked, but not a backlog item."""
        sample = [(Category.PROMOTER, set())] * 20 + [(Category.PASSIVE, {"onboarding"})] * 3
        sample += [(Category.DETRACTOR, {"price"})] * 2 + [(Category.PROMOTER, {"price"})] * 2
        ranked = _ranked(sample)
        onboarding = next(t for t in ranked if t.tag == "onboarding")
        assert onboarding.priority is not None
        assert onboarding.priority > 0
        assert [t.tag for t in candidates(ranked)] == ["price"]

    def test_detractor_themes_when_nothing_costs(self) -> None:
        """Every theme cited mostly in praise: the ones detractors cite still make the list."""
        sample = [(Category.DETRACTOR, set())] * 30
        sample += [(Category.PROMOTER, {"support"})] * 10 + [(Category.DETRACTOR, {"support"})]
        sample += [(Category.PROMOTER, {"price"})] * 5 + [(Category.DETRACTOR, {"price"})] * 2
        ranked = _ranked(sample)
        assert all((t.priority or 0) <= 0 for t in ranked)
        assert [t.tag for t in candidates(ranked)] == ["price", "support"]
