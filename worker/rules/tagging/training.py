"""The learned models of each language, trained once per process on the shipped labelled sets.

Two per language: which tags a comment gives (one classifier per tag, learned.py) and whether
it praises or complains of each tag it gives (one classifier over every tag's polarity, with
features said of the tag, features.py).

No weights are stored: the model is trained lazily, the first time a process tags a comment in
English or Japanese, from the labelled comments in worker/rules/tagging/data (corpus.py) read
by the built-in rules (the default taxonomy, without any config's words), and cached for the
life of the process. Training is deterministic (fixed seed and order), so every process of one
release holds the same model; it takes a few seconds for both languages
(`benchmarks/tagging_quality.py --speed` prints the figure).

A comment trains the model of the language it is written in (detected by script, as when
tagging), so an English comment in a Japanese file teaches the English model.
"""

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from worker.config.tags import BUILTIN_LABELS, default_taxonomy
from worker.rules.tagging import corpus
from worker.rules.tagging.features import STACKED, features, polarity_features
from worker.rules.tagging.learned import Example, Model, TagWeights, fit, train
from worker.rules.tagging.tagger import Evidence, RuleTagger

LANGUAGES = corpus.LANGUAGES
"""The languages the model is trained for; others are tagged by the rules alone."""
TAGS = tuple(BUILTIN_LABELS)
"""The tags the model learns: the built-in seven, the ones the labelled sets use."""


PRAISE = "praise"
"""The polarity model's one class: the tag is praised (else complained of)."""


@dataclass(frozen=True, slots=True)
class Trained:
    """One language's models: which tags a comment gives, and whether it praises each."""

    tags: Model
    praise: TagWeights
    """The probability that a comment praises a tag it gives (from polarity_features)."""


@dataclass(frozen=True, slots=True)
class Read:
    """A labelled comment as the rules read it: its label, language written in, features."""

    item: corpus.Labelled
    language: str
    features: tuple[str, ...]
    rules: frozenset[str]
    """The tags the rules alone give it."""
    polarity: tuple[tuple[str, tuple[str, ...]], ...]
    """The polarity features of each tag it is labelled with, the rules' reading of it as if
    they had given it among them."""


_lock = threading.Lock()
_models: dict[str, Trained] = {}
_read: list[Read] = []
"""The shipped comments read once for both languages, until both are trained."""


def trained(language: str) -> Trained | None:
    """The models of `language`, trained on first use; None for a language they do not know."""
    if language not in LANGUAGES:
        return None
    with _lock:
        model = _models.get(language)
        if model is None:
            if not _read:
                _read.extend(read(corpus.training_sets()))
            model = _models[language] = train_on(_read, language)
            if len(_models) == len(LANGUAGES):
                _read.clear()  # every language is trained: the read comments are not needed
        return model


def read(items: Sequence[corpus.Labelled]) -> list[Read]:
    """Labelled comments read by the built-in rules, in order."""
    rules = RuleTagger(default_taxonomy())
    found = []
    for item in items:
        result, evidence = rules.read(item.text, item.language, decide=_labelled(item))
        seen = tuple(features(evidence))
        polarity = tuple(
            (tag, tuple(polarity_features(evidence, seen, tag, str(result.polarity_of(tag)))))
            for tag in result.tags
            if tag in item.tags
        )
        found.append(Read(item, evidence.language, seen, evidence.found, polarity))
    return found


def _labelled(item: corpus.Labelled) -> Callable[[Evidence], frozenset[str]]:
    """A decision that gives the labelled tags, so the rules read each one's polarity."""
    return lambda _: item.tags


def train_on(comments: Sequence[Read], language: str) -> Trained:
    """The models of `language` trained on the comments written in it."""
    mine = [comment for comment in comments if comment.language == language]
    tags = train(
        [Example(comment.features, comment.item.tags, comment.item.set) for comment in mine],
        TAGS,
        STACKED,
    )
    labelled = [
        Example(
            said,
            frozenset({PRAISE}) if dict(comment.item.polarity).get(tag) == PRAISE else frozenset(),
            comment.item.set,
        )
        for comment in mine
        for tag, said in comment.polarity
        if tag in dict(comment.item.polarity)
    ]
    return Trained(tags, fit(labelled, [PRAISE], STACKED).tags[PRAISE])
