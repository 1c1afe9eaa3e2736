"""Whether an answer praises or complains about a theme it cites.

The tagger gives each tag of a comment its own polarity (a promoter can complain about price);
answers tagged without one (chips only, or tagged before polarity existed) fall back to the
score's category.
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


def polarity(category: Category, tagged: str | None) -> Polarity:
    """The tagger's polarity for the tag when it gave one, else the one `category` suggests."""
    if tagged in (Polarity.PRAISE, Polarity.COMPLAINT):
        return Polarity(tagged)
    return _BY_CATEGORY[category]
