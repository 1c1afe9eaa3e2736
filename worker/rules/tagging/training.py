"""The learned model of each language, trained once per process on the shipped labelled sets.

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
from collections.abc import Sequence
from dataclasses import dataclass

from worker.config.tags import BUILTIN_LABELS, default_taxonomy
from worker.rules.tagging import corpus
from worker.rules.tagging.features import STACKED, features
from worker.rules.tagging.learned import Example, Model, train
from worker.rules.tagging.tagger import RuleTagger

LANGUAGES = corpus.LANGUAGES
"""The languages the model is trained for; others are tagged by the rules alone."""
TAGS = tuple(BUILTIN_LABELS)
"""The tags the model learns: the built-in seven, the ones the labelled sets use."""


@dataclass(frozen=True, slots=True)
class Read:
    """A labelled comment as the rules read it: its label, language written in, features."""

    item: corpus.Labelled
    language: str
    features: tuple[str, ...]
    rules: frozenset[str]
    """The tags the rules alone give it."""


_lock = threading.Lock()
_models: dict[str, Model] = {}
_read: list[Read] = []


def trained(language: str) -> Model | None:
    """The model of `language`, trained on first use; None for a language it does not know."""
    if language not in LANGUAGES:
        return None
    with _lock:
        model = _models.get(language)
        if model is None:
            if not _read:
                _read.extend(read(corpus.training_sets()))
            model = _models[language] = train_on(_read, language)
        return model


def read(items: Sequence[corpus.Labelled]) -> list[Read]:
    """Labelled comments read by the built-in rules, in order."""
    rules = RuleTagger(default_taxonomy())
    found = []
    for item in items:
        _, evidence = rules.read(item.text, item.language)
        found.append(Read(item, evidence.language, tuple(features(evidence)), evidence.found))
    return found


def train_on(comments: Sequence[Read], language: str) -> Model:
    """A model of `language` trained on the comments written in it."""
    return train(
        [
            Example(comment.features, comment.item.tags, comment.item.set)
            for comment in comments
            if comment.language == language
        ],
        TAGS,
        STACKED,
    )
