"""Whether an answer praises or complains about a theme it cites.

Derived from the score's category for now: the one place to change when reason tags carry a
polarity of their own (a promoter can complain about price; the tagger will know).
"""

from enum import StrEnum

from worker.domain import Category


class Polarity(StrEnum):
    """What a quote says about its theme."""

    PRAISE = "praise"
    MIXED = "mixed"
    COMPLAINT = "complaint"


_BY_CATEGORY = {
    Category.PROMOTER: Polarity.PRAISE,
    Category.PASSIVE: Polarity.MIXED,
    Category.DETRACTOR: Polarity.COMPLAINT,
}


def polarity(category: Category, tag: str) -> Polarity:
    """The polarity of an answer of `category` citing `tag` (the tag is not used yet)."""
    return _BY_CATEGORY[category]
