"""Reason themes: how often each is cited, what it costs in NPS, its trend and its quotes.

A theme's impact is the NPS of answers without it minus the NPS of answers with it; its
priority is frequency x impact, the NPS points the theme costs the whole program. Both are
given only for themes cited at least `min_sample` times, like any other slice.

Each answer presents a tag as praise or as a complaint (worker/rules/tagging): a theme counts
both, and its quotes carry theirs, complaints first, with one praise kept when there is one.
"""

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from worker.analytics.dataset import Answer
from worker.analytics.nps import Comparison, Estimate, Tally, compare
from worker.analytics.quotes import quotable
from worker.analytics.slices import Counts, scored
from worker.domain import Category

QUOTES_PER_THEME = 3
PRAISE = "praise"
COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class Quote:
    """A scrubbed comment citing the theme, and whether it praises or complains of it."""

    text: str
    polarity: str | None


@dataclass(frozen=True, slots=True)
class ThemeMonth:
    """One month of a theme: how many answers cited it and their share of the month's answers."""

    month: str
    mentions: int
    share: float


@dataclass(frozen=True, slots=True)
class Theme:
    """One reason tag's weight in the period; shares and NPS values are in points (0-100)."""

    tag: str
    structural: bool
    mentions: int
    praised: int
    """Answers presenting the theme as praise."""
    complained: int
    """Answers complaining of it (requests for what is missing included)."""
    frequency: float
    detractor_share: float
    with_tag: Estimate | None
    without_tag: Estimate | None
    difference: Comparison | None
    impact: float | None
    priority: float | None
    focus: str | None
    trend: tuple[ThemeMonth, ...]
    quotes: tuple[Quote, ...]


def themes(
    answers: Sequence[Answer],
    *,
    tags: Sequence[str],
    structural: Collection[str],
    min_sample: int,
    names: Mapping[int, tuple[str, ...]],
    language: str,
) -> tuple[Theme, ...]:
    """Every configured tag (and any other tag found) ranked by priority, unscored ones last."""
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
            polarity=(polarities[tag, PRAISE], polarities[tag, COMPLAINT]),
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
    return tuple(
        sorted(ranked, key=lambda t: (t.priority is None, -(t.priority or 0.0), -t.mentions))
    )


def _theme(
    tag: str,
    with_tag: Tally,
    total: Tally,
    *,
    structural: bool,
    min_sample: int,
    polarity: tuple[int, int],
    focus: str | None,
    trend: tuple[ThemeMonth, ...],
    quotes: tuple[Quote, ...],
) -> Theme:
    without = total - with_tag
    with_estimate = scored(with_tag, min_sample)
    without_estimate = scored(without, min_sample)
    frequency = 100 * with_tag.n / total.n if total.n else 0.0
    impact = priority = difference = None
    if with_estimate is not None and without_estimate is not None:
        difference = compare(without_estimate, with_estimate)
        impact = without_estimate.nps - with_estimate.nps
        priority = frequency / 100 * impact
    return Theme(
        tag=tag,
        structural=structural,
        mentions=with_tag.n,
        praised=polarity[0],
        complained=polarity[1],
        frequency=frequency,
        detractor_share=100 * with_tag.detractors / with_tag.n if with_tag.n else 0.0,
        with_tag=with_estimate,
        without_tag=without_estimate,
        difference=difference,
        impact=impact,
        priority=priority,
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
        quotes.setdefault(text, Quote(text, answer.polarity.get(tag)))
    complaints = [q for q in quotes.values() if q.polarity != PRAISE]
    praise = [q for q in quotes.values() if q.polarity == PRAISE]
    room = QUOTES_PER_THEME - min(len(praise), 1)
    chosen = complaints[:room]
    return tuple(chosen + praise[: QUOTES_PER_THEME - len(chosen)])
