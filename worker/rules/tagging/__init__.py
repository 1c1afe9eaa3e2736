"""Reason tagging: which taxonomy tags a comment gives as reasons, each praised or complained of.

`Tagger(config.tags).tag(comment, language, chosen, score) -> TagResult`; the convention and how
a comment is read are described in worker/rules/tagging/tagger.py.
"""

from worker.rules.tagging.tagger import Match, Polarity, Tagger, TagResult
from worker.rules.tagging.text import SUMMARY_CHARS, detect_language, summarize

__all__ = [
    "SUMMARY_CHARS",
    "Match",
    "Polarity",
    "TagResult",
    "Tagger",
    "detect_language",
    "summarize",
]
