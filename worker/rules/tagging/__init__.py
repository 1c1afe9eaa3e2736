"""Reason tagging: which taxonomy tags a comment gives as reasons, each praised or complained of.

`Tagger(config.tags, learned=...).tag(comment, language, chosen, score) -> TagResult`: the
rules (tagger.py: the convention and how a comment is read) with a learned second opinion per
tag (combined.py).
"""

from worker.rules.tagging import corpus, training
from worker.rules.tagging.combined import Tagger
from worker.rules.tagging.tagger import Match, Opinion, Polarity, RuleTagger, TagResult
from worker.rules.tagging.text import SUMMARY_CHARS, detect_language, summarize

__all__ = [
    "SUMMARY_CHARS",
    "Match",
    "Opinion",
    "Polarity",
    "RuleTagger",
    "TagResult",
    "Tagger",
    "corpus",
    "detect_language",
    "summarize",
    "training",
]
