"""The words on the pages, one JSON file per language in `texts/`; others fall back to English.

Kept as data so a translator edits a file of sentences, not Python.
"""

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path

TEXTS_DIRECTORY = Path(__file__).resolve().parent / "texts"
"""One JSON file of sentences per language, named by its language code."""
_AVAILABLE = frozenset(path.stem for path in TEXTS_DIRECTORY.glob("*.json"))


@cache
def _load(language: str) -> Mapping[str, str]:
    path = TEXTS_DIRECTORY / f"{language}.json"
    words: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return words


def texts_for(language: str) -> Mapping[str, str]:
    """The words of the pages in `language`, English when we have no translation."""
    return _load(language if language in _AVAILABLE else "en")
