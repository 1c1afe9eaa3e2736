"""What a language's built-in lexicon holds besides topic words: negation, clauses, sentiment.

These are the pieces the tagger reads a comment's structure with (worker/rules/tagging/tagger.py
says how): which words negate, which start a contrasting clause, which phrases praise or
complain, and which concede a topic only to rule it out ("no complaints about the price, but…").
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from worker.rules.tagging.lexicon import Words


@dataclass(frozen=True, slots=True)
class Grammar:
    """Negation and clause marks of one language, as token match keys (stems, base forms)."""

    negators: frozenset[str]
    """Words that negate what follows (English: not, never, no …) or precedes (Japanese: ない)."""
    look_back: int = 0
    """How many words before a match a negator may stand (0: none before)."""
    look_ahead: int = 0
    """How many words after a match a negator may stand (0: none after)."""
    negating_suffixes: frozenset[str] = frozenset()
    """Words right after a match that negate it ("bug-free": "free")."""
    contrast: frozenset[str] = frozenset()
    """Words that start a contrasting clause ("but", "however", "しかし")."""
    contrast_joints: frozenset[str] = frozenset()
    """Conjunctive particles that end a clause in contrast (が, けど, ものの)."""
    joints: frozenset[str] = frozenset()
    """Words that end a segment within a clause, as a comma does ("and", "plus", "so")."""
    intensifiers: frozenset[str] = frozenset()
    """Words that make a negated problem a claim, not a concession ("at all", "全然", "一度も")."""
    concessive: frozenset[str] = frozenset()
    """Particles that make a negation a concession when they precede it (遅く"は"ない)."""
    stop_ahead: frozenset[str] = frozenset()
    """Words that end the look-ahead for a negator (the next predicate has begun)."""
    skip_ahead: frozenset[str] = frozenset()
    """Words the look-ahead passes although they would end it (て, こと, 一度)."""
    plain_negators: frozenset[str] = frozenset()
    """Negators that concede rather than insist ("not", where "never" insists)."""
    elliptic: frozenset[str] = frozenset()
    """Verbs that negate the word before them when followed by a negator and nothing else
    ("The pricing is not.")."""


@dataclass(frozen=True, slots=True)
class Builtin:
    """The built-in lexicon of one language: words per tag, guards, cues and its grammar."""

    tags: Mapping[str, Words]
    grammar: Grammar
    guards: tuple[str, ...] = ()
    """Phrases that only hide the shorter phrases inside them ("no problem", "遅くまで")."""
    praise: tuple[str, ...] = ()
    """Words that present whatever they are said of positively ("great", "助かる")."""
    complaint: tuple[str, ...] = ()
    """Words that present it negatively, requests included ("please add", "してほしい")."""
    ruled_out: tuple[str, ...] = ()
    """Phrases that rule out the topics of their clause ("no complaints about", "置いておいて")."""
    mild: tuple[str, ...] = ()
    """Faint approval ("fine", "悪くない") that concedes its topic when a contrast follows."""
    requests: tuple[str, ...] = ()
    """Requests ("please add", "してほしい"): what their segment names is a complaint."""
    compounds: tuple[str, ...] = ()
    """Head words that belong to the phrase right before them when it is of another tag
    ("SAML support" is integrations, not support; "SCIM setup" is not onboarding)."""
    concessions: tuple[str, ...] = ()
    """Words that concede like `mild` when negated (不満 in 不満はないが, 問題 in 問題ありません).
    """
    vocabulary: tuple[str, ...] = field(default=())
    """Extra words a misspelling may be read as, beyond those of the phrases above."""
