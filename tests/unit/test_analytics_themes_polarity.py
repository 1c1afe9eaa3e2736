"""Themes separate praise from complaints: counts per polarity, and quotes that carry theirs."""

from datetime import UTC, datetime, timedelta

from worker.analytics.dataset import Answer
from worker.analytics.themes import QUOTES_PER_THEME, themes
from worker.domain import Category

AT = datetime(2026, 5, 1, tzinfo=UTC)


def _answer(index: int, score: int, polarity: str | None, comment: str) -> Answer:
    return Answer(
        response_id=index,
        contact_id=index,
        account=None,
        account_crm_id=None,
        program="support_case_closed",
        touchpoint="support",
        channel="email",
        language="en",
        score=score,
        category=Category.of_score(score),
        tags=("support",),
        comment=comment,
        received_at=AT + timedelta(hours=index),
        segments={},
        polarity={"support": polarity} if polarity else {},
    )


def test_a_theme_counts_praise_and_complaints_and_quotes_both() -> None:
    """Four complaints, two praises, one answer from before polarity was kept: the theme counts
    each side, and its quotes lead with complaints but keep one praise, each marked."""
    answers = [
        *(_answer(i, 2, "complaint", f"Support never replied ({i}).") for i in range(4)),
        *(_answer(10 + i, 10, "praise", f"Support was lovely ({i}).") for i in range(2)),
        _answer(20, 7, None, "Support, as ever."),
    ]
    (theme,) = themes(
        answers,
        tags=["support"],
        structural=(),
        min_sample=1,
        prior_weight=3,
        names={},
        language="en",
    )
    assert (theme.mentions, theme.praised, theme.complained) == (7, 2, 4)
    assert len(theme.quotes) == QUOTES_PER_THEME
    assert [q.polarity for q in theme.quotes] == ["complaint", "complaint", "praise"]
    assert theme.quotes[-1].text.startswith("Support was lovely")


def test_praise_only_fills_the_quotes() -> None:
    """Without complaints, the quotes are praise."""
    answers = [_answer(i, 9, "praise", f"Great support ({i}).") for i in range(5)]
    (theme,) = themes(
        answers,
        tags=["support"],
        structural=(),
        min_sample=1,
        prior_weight=3,
        names={},
        language="en",
    )
    assert [q.polarity for q in theme.quotes] == ["praise"] * QUOTES_PER_THEME
