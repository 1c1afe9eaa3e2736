"""Reason themes: how often each is cited, what it costs in NPS, its trend and its quotes.

A theme's impact is the NPS of answers without it minus the NPS of answers citing it, each
pulled toward the overall mix by `prior_weight` pseudo-answers (`nps.shrunk`), so a theme
cited three times by angry customers is ranked, with the wide interval three answers deserve,
instead of hidden or over-trusted. Its priority is frequency x impact: the NPS points the
theme costs the whole program. Every theme is ranked; those cited fewer than `min_sample`
times are flagged `low_n` and their raw NPS with and without the theme is not shown.

Each answer presents a tag as praise or as a complaint (worker/rules/tagging): a theme counts
both, and its quotes carry theirs, complaints first, with one praise kept when there is one.
"""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from worker.analytics.dataset import Answer
from worker.analytics.nps import Z_95, Estimate, Tally, shrunk
from worker.analytics.polarity import Polarity, polarity
from worker.analytics.quotes import quotable
from worker.analytics.slices import Counts, scored
from worker.domain import Category

QUOTES_PER_THEME = 3
PRAISE = "praise"
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class ThemeMonth:
    """One month of a theme: how many answers cited it and their share of the month's answers."""

    month: str
    mentions: int
    share: float


@dataclass(frozen=True, slots=True)
class Impact:
    """A shrunken NPS difference in points with its 95% interval."""

    value: float
    standard_error: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """Whether the interval leaves zero out."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True, slots=True)
class Quote:
    """A scrubbed comment citing a theme, with the score it came with and what it says."""

    text: str
    score: int
    polarity: Polarity


@dataclass(frozen=True, slots=True)
class Theme:
    """One reason tag's weight in the period; shares and NPS values are in points (0-100).

    `with_tag`/`without_tag` are the raw estimates (None below the minimum sample); `impact`
    and `priority` are shrunken and given for every theme once the period has answers.
    """

    tag: str
    structural: bool
    mentions: int
    detractors: int
    praised: int
    """Answers presenting the theme as praise."""
    complained: int
    """Answers complaining of it (requests for what is missing included)."""
    frequency: float
    detractor_share: float
    low_n: bool
    with_tag: Estimate | None
    without_tag: Estimate | None
    impact: Impact | None
    priority: float | None
    priority_low: float | None
    priority_high: float | None
    focus: str | None
    trend: tuple[ThemeMonth, ...]
    quotes: tuple[Quote, ...]


def themes(
    answers: Sequence[Answer],
    *,
    tags: Sequence[str],
    structural: Collection[str],
    min_sample: int,
    prior_weight: float,
    names: Mapping[int, tuple[str, ...]],
    language: str,
) -> tuple[Theme, ...]:
    """Every configured tag (and any other tag found), highest priority first."""
    overall: Counts[str] = Counts()
    cited: Counts[str] = Counts()
    monthly: dict[tuple[str, str], int] = defaultdict(int)
    month_totals: dict[str, int] = defaultdict(int)
    detractors_by_touchpoint: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    commented: dict[str, list[Answer]] = defaultdict(list)
    polarities: dict[tuple[str, str], int] = defaultdict(int)
    for answer in answers:
        overall.add("", answer.category)
        month_totals[answer.month] += 1
        for tag in answer.tags:
            cited.add(tag, answer.category)
            polarities[tag, answer.polarity.get(tag, "")] += 1
            monthly[tag, answer.month] += 1
            if answer.category is Category.DETRACTOR:
                detractors_by_touchpoint[tag][answer.touchpoint] += 1
            if answer.comment and answer.comment.strip():
                commented[tag].append(answer)
    total = overall.tally("")
    months = sorted(month_totals)
    found = list(dict.fromkeys([*tags, *cited]))
    ranked = [
        _theme(
            tag,
            cited.tally(tag),
            total,
            structural=tag in structural,
            min_sample=min_sample,
            prior_weight=prior_weight,
            stance=(polarities[tag, PRAISE], polarities[tag, COMPLAINT]),
            focus=_focus(detractors_by_touchpoint.get(tag, {})),
            trend=tuple(
                ThemeMonth(month, monthly[tag, month], 100 * monthly[tag, month] / count)
                for month in months
                if (count := month_totals[month])
            ),
            quotes=_quotes(tag, commented.get(tag, []), names, language),
        )
        for tag in found
    ]
    return tuple(sorted(ranked, key=rank_key))


def rank_key(theme: Theme) -> tuple[bool, float, int, str]:
    """Highest priority first; a tie goes to the more cited theme, then to the tag id."""
    return (theme.priority is None, -(theme.priority or 0.0), -theme.mentions, theme.tag)


def impact(with_tag: Tally, total: Tally, prior_weight: float) -> Impact | None:
    """NPS without the theme minus NPS with it, both shrunk toward the overall mix."""
    cited = shrunk(with_tag, total, prior_weight)
    rest = shrunk(total - with_tag, total, prior_weight)
    if cited is None or rest is None:
        return None
    value = rest.nps - cited.nps
    error = (rest.standard_error**2 + cited.standard_error**2) ** 0.5
    return Impact(value, error, value - Z_95 * error, value + Z_95 * error)


def _theme(
    tag: str,
    with_tag: Tally,
    total: Tally,
    *,
    structural: bool,
    min_sample: int,
    prior_weight: float,
    stance: tuple[int, int],
    focus: str | None,
    trend: tuple[ThemeMonth, ...],
    quotes: tuple[Quote, ...],
) -> Theme:
    frequency = 100 * with_tag.n / total.n if total.n else 0.0
    cost = impact(with_tag, total, prior_weight)
    share = frequency / 100
    return Theme(
        tag=tag,
        structural=structural,
        mentions=with_tag.n,
        detractors=with_tag.detractors,
        praised=stance[0],
        complained=stance[1],
        frequency=frequency,
        detractor_share=100 * with_tag.detractors / with_tag.n if with_tag.n else 0.0,
        low_n=with_tag.n < min_sample,
        with_tag=scored(with_tag, min_sample),
        without_tag=scored(total - with_tag, min_sample),
        impact=cost,
        priority=None if cost is None else share * cost.value,
        priority_low=None if cost is None else share * cost.low,
        priority_high=None if cost is None else share * cost.high,
        focus=focus,
        trend=trend,
        quotes=quotes,
    )


def _focus(detractors: Mapping[str, int]) -> str | None:
    """The touchpoint where most detractors cite the theme."""
    return max(sorted(detractors), key=lambda t: detractors[t]) if detractors else None


def _quotes(
    tag: str, answers: Sequence[Answer], names: Mapping[int, tuple[str, ...]], language: str
) -> tuple[Quote, ...]:
    """Distinct comments, scrubbed: complaints first, then one praise when there is one;
    within each, detractors first, the report's language first, newest first."""
    ordered = sorted(
        answers,
        key=lambda a: (
            a.polarity.get(tag) == PRAISE,
            a.category is not Category.DETRACTOR,
            a.language != language,
            -a.received_at.timestamp(),
            -a.response_id,
        ),
    )
    quotes: dict[str, Quote] = {}
    for answer in ordered:
        text = quotable(answer.comment or "", names.get(answer.contact_id, ()))
        tagged = answer.polarity.get(tag)
        quotes.setdefault(text, Quote(text, answer.score, polarity(answer.category, tagged)))
    complaints = [q for q in quotes.values() if q.polarity is not Polarity.PRAISE]
    praise = [q for q in quotes.values() if q.polarity is Polarity.PRAISE]
    room = QUOTES_PER_THEME - min(len(praise), 1)
    chosen = complaints[:room]
    return tuple(chosen + praise[: QUOTES_PER_THEME - len(chosen)])
