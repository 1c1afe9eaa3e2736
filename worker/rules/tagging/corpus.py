"""The labelled comments shipped with the package: what the learned tagger trains on.

Five sets per language (worker/rules/tagging/data/LABELLING.md: how they were written and
labelled), each a JSON-lines file `<set>_<language>.jsonl`. They are package data because the
learned tagger (learned.py) trains on them in every process that tags; the benchmark
(benchmarks/tagging_quality.py) and the tests read them from here too.
"""

import json
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

SETS = ("dev", "test", "final", "set4", "set5")
"""The labelled sets, oldest first: the training order, and the folds of cross-validation."""
LANGUAGES = ("en", "ja")
"""The language of each set's file (about 5% of each is written in the other one on purpose)."""


class LabelError(ValueError):
    """A labelled file that cannot be read: the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled comment: its text, the tags it gives as reasons and each tag's polarity.

    `language` is its file's (the contact's), not necessarily the one it is written in.
    """

    text: str
    tags: frozenset[str]
    polarity: tuple[tuple[str, str], ...]
    language: str
    set: str


def data_path(name: str, language: str) -> Path:
    """Where set `name` of `language` is stored in the package."""
    return Path(str(files("worker.rules.tagging") / "data" / f"{name}_{language}.jsonl"))


@cache
def labelled(name: str, language: str) -> tuple[Labelled, ...]:
    """The comments of one shipped set and language, in file order."""
    return read(data_path(name, language), language, name)


def read(path: Path, language: str, name: str = "") -> tuple[Labelled, ...]:
    """The comments of a JSON-lines file: `text`, `tags` and optionally `polarity` per line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise LabelError(f"{path}: cannot be read ({error})") from None
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise LabelError(f"{path}, line {number}: not JSON ({error.msg})") from None
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("tags"), list)
        ):
            raise LabelError(f"{path}, line {number}: needs a 'text' string and a 'tags' list")
        polarity = item.get("polarity")
        pairs = sorted(polarity.items()) if isinstance(polarity, dict) else []
        items.append(
            Labelled(
                item["text"],
                frozenset(str(tag) for tag in item["tags"]),
                tuple((str(tag), str(value)) for tag, value in pairs),
                language,
                name,
            )
        )
    return tuple(items)


def training_sets(leave_out: str | None = None) -> tuple[Labelled, ...]:
    """Every shipped comment of both languages in a fixed order, without set `leave_out`."""
    return tuple(
        item
        for name in SETS
        if name != leave_out
        for language in LANGUAGES
        for item in labelled(name, language)
    )
