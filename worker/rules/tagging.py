"""Reason tagging: comment text -> taxonomy tags, plus a one-line summary stored beside them.

English keywords match whole words with short endings (`crash` finds "crashes"); Japanese
keywords match as substrings, with no tokenizer. Problem words (`Tag.problems`) are skipped
when negated: "not slow", "never crashes", "bug-free", "遅くない", "不具合はない" say the
problem is absent, so they are no reason. Plain keywords count even when negated: "support
never answered" is still about support.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from worker.config.tags import Tag

SUMMARY_CHARS = 120
_SENTENCE_END = re.compile(r"(?<=[.!?])\s|[。\uff01\uff1f\n]")
_EN_NEGATION = re.compile(
    r"\b(not|no|never|without|zero|none|hardly|rarely|barely|nothing|nor)\b|n't\b|\bfree of\b"
)
_EN_CLAUSE = re.compile(r"[.,;:!?()]|\b(but|though|although|however|except|and yet)\b")
_EN_FREE = re.compile(r"^[a-z]{0,4}[- ]free\b")
_JA_NEGATION = re.compile(
    r"^(?:[はもがを]|など|すら)?(?:全く|まったく|一度も|ほとんど|特に)?"
    r"(?:ることも|ることは|ことも|ことは)?"
    r"(?:起き|起こら|発生し|出|見当たら|感じ|生じ|あり)?(?:てい|て|ら)?"
    r"(?:ない|なく|無い|無く|なかった|ません|なし|無し|ゼロ)"
)
_NEGATION_WORDS = 4


@dataclass(frozen=True, slots=True)
class TagResult:
    """Tags (chosen first, then found in the comment), the summary, and what matched."""

    tags: tuple[str, ...]
    summary: str
    matches: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Matcher:
    tag: str
    word: str
    pattern: re.Pattern[str]
    problem: bool
    japanese: bool


class Tagger:
    """Tags comments with one taxonomy (the config's `tags`), compiled once."""

    def __init__(self, tags: Sequence[Tag]) -> None:
        self._order = [tag.id for tag in tags]
        self._matchers: dict[str, list[_Matcher]] = {}
        for tag in tags:
            for problem, lists in ((False, tag.keywords), (True, tag.problems)):
                for language, words in lists.items():
                    for word in words:
                        self._matchers.setdefault(language, []).append(
                            _compile(tag.id, word, language, problem=problem)
                        )

    def tag(self, comment: str | None, language: str, chosen: Iterable[str] = ()) -> TagResult:
        """Chosen tags kept as given, then tags the comment mentions, in taxonomy order."""
        kept = list(dict.fromkeys(chosen))
        text = (comment or "").strip()
        matchers = self._matchers.get(language) or [
            m for group in self._matchers.values() for m in group
        ]
        found: dict[str, str] = {}
        lowered = text.lower()
        for matcher in matchers:
            if matcher.tag in found:
                continue
            for hit in matcher.pattern.finditer(lowered):
                if not (matcher.problem and _negated(lowered, hit, japanese=matcher.japanese)):
                    found[matcher.tag] = matcher.word
                    break
        extra = [tag for tag in self._order if tag in found and tag not in kept]
        matches = tuple((tag, found[tag]) for tag in extra)
        return TagResult((*kept, *extra), summarize(text), matches)


def summarize(text: str) -> str:
    """The first sentence, whitespace collapsed, cut at a word near SUMMARY_CHARS with '…'."""
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0] if text.strip() else ""
    first = " ".join(first.split())
    if len(first) <= SUMMARY_CHARS:
        return first
    cut = first[: SUMMARY_CHARS - 1]
    if " " in cut[SUMMARY_CHARS // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _compile(tag: str, word: str, language: str, *, problem: bool) -> _Matcher:
    japanese = language == "ja"
    escaped = re.escape(word.lower())
    pattern = escaped if japanese else rf"\b{escaped}[a-z]{{0,4}}\b"
    return _Matcher(tag, word, re.compile(pattern), problem, japanese)


def _negated(text: str, hit: re.Match[str], *, japanese: bool) -> bool:
    if japanese:
        return bool(_JA_NEGATION.match(text[hit.end() : hit.end() + 16]))
    if _EN_FREE.match(text[hit.end() :]):
        return True
    before = _EN_CLAUSE.split(text[: hit.start()])[-1]
    window = " ".join(before.split()[-_NEGATION_WORDS:])
    return bool(_EN_NEGATION.search(window))
