"""Reason tagging by rules: a comment -> the tags it gives as reasons, each praised or
complained of (combined.py adds the learned second opinion to these).

The convention (data/LABELLING.md, sections 2-4), one rule for every tag:

- A tag names the topic the customer gives as a reason, **whatever the sentiment**: "never had
  an outage" is quality, praised; "outages every week" is quality, complained of. A problem
  word that is negated ("not slow", "一度も落ちなかった") is praise; a topic that is negated
  ("no reply", "連携がない") is a complaint about what is missing.
- A topic the comment **rules out** is not tagged: a concession that only clears the ground for
  the real reason ("no complaints about the price, but…", "X aside", "can't comment on
  support", "料金に不満はないが…", "遅くはないけど…", "〜は置いておいて"). Faint approval
  followed by a contrast ("support is fine, but…") concedes too; a plain positive claim ("the
  system itself is stable, but…") does not.
- Polarity per tag: the tone of the words that carry the topic (problem or praise words),
  else the nearest sentiment word of its clause (negation flips it), else the comment's
  overall tone, else the score (9-10 praise, 0-8 complaint), else praise.

How a comment is read: the text is normalised (NFKC, case), its language judged by script
(worker/rules/tagging/text.py), split into words matched by stem or base form
(tokens.py), and the taxonomy's phrases found, the longest winning where they overlap
(lexicon.py). Words of a sentence are grouped in *segments* (between any punctuation), *clauses*
(between sentence ends and contrast words such as "but" or が/けど) and sentences. A weak
phrase ("useful", "便利") counts only when its segment holds nothing of another tag.
"""

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from worker.config.tags import Tag
from worker.rules.tagging import words_en, words_ja
from worker.rules.tagging.grammar import Builtin, Grammar
from worker.rules.tagging.lexicon import (
    COMPOUND,
    CUE,
    MILD,
    REQUEST,
    RULED_OUT,
    Entry,
    Hit,
    Lexicon,
    Words,
    compile_phrase,
)
from worker.rules.tagging.lexicon import (
    longest as _longest,
)
from worker.rules.tagging.text import detect_language, normalise, summarize
from worker.rules.tagging.tokens import Token, Tokenize, english_tokens, japanese_tokens

BUILTIN: Mapping[str, Builtin] = {"en": words_en.BUILTIN, "ja": words_ja.BUILTIN}
"""The built-in lexicons, by language."""
PROMOTER_FROM = 9
_SENTENCE_ENDS = frozenset({".", "!", "?", "。", "\n", "…"})
_SOFT_PUNCT = frozenset({",", "、", "/", "-", "(", ")", "&", "+", '"', "・", ":"})
"""Marks that end a segment but not a clause."""
_ELLIPTIC_WORDS = 2
"""An attribute this close to its clause's start, with no topic before it, is said of the
clause before ("friendly but slow")."""


class Polarity(StrEnum):
    """How the customer presents a tag's topic."""

    PRAISE = "praise"
    COMPLAINT = "complaint"


@dataclass(frozen=True, slots=True)
class Match:
    """One phrase found in the comment: the tag, the keyword as listed, the words it matched."""

    tag: str
    keyword: str
    text: str
    polarity: Polarity | None = None


class Opinion(NamedTuple):
    """The learned model's view of one tag: its probability against the tag's threshold, the
    rules' answer, the tag given in the end, and the features that weighed most for it.

    A named tuple, not a frozen dataclass: seven are made for every comment tagged, and a
    tuple is made several times faster.
    """

    tag: str
    probability: float
    threshold: float
    rules: bool
    given: bool
    reasons: tuple[tuple[str, float], ...] = ()
    """(feature, weight) pairs that pushed the decision its way, strongest first."""
    praise: float | None = None
    """For a tag given from the comment: the polarity model's probability that it is praise."""

    @property
    def added(self) -> bool:
        """Given by the model, though the rules did not find it."""
        return self.given and not self.rules

    @property
    def removed(self) -> bool:
        """Found by the rules, but not given: the model outweighed them."""
        return self.rules and not self.given


@dataclass(frozen=True, slots=True)
class TagResult:
    """Tags (chosen first, then found in the comment), each tag's polarity, and what matched.

    `ruled_out` lists the phrases found but not counted: topics the comment rules out.
    `opinions` holds the learned model's view per tag, when it was asked (combined.py).
    """

    tags: tuple[str, ...]
    summary: str
    matches: tuple[Match, ...] = ()
    polarity: Mapping[str, Polarity] | None = None
    language: str = ""
    ruled_out: tuple[Match, ...] = ()
    opinions: tuple[Opinion, ...] = ()

    def polarity_of(self, tag: str) -> Polarity | None:
        """The tag's polarity, None for a tag without one."""
        return (self.polarity or {}).get(tag)

    def with_polarity(self, polarity: Polarity) -> tuple[str, ...]:
        """The tags presented with `polarity`, in order."""
        return tuple(tag for tag in self.tags if self.polarity_of(tag) is polarity)


@dataclass(frozen=True, slots=True)
class _Model:
    """One language's compiled lexicon and the grammar to read it with."""

    tokenize: Tokenize
    topics: Lexicon
    signals: Lexicon
    """Sentiment cues, ruled-out and mild phrases and compound heads, told apart by `role`."""
    concessions: frozenset[str]
    grammar: Grammar


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the rules saw in a comment: the learned model's input (features.py)."""

    language: str
    words: tuple[tuple[str, ...], ...] = ()
    """The match keys (stems, base forms) of the comment's words, one tuple per stretch
    between punctuation marks."""
    found: frozenset[str] = frozenset()
    """The tags the rules give (chosen ones aside)."""
    named: frozenset[str] = frozenset()
    """The tags any phrase names, before overlaps, weak words and rule-outs are weighed."""
    ruled_out: frozenset[str] = frozenset()
    own: frozenset[str] = frozenset()
    """The tags found by words RevOps listed in the config."""
    near: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per tag the rules give: the match keys of the words in the stretches its phrases stand in
    (between punctuation marks and joints), where what is said of it is said."""
    toned: frozenset[str] = frozenset()
    """The tags the rules give a tone from the words of their phrases or near them (not from
    the comment's overall tone or the score alone)."""
    tone: float = 0.0
    """The comment's overall tone (every sentiment word, negation applied): 0 when the words
    leave polarity to the score."""


class RuleTagger:
    """Tags comments by the taxonomy's words and grammar; each language compiled once."""

    def __init__(self, tags: Sequence[Tag]) -> None:
        self._tags = tuple(tags)
        self._order = [tag.id for tag in tags]
        self._models: dict[str, _Model] = {}
        self._lock = threading.Lock()

    def tag(
        self,
        comment: str | None,
        language: str,
        chosen: Iterable[str] = (),
        score: int | None = None,
    ) -> TagResult:
        """Chosen tags kept as given, then the tags the comment gives as reasons.

        `language` is the contact's; the comment's own script decides when they differ.
        `score` (0-10) gives the polarity of a tag the words leave undecided.
        """
        return self._read(comment, language, chosen, score, None, evidence=False)[0]

    def read(
        self,
        comment: str | None,
        language: str,
        chosen: Iterable[str] = (),
        score: int | None = None,
        decide: Callable[[Evidence], Iterable[str]] | None = None,
    ) -> tuple[TagResult, Evidence]:
        """As `tag`, with what the rules saw. `decide`, given that, names the tags the comment
        gives in place of the rules' (each gets its polarity from the comment's words as
        usual); the result keeps the matches of the rules' tags it drops, as explanations."""
        return self._read(comment, language, chosen, score, decide, evidence=True)

    def _read(
        self,
        comment: str | None,
        language: str,
        chosen: Iterable[str],
        score: int | None,
        decide: Callable[[Evidence], Iterable[str]] | None,
        *,
        evidence: bool,
    ) -> tuple[TagResult, Evidence]:
        """`read`; without `decide`, the evidence is worked out only when `evidence` asks."""
        kept = list(dict.fromkeys(chosen))
        raw = (comment or "").strip()
        text = normalise(raw)
        spoken = detect_language(text, language) if text else language
        if not text:
            scored = {tag: _by_score(score) for tag in kept}
            return TagResult(tuple(kept), "", (), scored, spoken), Evidence(spoken)
        reading = _Reading(self._model(spoken), text)
        found = reading.tags()
        seen = reading.evidence(spoken) if evidence or decide else Evidence(spoken)
        wanted = found if decide is None else set(decide(seen))
        added = [tag for tag in self._order if tag in wanted and tag not in kept]
        overall = reading.overall_tone()
        polarity: dict[str, Polarity] = {}
        for tag in (*kept, *added):
            tone = reading.tone_of(tag) or overall
            polarity[tag] = _polarity(tone) if tone else _by_score(score)
        result = TagResult(
            (*kept, *added),
            summarize(raw),
            reading.matches(found - set(kept)),
            polarity,
            spoken,
            reading.ruled_out_matches(),
        )
        return result, seen

    def _model(self, language: str) -> _Model:
        with self._lock:
            model = self._models.get(language)
            if model is None:
                model = self._models[language] = _build(self._tags, language)
            return model


def _polarity(tone: float) -> Polarity:
    return Polarity.PRAISE if tone > 0 else Polarity.COMPLAINT


def _by_score(score: int | None) -> Polarity:
    """Without words to go by: what a promoter names is praise, anyone else's a complaint."""
    if score is None or score >= PROMOTER_FROM:
        return Polarity.PRAISE
    return Polarity.COMPLAINT


def _build(tags: Sequence[Tag], language: str) -> _Model:
    """Compile the built-in words of `language` (if any) with every tag's own words."""
    builtin = BUILTIN.get(language)
    own = [
        (tag.id, words, listed)
        for tag in tags
        for words, listed in (
            (_own_words(tag, language), True),
            (_builtin_words(tag, builtin), False),
        )
        if words is not None
    ]
    if language == "ja":
        tokenize: Tokenize = japanese_tokens
    else:
        vocabulary = {
            word
            for _, words, _ in own
            for group in (words.topic, words.problems, words.praise)
            for phrase in group
            for word in phrase.casefold().split()
        }
        tokenize = english_tokens(vocabulary, language)
    entries: list[Entry] = []
    for tag_id, words, listed in own:
        entries += _entries(tag_id, words, tokenize, own=listed)
    cue_entries: list[Entry] = []
    grammar = Grammar(negators=frozenset())
    ruled_out: list[Entry] = []
    mild: list[Entry] = []
    compounds: list[Entry] = []
    concessions: frozenset[str] = frozenset()
    if builtin is not None:
        entries += [compile_phrase(p, tokenize, tag=None) for p in builtin.guards]
        cue_entries += [
            compile_phrase(p, tokenize, tag=None, tone=1, role=CUE) for p in builtin.praise
        ]
        cue_entries += [
            compile_phrase(p, tokenize, tag=None, tone=-1, role=CUE) for p in builtin.complaint
        ]
        ruled_out = [
            compile_phrase(p, tokenize, tag=None, role=RULED_OUT) for p in builtin.ruled_out
        ]
        mild = [compile_phrase(p, tokenize, tag=None, role=MILD) for p in builtin.mild]
        compounds = [
            compile_phrase(p, tokenize, tag=None, role=COMPOUND) for p in builtin.compounds
        ]
        compounds += [compile_phrase(p, tokenize, tag=None, role=REQUEST) for p in builtin.requests]
        grammar = _normalised(builtin.grammar, tokenize)
        concessions = _norms(builtin.concessions, tokenize)
    return _Model(
        tokenize,
        Lexicon(entries),
        Lexicon([*cue_entries, *ruled_out, *mild, *compounds]),
        concessions,
        grammar,
    )


def _own_words(tag: Tag, language: str) -> Words | None:
    """The words RevOps listed for the tag in the config, in `language`."""
    topic = tag.keywords.get(language, ())
    problems = tag.problems.get(language, ())
    praise = tag.praise.get(language, ())
    if not (topic or problems or praise):
        return None
    return Words(topic=topic, problems=problems, praise=praise)


def _builtin_words(tag: Tag, builtin: Builtin | None) -> Words | None:
    if builtin is None or not tag.builtin_words:
        return None
    return builtin.tags.get(tag.id)


def _entries(tag: str, words: Words, tokenize: Tokenize, *, own: bool) -> list[Entry]:
    """A tag's entries (`own`: listed in the config); a phrase listed twice keeps its first
    group in the order below."""
    yielding = frozenset(words.yield_to)
    none = frozenset[str]()
    groups = (
        (words.problems, -1, False, none, none),
        (words.praise, 1, False, none, none),
        (words.attribute_problems, -1, False, yielding, none),
        (words.attribute_praise, 1, False, yielding, none),
        (words.attributes, 0, False, yielding, none),
        (words.topic, 0, False, none, frozenset(words.object_of)),
        (words.weak_problems, -1, True, none, none),
        (words.weak_praise, 1, True, none, none),
        (words.outputs, 0, True, none, none),
        (words.weak, 0, True, none, none),
    )
    errors = [phrase.casefold() for phrase in words.data_errors]
    seen: set[str] = set()
    entries = []
    for phrases, tone, weak, yields_to, object_of in groups:
        for phrase in phrases:
            if phrase.casefold() in seen:
                continue
            seen.add(phrase.casefold())
            entries.append(
                compile_phrase(
                    phrase,
                    tokenize,
                    tag=tag,
                    tone=tone,
                    weak=weak,
                    yields_to=yields_to,
                    object_of=object_of,
                    kept_by=frozenset(words.kept_by) if phrases is words.outputs else none,
                    data_error=any(error in phrase.casefold() for error in errors),
                    own=own,
                )
            )
    return entries


def _norms(words: Iterable[str], tokenize: Tokenize) -> frozenset[str]:
    """The words as written and as their tokens' match keys (stems, base forms)."""
    written = list(words)
    keys = set()
    for word in written:
        tokens = [token for token in tokenize(word) if not token.punct]
        if len(tokens) == 1:
            keys.add(tokens[0].norm)
    return frozenset({*written, *keys})


def _normalised(grammar: Grammar, tokenize: Tokenize) -> Grammar:
    """The grammar's word sets in the form tokens are compared in (stems, base forms)."""
    return Grammar(
        negators=_norms(grammar.negators, tokenize),
        look_back=grammar.look_back,
        look_ahead=grammar.look_ahead,
        negating_suffixes=_norms(grammar.negating_suffixes, tokenize),
        contrast=_norms(grammar.contrast, tokenize),
        contrast_joints=_norms(grammar.contrast_joints, tokenize),
        joints=_norms(grammar.joints, tokenize),
        intensifiers=_norms(grammar.intensifiers, tokenize),
        concessive=_norms(grammar.concessive, tokenize),
        stop_ahead=_norms(grammar.stop_ahead, tokenize),
        skip_ahead=_norms(grammar.skip_ahead, tokenize),
        plain_negators=_norms(grammar.plain_negators, tokenize),
        elliptic=_norms(grammar.elliptic, tokenize),
    )


class _Reading:
    """One comment read with one language's model: its tokens, clauses and matches."""

    def __init__(self, model: _Model, text: str) -> None:
        self.model = model
        self.text = text
        self.tokens = model.tokenize(text)
        self.segment, self.clause, self.contrasted = _structure(self.tokens, model.grammar)
        self.sentence = _sentences(self.tokens)
        self.clause_start: dict[int, int] = {}
        for index, clause in enumerate(self.clause):
            self.clause_start.setdefault(clause, index)
        self.all_hits = model.topics.hits(self.tokens)
        signals: dict[str, list[Hit]] = defaultdict(list)
        for hit in model.signals.hits(self.tokens):
            signals[hit.entry.role].append(hit)
        self.signals = {role: _longest(found) for role, found in signals.items()}
        self.requested = {self.segment[hit.start] for hit in self.signals.get(REQUEST, ())}
        hits = [hit for hit in _longest(self.all_hits) if hit.entry.tag is not None]
        self.toned = {
            index: str(hit.entry.tag)
            for hit in hits
            if hit.entry.tone
            for index in range(hit.start, hit.end)
        }
        self.cues = [(hit, self._tone(hit)) for hit in self.signals.get(CUE, ())]
        self.cues += [(hit, self._tone(hit)) for hit in hits if hit.entry.tone]
        ruled = self._ruled_out_segments(hits)
        self.ruled = [hit for hit in hits if self.segment[hit.start] in ruled]
        live = [hit for hit in hits if self.segment[hit.start] not in ruled]
        live = self._without_compounds(live)
        self.live = [hit for hit in live if not self._outweighed(hit, live)]
        self.by_tag: dict[str, list[Hit]] = defaultdict(list)
        for hit in self.live:
            self.by_tag[str(hit.entry.tag)].append(hit)
        # An evaluative attribute taken over by another tag ("support is friendly but slow")
        # still says how that tag is judged.
        self.tones: dict[str, float] = {}
        """Each tag's tone, once worked out (`tone_of`)."""
        self.taken: dict[str, list[Hit]] = defaultdict(list)
        for hit in live:
            taker = self._taker(hit, live) if hit.entry.tone else None
            if taker is not None:
                self.taken[taker].append(hit)

    def _outweighed(self, hit: Hit, hits: Sequence[Hit]) -> bool:
        """A weak match beside a strong one of another tag, or an attribute taken over."""
        if hit.entry.weak:
            # A weak topic word ("dashboard") gives way within its segment; a weak evaluation
            # ("useful", "便利") is said of whatever topic its sentence names, or the sentence
            # before when it stands alone ("Seamless.", "Exactly what we needed.").
            scope = self.sentence if hit.entry.tone else self.segment
            at = scope[hit.start]
            if hit.entry.tone and not any(
                scope[other.start] == at and other is not hit for other in hits
            ):
                at -= 1
            if any(
                not other.entry.weak
                and other.entry.tag != hit.entry.tag
                and scope[other.start] in (at, scope[hit.start])
                and not self._output_wrong(hit, other)
                for other in hits
            ):
                return True
        if hit.entry.object_of and self._complained_of(hit, hits):
            return True
        return self._yields(hit, hits)

    def _output_wrong(self, hit: Hit, other: Hit) -> bool:
        """Whether `other` says the output `hit` names is wrong ("totals on the report are off"):
        the output stays a reason beside the problem; a slow output is the problem's alone."""
        return (
            other.entry.tag in hit.entry.kept_by
            and other.entry.data_error
            and self._tone(other) < 0
        )

    def _complained_of(self, hit: Hit, hits: Sequence[Hit]) -> bool:
        """A feature named only as the object of a quality or usability complaint in its segment
        ("the custom reports crash", "the permissions model is baffling") is not its own reason,
        unless the comment evaluates the feature itself ("missing", "powerful")."""
        if any(other.entry.tag == hit.entry.tag and self._tone(other) for other in hits):
            return False
        return any(
            other.entry.tag in hit.entry.object_of
            and other.entry.tone < 0
            and not other.entry.weak
            and self.segment[other.start] == self.segment[hit.start]
            and self._tone(other) < 0
            for other in hits
        )

    def _yields(self, hit: Hit, hits: Sequence[Hit]) -> bool:
        """Whether a tag the entry yields to takes it."""
        return self._taker(hit, hits) is not None

    def _taker(self, hit: Hit, hits: Sequence[Hit]) -> str | None:
        """The tag an attribute yields to when that tag is said in its segment, earlier in its
        clause ("support, which is slow"), or in the clause before when the attribute opens its
        own clause without a subject ("support is friendly but slow")."""
        if not hit.entry.yields_to:
            return None
        clause = self.clause[hit.start]
        elliptic = hit.start - self.clause_start[clause] <= _ELLIPTIC_WORDS and not any(
            self.clause[other.start] == clause and other.start < hit.start for other in hits
        )
        for other in hits:
            if other.entry.tag in hit.entry.yields_to and (
                self.segment[other.start] == self.segment[hit.start]
                or (self.clause[other.start] == clause and other.start < hit.start)
                or (
                    elliptic
                    and self.clause[other.start] == clause - 1
                    and self.sentence[other.start] == self.sentence[hit.start]
                )
            ):
                return str(other.entry.tag)
        return None

    def tags(self) -> set[str]:
        """The tags the comment gives as reasons."""
        return set(self.by_tag)

    def evidence(self, language: str) -> Evidence:
        """What the rules saw, for the learned model."""
        words: list[tuple[str, ...]] = []
        stretch: list[str] = []
        by_segment: dict[int, list[str]] = defaultdict(list)
        for token, segment in zip(self.tokens, self.segment, strict=True):
            if token.punct:
                if stretch:
                    words.append(tuple(stretch))
                stretch = []
            else:
                stretch.append(token.norm)
                by_segment[segment].append(token.norm)
        if stretch:
            words.append(tuple(stretch))
        near = {}
        for tag, hits in self.by_tag.items():
            spots = {self.segment[hit.start] for hit in (*hits, *self.taken.get(tag, ()))}
            near[tag] = tuple(word for spot in sorted(spots) for word in by_segment[spot])
        return Evidence(
            language,
            tuple(words),
            frozenset(self.by_tag),
            frozenset(str(hit.entry.tag) for hit in self.all_hits if hit.entry.tag is not None),
            frozenset(str(hit.entry.tag) for hit in self.ruled),
            frozenset(str(hit.entry.tag) for hit in self.live if hit.entry.own),
            near,
            frozenset(tag for tag in self.by_tag if self.tone_of(tag)),
            self.overall_tone(),
        )

    def tone_of(self, tag: str) -> float:
        """The tag's tone: the sum over its matches and the attributes it took over, the last
        one breaking a tie; when the tag is judged both ways across a contrast ("friendly, but
        slow"), the clause after the contrast carries the verdict."""
        tone = self.tones.get(tag)
        if tone is None:
            tone = self.tones[tag] = self._tone_of(tag)
        return tone

    def _tone_of(self, tag: str) -> float:
        hits = sorted([*self.by_tag.get(tag, ()), *self.taken.get(tag, ())], key=lambda h: h.start)
        toned = [(self.clause[hit.start], self._hit_tone(hit)) for hit in hits]
        tones = [tone for _, tone in toned]
        last = max((clause for clause, tone in toned if tone), default=None)
        if last is not None and last - 1 in self.contrasted:
            after = sum(tone for clause, tone in toned if clause == last)
            if any(tone * after < 0 for clause, tone in toned if clause < last):
                return after
        total = sum(tones)
        if total == 0 and any(tones):
            return next(tone for tone in reversed(tones) if tone)
        clauses = {clause for clause, _ in toned}
        if not total and len(clauses) == 1:
            # Named without a judgement on one side of a contrast ("Great features, but the
            # price went up", "Price was high, but support is great"): the verdict is the
            # opposite of the other side's.
            (clause,) = clauses
            other = clause - 1 if clause - 1 in self.contrasted else None
            if other is None and clause in self.contrasted:
                other = clause + 1
            if other is not None:
                return -sum(tone for cue, tone in self.cues if self.clause[cue.start] == other)
        return total

    def overall_tone(self) -> float:
        """The comment's tone: every sentiment word, negation applied."""
        return float(sum(tone for _, tone in self.cues))

    def matches(self, tags: Iterable[str]) -> tuple[Match, ...]:
        """What matched, for the tags found in the comment."""
        wanted = set(tags)
        return tuple(self._match(hit) for hit in self.live if hit.entry.tag in wanted)

    def ruled_out_matches(self) -> tuple[Match, ...]:
        """Phrases found in clauses the comment rules out."""
        return tuple(self._match(hit) for hit in self.ruled)

    def _match(self, hit: Hit) -> Match:
        tone = self._hit_tone(hit)
        return Match(
            str(hit.entry.tag),
            hit.entry.phrase,
            self.text[self.tokens[hit.start].start : self.tokens[hit.end - 1].end],
            _polarity(tone) if tone else None,
        )

    def _without_compounds(self, hits: list[Hit]) -> list[Hit]:
        """Drop a bare head word that belongs to the phrase before it ("SAML support")."""
        heads = {(h.start, h.end) for h in self.signals.get(COMPOUND, ())}
        ends = {h.end: str(h.entry.tag) for h in hits}
        return [
            hit
            for hit in hits
            if (hit.start, hit.end) not in heads
            or ends.get(hit.start, hit.entry.tag) == hit.entry.tag
        ]

    def _hit_tone(self, hit: Hit) -> float:
        """The match's own tone (counted double), else the nearest sentiment word's.

        A sentiment word in the match's segment counts fully, one elsewhere in its clause half;
        whatever a request's segment names is a complaint ("please add", "もう少し…と助かる").
        """
        if self.segment[hit.start] in self.requested:
            return -2.0
        own = self._tone(hit)
        if own:
            return 2.0 * own
        for scope, weight in ((self.segment, 1.0), (self.clause, 0.5)):
            near = [
                (abs(cue.start - hit.start), tone)
                for cue, tone in self.cues
                if tone
                and scope[cue.start] == scope[hit.start]
                and (cue.end <= hit.start or cue.start >= hit.end)
            ]
            if near:
                return weight * min(near)[1]
        return 0.0

    def _tone(self, hit: Hit) -> int:
        """The entry's tone, flipped when negated; a negated topic is missed (a complaint)."""
        tone = hit.entry.tone
        if self._negator(hit) is not None:
            return -tone if tone else -1
        return tone

    def _negator(self, hit: Hit) -> int | None:
        """Where the word negating `hit` stands, if one does."""
        grammar, tokens = self.model.grammar, self.tokens
        segment = self.segment[hit.start]
        for index in range(hit.start - 1, max(hit.start - grammar.look_back, 0) - 1, -1):
            if self.segment[index] != segment:
                break
            if tokens[index].norm in grammar.negators:
                return index
            if self.toned.get(index, hit.entry.tag) != hit.entry.tag:
                break
        end = hit.end
        if end < len(tokens) and tokens[end].norm in grammar.negating_suffixes:
            return end
        if (
            grammar.elliptic
            and end + 1 < len(tokens)
            and tokens[end].norm in grammar.elliptic
            and tokens[end + 1].norm in grammar.negators
            and (end + 2 == len(tokens) or tokens[end + 2].punct)
        ):
            return end + 1
        return self._negator_ahead(hit)

    def _negator_ahead(self, hit: Hit) -> int | None:
        """A negator after the match, within its phrase (Japanese: 重くない, 出ていません)."""
        grammar, tokens = self.model.grammar, self.tokens
        predicate = False
        for index in range(hit.end, min(hit.end + grammar.look_ahead, len(tokens))):
            token = tokens[index]
            if token.punct or (token.joint and token.norm not in grammar.skip_ahead):
                break
            if token.norm in grammar.negators:
                return index
            if token.norm in grammar.stop_ahead:
                break
            if self.toned.get(index, hit.entry.tag) != hit.entry.tag:
                break  # the negator is another tag's ("連携が一度もこけていない")
            if token.noun and predicate and token.norm not in grammar.skip_ahead:
                break
            predicate = predicate or token.predicate
        return None

    def _ruled_out_segments(self, hits: Sequence[Hit]) -> set[int]:
        """Segments whose topics the comment rules out (see the module's docstring).

        A ruling-out phrase said on its own ("Support? Never needed it.", "Price is fair, no
        complaints there, but…") rules out the segment before it. A concession needs the real
        reason after its contrast: "not slow, not pretty, but it works" concedes nothing.
        """
        model = self.model
        named = {self.segment[hit.start] for hit in hits}
        ruled = set()
        for hit in self.signals.get(RULED_OUT, ()):
            segment = self.segment[hit.start]
            ruled.add(segment)
            if segment not in named and segment - 1 in named:
                ruled.add(segment - 1)
        conceding = [hit for hit in self.signals.get(MILD, ()) if self._negator(hit) is None]
        conceding += [
            hit
            for hit in self.all_hits
            if hit.entry.tag is not None and hit.entry.tone < 0 and self._concedes(hit)
        ]
        for index, token in enumerate(self.tokens):
            if token.norm in model.concessions:
                word = Hit(Entry(None, token.norm, ()), index, index + 1)
                if self._negator(word) is not None:
                    conceding.append(word)
        ruled |= {
            self.segment[hit.start]
            for hit in conceding
            if self.clause[hit.start] in self.contrasted
            and any(self.clause[other.start] > self.clause[hit.start] for other in hits)
        }
        return ruled

    def _concedes(self, hit: Hit) -> bool:
        """A problem negated without insistence ("not slow", 遅く"は"ない), as a concession."""
        at = self._negator(hit)
        if at is None:
            return False
        grammar, tokens = self.model.grammar, self.tokens
        span = range(max(min(at, hit.start) - 1, 0), min(max(at, hit.end) + 3, len(tokens)))
        if any(tokens[i].norm in grammar.intensifiers for i in span):
            return False
        if grammar.concessive:
            return at > 0 and tokens[at - 1].norm in grammar.concessive
        return tokens[at].norm in grammar.plain_negators


def _sentences(tokens: Sequence[Token]) -> list[int]:
    """The sentence number of each token (sentences end at . ! ? 。 and line breaks)."""
    numbers = []
    sentence = 0
    for token in tokens:
        numbers.append(sentence)
        if token.punct and token.norm in _SENTENCE_ENDS:
            sentence += 1
    return numbers


def _structure(tokens: Sequence[Token], grammar: Grammar) -> tuple[list[int], list[int], set[int]]:
    """Segment and clause number of each token, and the clauses a contrast follows."""
    segments: list[int] = []
    clauses: list[int] = []
    contrasted: set[int] = set()
    segment = clause = 0
    opened = False
    for token in tokens:
        if token.norm in grammar.contrast and not token.punct:
            if opened:
                contrasted.add(clause)
                clause += 1
                segment += 1
            elif clause:
                contrasted.add(clause - 1)
        opened = True
        segments.append(segment)
        clauses.append(clause)
        if token.punct:
            segment += 1
            if token.norm not in _SOFT_PUNCT:
                clause += 1
                opened = False
        elif token.norm in grammar.joints:
            segment += 1
        elif token.joint:
            segment += 1
            if token.norm in grammar.contrast_joints:
                contrasted.add(clause)
                clause += 1
                opened = False
    return segments, clauses, contrasted
