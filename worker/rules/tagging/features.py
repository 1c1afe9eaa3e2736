"""A comment as the learned models see it: named binary features from what the rules saw.

The words are the rules' own match keys (English stems with typos read as the keyword they
are near, Japanese Sudachi base forms: tokens.py), so "crashes" and "crashed", 使いやすかった and
使いやすい are one feature. Pairs of neighbouring words within a stretch between punctuation
marks carry a little order ("not slow", "support team"). The rules' answer is stacked on top:
per tag, whether the rules give it, whether any of its phrases was found at all, and whether
the comment rules it out; the model learns how far to trust each. A tag's polarity is judged
from the same features, the words said near the tag and the rules' reading of its polarity,
the last two also as said of that tag (`polarity_features`).
"""

from collections.abc import Sequence
from itertools import pairwise

from worker.rules.tagging.tagger import Evidence

WORDS = "w "
RULES = "rules: "
NAMED = "named: "
RULED_OUT = "ruled out: "
POLARITY = "polarity: "
NEAR = "near: "
STACKED = (RULES, NAMED, RULED_OUT, POLARITY)
"""The prefixes of the features that carry the rules' answer."""
_SOURCES = {
    (True, True): "",
    (True, False): "",
    (False, True): " (comment)",
    (False, False): " (none)",
}
"""Where the rules' polarity of a tag came from, by (its own words toned, the comment toned)."""
NO_TAG = RULES + "-"
"""The feature of a comment the rules give no tag."""


def features(evidence: Evidence) -> list[str]:
    """The comment's features, each once, in a fixed order."""
    found: list[str] = []
    for stretch in evidence.words:
        found += [WORDS + word for word in stretch]
        found += [f"{WORDS}{first} {second}" for first, second in pairwise(stretch)]
    found += [RULES + tag for tag in sorted(evidence.found)]
    found += [NAMED + tag for tag in sorted(evidence.named)]
    found += [RULED_OUT + tag for tag in sorted(evidence.ruled_out)]
    if not evidence.found:
        found.append(NO_TAG)
    return list(dict.fromkeys(found))


def polarity_features(evidence: Evidence, seen: Sequence[str], tag: str, rules: str) -> list[str]:
    """The features of `tag`'s polarity in a comment with features `seen`, given the rules'
    reading of it (praise or complaint, and whether from the tag's own words, the comment's
    tone, or neither): the comment's features, then the words said near the tag and the rules'
    reading, each as it is and again as said of the tag, so the model learns what is praise in
    general and what is praise of this topic."""
    source = _SOURCES[tag in evidence.toned, bool(evidence.tone)]
    local = [*(NEAR + word for word in evidence.near.get(tag, ())), POLARITY + rules + source]
    return [*seen, *local, *(f"{feature} @{tag}" for feature in local)]
