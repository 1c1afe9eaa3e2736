"""Reason tagging quality on the labelled comments in tests/data: per-tag precision and recall.

    .venv/bin/python benchmarks/tagging_quality.py [--set holdout]

`tagging_{en,ja}.jsonl` (200 each) is the set the keywords were tuned on; `--set holdout` scores
`tagging_holdout_{en,ja}.jsonl` (40 each), written afterwards and never used for tuning, which
is the fairer estimate for comments the tagger has not seen.

Uses the default taxonomy (worker/config/tags.py) exactly as a config without `tags` gets it.
Macro-F1 is the mean F1 over the taxonomy's tags; the unit tests require >= 0.8 per language.
"""

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from worker.config.tags import default_taxonomy
from worker.rules.tagging import Tagger

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class Row:
    """Counts and scores of one tag in one language."""

    tag: str
    support: int
    precision: float
    recall: float
    f1: float


def measure(language: str, prefix: str = "tagging") -> list[Row]:
    """Tag every labelled comment of `language` and score each tag against the labels."""
    tagger = Tagger(default_taxonomy())
    counts = {tag.id: [0, 0, 0] for tag in default_taxonomy()}
    lines = (DATA / f"{prefix}_{language}.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        item = json.loads(line)
        truth, found = set(item["tags"]), set(tagger.tag(item["text"], language).tags)
        for tag, (hits, false_pos, false_neg) in counts.items():
            counts[tag] = [
                hits + (tag in truth and tag in found),
                false_pos + (tag in found and tag not in truth),
                false_neg + (tag in truth and tag not in found),
            ]
    rows = []
    for tag, (hits, false_pos, false_neg) in counts.items():
        precision = hits / (hits + false_pos) if hits + false_pos else 1.0
        recall = hits / (hits + false_neg) if hits + false_neg else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(Row(tag, hits + false_neg, precision, recall, f1))
    return rows


def macro_f1(rows: list[Row]) -> float:
    """Mean F1 over tags."""
    return sum(row.f1 for row in rows) / len(rows)


def table(language: str, rows: list[Row]) -> str:
    """The per-tag table as aligned text."""
    lines = [f"{language}: {'tag':<16} {'n':>4} {'precision':>9} {'recall':>7} {'f1':>6}"]
    lines += [
        f"    {r.tag:<16} {r.support:>4} {r.precision:>9.2f} {r.recall:>7.2f} {r.f1:>6.2f}"
        for r in rows
    ]
    lines.append(f"    {'macro-F1':<16} {'':>4} {'':>9} {'':>7} {macro_f1(rows):>6.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=("tuning", "holdout"), default="tuning")
    chosen = parser.parse_args().set
    for language in LANGUAGES:
        prefix = "tagging" if chosen == "tuning" else "tagging_holdout"
        print(table(language, measure(language, prefix)))
