"""Keyword phrases compiled to token patterns, and finding them in a tokenised comment.

A phrase is written as a person would ("takes forever to load", "使いやすい") and tokenised
like the comments it is matched in, so it matches every form of its words on word boundaries.
Three marks extend it: `word*` matches any word starting with `word`; `…` (or `...`) lets up
to three words stand between its neighbours; `=word` matches that exact spelling, not its
stem ("=supports" is the verb, where "support" would also find "supporting").

Where phrases overlap, the longest wins and the shorter ones inside it do not count: "contract
management" (a product feature) hides "contract" (price and contract), "easy to work with"
(about people) hides "easy" (usability). A phrase with no tag (a *guard*) only hides others.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from worker.rules.tagging.tokens import Token, Tokenize

GAP_WORDS = 3
CUE = "cue"
RULED_OUT = "ruled_out"
MILD = "mild"
COMPOUND = "compound"
REQUEST = "request"
_GAPS = ("…", "...")
_MIN_PREFIX = 3


class Kind(Enum):
    """How a phrase's element is compared with a token."""

    NORM = "norm"
    PREFIX = "prefix"
    SURFACE = "surface"
    GAP = "gap"


@dataclass(frozen=True, slots=True)
class Element:
    """One position of a phrase."""

    kind: Kind
    value: str = ""

    def accepts(self, token: Token) -> bool:
        """Whether `token` fills this position (never a punctuation mark)."""
        if token.punct:
            return False
        if self.kind is Kind.NORM:
            return token.norm == self.value
        if self.kind is Kind.SURFACE:
            return token.surface == self.value
        return token.surface.startswith(self.value) or token.norm.startswith(self.value)


@dataclass(frozen=True, slots=True)
class Entry:
    """A phrase, the tag it suggests (None: a guard) and how it leans.

    `tone` is -1 for problem words ("crash", "遅い"), +1 for praise words ("rock solid") and 0
    for topic words ("pricing"); a weak entry counts only when nothing of another tag is found
    in its sentence ("useful", "便利" say little on their own).
    """

    tag: str | None
    phrase: str
    elements: tuple[Element, ...]
    tone: int = 0
    weak: bool = False
    yields_to: frozenset[str] = frozenset()
    """Tags that take this entry over when found in its clause ("slow" said of support)."""
    object_of: frozenset[str] = frozenset()
    """Tags whose complaint, said in the same segment, makes this topic word only its object
    ("the custom reports crash" is quality, not feature value)."""
    role: str = ""
    """For an entry without a tag: what it signals (CUE, RULED_OUT, MILD, COMPOUND)."""
    kept_by: frozenset[str] = frozenset()
    """Tags whose data error in its segment leaves this output word standing: a report with
    wrong totals is the report's fault too."""
    data_error: bool = False
    """A problem saying data is wrong ("totals don't match", "文字化け"), not slow or down."""
    own: bool = False
    """Listed by RevOps in the config (not built in): what it finds is tagged whatever the
    learned model says."""


@dataclass(slots=True)
class _Node:
    """A trie node: entries whose words end here, and the next word's nodes."""

    entries: list["Entry"] = field(default_factory=list)
    by_norm: dict[str, "_Node"] = field(default_factory=dict)
    by_surface: dict[str, "_Node"] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    """Where an entry matched: tokens [start, end)."""

    entry: Entry
    start: int
    end: int


class PhraseError(ValueError):
    """A keyword that cannot be matched (empty after tokenising, or a prefix too short)."""


def compile_phrase(
    phrase: str,
    tokenize: Tokenize,
    *,
    tag: str | None,
    tone: int = 0,
    weak: bool = False,
    yields_to: frozenset[str] = frozenset(),
    role: str = "",
    object_of: frozenset[str] = frozenset(),
    kept_by: frozenset[str] = frozenset(),
    data_error: bool = False,
    own: bool = False,
) -> Entry:
    """`phrase` as an entry, tokenised with the comments' tokenizer."""
    elements: list[Element] = []
    text = phrase
    for gap in _GAPS:
        text = text.replace(gap, " \0 ")
    for part in text.split():
        if part == "\0":
            if elements and elements[-1].kind is not Kind.GAP:
                elements.append(Element(Kind.GAP))
            continue
        if part.startswith("=") and len(part) > 1:
            elements.extend(Element(Kind.SURFACE, t.surface) for t in _words(part[1:], tokenize))
            continue
        if part.endswith("*") and len(part) > 1:
            stem = part[:-1].casefold()
            if len(stem) < _MIN_PREFIX:
                raise PhraseError(f"'{phrase}': a prefix needs {_MIN_PREFIX} letters before *")
            elements.append(Element(Kind.PREFIX, stem))
            continue
        elements.extend(Element(Kind.NORM, t.norm) for t in _words(part, tokenize))
    while elements and elements[-1].kind is Kind.GAP:
        elements.pop()
    while elements and elements[0].kind is Kind.GAP:
        elements.pop(0)
    if not elements:
        raise PhraseError(f"'{phrase}' has no word to match")
    return Entry(
        tag,
        phrase,
        tuple(elements),
        tone,
        weak,
        yields_to,
        object_of=object_of,
        role=role,
        kept_by=kept_by,
        data_error=data_error,
        own=own,
    )


def _words(text: str, tokenize: Tokenize) -> list[Token]:
    return [token for token in tokenize(text) if not token.punct]


class Lexicon:
    """Entries in a trie of their words, for one pass over a comment's tokens.

    Phrases of plain words (most of them) are found by walking the trie from each token;
    phrases with a prefix word or a gap are tried one by one from their first word.
    """

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries = tuple(entries)
        self._trie: _Node = _Node()
        self._by_norm: dict[str, list[Entry]] = {}
        self._by_surface: dict[str, list[Entry]] = {}
        self._by_prefix: dict[str, list[Entry]] = {}
        for entry in self.entries:
            if all(e.kind in (Kind.NORM, Kind.SURFACE) for e in entry.elements):
                node = self._trie
                for element in entry.elements:
                    nodes = node.by_norm if element.kind is Kind.NORM else node.by_surface
                    node = nodes.setdefault(element.value, _Node())
                node.entries.append(entry)
                continue
            first = entry.elements[0]
            if first.kind is Kind.NORM:
                self._by_norm.setdefault(first.value, []).append(entry)
            elif first.kind is Kind.SURFACE:
                self._by_surface.setdefault(first.value, []).append(entry)
            else:
                self._by_prefix.setdefault(first.value[:_MIN_PREFIX], []).append(entry)

    def hits(self, tokens: Sequence[Token]) -> list[Hit]:
        """Every place an entry matches, overlapping ones included."""
        found: list[Hit] = []
        by_norm, by_surface, by_prefix = self._by_norm, self._by_surface, self._by_prefix
        root = self._trie
        for start, token in enumerate(tokens):
            if token.punct:
                continue
            if token.norm in root.by_norm or token.surface in root.by_surface:
                self._walk(tokens, start, found)
            candidates = by_norm.get(token.norm, []) + by_surface.get(token.surface, [])
            if by_prefix:
                candidates += by_prefix.get(token.surface[:_MIN_PREFIX], [])
                if token.norm[:_MIN_PREFIX] != token.surface[:_MIN_PREFIX]:
                    candidates += by_prefix.get(token.norm[:_MIN_PREFIX], [])
            for entry in candidates:
                end = _match(entry.elements, tokens, start)
                if end is not None:
                    found.append(Hit(entry, start, end))
        return found

    def _walk(self, tokens: Sequence[Token], start: int, found: list[Hit]) -> None:
        """Follow the trie from `start`, word by word (by match key or exact spelling)."""
        stack = [(self._trie, start)]
        count = len(tokens)
        while stack:
            node, at = stack.pop()
            for entry in node.entries:
                found.append(Hit(entry, start, at))
            if at >= count or tokens[at].punct:
                continue
            token = tokens[at]
            child = node.by_norm.get(token.norm)
            if child is not None:
                stack.append((child, at + 1))
            child = node.by_surface.get(token.surface)
            if child is not None:
                stack.append((child, at + 1))

    def longest(self, tokens: Sequence[Token]) -> list[Hit]:
        """Matches that do not overlap, the longest first; guards included."""
        return longest(self.hits(tokens))


def longest(hits: Iterable[Hit]) -> list[Hit]:
    """Of overlapping matches the longest; the same words listed under two tags ("setup fee":
    onboarding and price) count for both."""
    chosen: list[Hit] = []
    spans: set[tuple[int, int]] = set()
    taken: set[int] = set()
    ranked = sorted(
        hits, key=lambda h: (-(h.end - h.start), h.entry.weak, h.entry.tag is not None, h.start)
    )
    for hit in ranked:
        span = range(hit.start, hit.end)
        same = (hit.start, hit.end) in spans and hit.entry.tag is not None
        if same or taken.isdisjoint(span):
            if same and any(
                c.entry.tag == hit.entry.tag or c.entry.tag is None
                for c in chosen
                if (c.start, c.end) == (hit.start, hit.end)
            ):
                continue
            chosen.append(hit)
            spans.add((hit.start, hit.end))
            taken.update(span)
    return sorted(chosen, key=lambda h: h.start)


def _match(elements: Sequence[Element], tokens: Sequence[Token], start: int) -> int | None:
    """The end of the shortest match of `elements` at `start`, or None."""
    if not elements:
        return start
    head, rest = elements[0], elements[1:]
    if head.kind is Kind.GAP:
        for skip in range(GAP_WORDS + 1):
            at = start + skip
            if skip and (at > len(tokens) or tokens[at - 1].punct):
                return None
            end = _match(rest, tokens, at)
            if end is not None:
                return end
        return None
    if start < len(tokens) and head.accepts(tokens[start]):
        return _match(rest, tokens, start + 1)
    return None


def phrases(text: str) -> tuple[str, ...]:
    """Comma-separated phrases as a tuple: how the built-in word lists are written."""
    return tuple(part.strip() for part in text.replace("\n", " ").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Words:
    """One tag's words in one language, by how they lean."""

    topic: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    praise: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    """Topic words that count only when nothing of another tag is in their sentence."""
    weak_problems: tuple[str, ...] = ()
    weak_praise: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    """Words that describe whatever they are said of ("slow", "fast"): they count for this tag
    unless a tag of `yield_to` is found in their clause ("support is slow")."""
    attribute_problems: tuple[str, ...] = ()
    attribute_praise: tuple[str, ...] = ()
    yield_to: tuple[str, ...] = ()
    object_of: tuple[str, ...] = ()
    """Tags whose complaint makes a topic word only its object when said in its segment, unless
    the comment evaluates the topic itself ("the custom reports crash": quality only)."""
    outputs: tuple[str, ...] = ()
    """The product's output (reports, PDFs, dashboards): weak topic words that a data error of a
    `kept_by` tag does not outweigh (LABELLING.md section 6: "feature value, plus quality if the
    output is wrong"); a slow or crashing report stays quality only."""
    kept_by: tuple[str, ...] = ()
    data_errors: tuple[str, ...] = ()
    """Words saying data is wrong rather than slow or down: a problem phrase of any group that
    contains one ("do not match", "合計 … 合わない") is a data error."""
