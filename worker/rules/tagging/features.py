"""A comment as the learned model sees it: named binary features from what the rules saw.

The words are the rules' own match keys (English stems with typos read as the keyword they
are near, Japanese Sudachi base forms: tokens.py), so "crashes" and "crashed", 使いやすかった and
使いやすい are one feature. Pairs of neighbouring words within a stretch between punctuation
marks carry a little order ("not slow", "support team"). The rules' answer is stacked on top:
per tag, whether the rules give it, whether any of its phrases was found at all, and whether
the comment rules it out; the model learns how far to trust each.
"""

from itertools import pairwise

from worker.rules.tagging.tagger import Evidence

WORDS = "w "
RULES = "rules: "
NAMED = "named: "
RULED_OUT = "ruled out: "
STACKED = (RULES, NAMED, RULED_OUT)
"""The prefixes of the features that carry the rules' answer."""
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
