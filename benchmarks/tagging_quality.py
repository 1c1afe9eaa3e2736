"""Reason tagging quality on the labelled comments in tests/data: per-tag precision, recall, F1.

    .venv/bin/python benchmarks/tagging_quality.py [--set NAME|all]   # NAME: a set below
    .venv/bin/python benchmarks/tagging_quality.py --en PATH --ja PATH [--errors]
    .venv/bin/python benchmarks/tagging_quality.py --speed 10000

`--en` / `--ja` score any labelled file in the same JSON-lines format (one or both languages),
for a set kept outside the repository; `--errors` also lists each comment the tagger got wrong
(missed and extra tags).

The sets (tests/data/LABELLING.md describes the labelling rules):
- `tuning` (tagging_{en,ja}.jsonl, 200 each) and `holdout` (tagging_holdout_*, 40 each): the
  project's first sets, labelled before the negation convention of LABELLING.md section 3
  ("never crashes" was no tag there; it is quality, praised, now), so they undercount it;
- `dev` (tagging_dev_*, 300 each): written by someone who never saw the tagger's words; the
  lexicon may be tuned on it;
- `test` (tagging_test_*, 320 each): written with `dev`, held out in issue 21's first round and
  tuned on in its second: development data now;
- `final` (tagging_final_*, 341 EN / 330 JA): written after the second round by someone who saw
  neither the tagger nor the other sets, and measured once with the lexicon frozen (macro-F1
  0.84 EN / 0.87 JA on 2026-12-02); issue 21's third round tuned on it (0.96 / 0.96 after), so
  it is development data now;
- `set4` (tagging_set4_*, 340 each): written after round 3 by someone who saw only the guide;
  measured once (0.88 EN / 0.91 JA), tuned on in round 4: development data;
- `set5` (tagging_set5_*, 340 each): written during round 4 by someone who saw only the guide,
  never shown to whoever tuned, and measured once after round 4 (macro-F1 0.87 EN / 0.90 JA on
  2026-12-02): the honest estimate. A round that tunes on it needs a newer set
  (`--en PATH --ja PATH`).

Uses the default taxonomy exactly as a config without `tags` gets it, and the contact's language
is the file's (about 5% of each new set is written in the other language on purpose). Macro-F1
is the mean F1 over the seven tags. Polarity accuracy is over the tags both the label and the
tagger give (sets without polarity labels show "-"). `--speed N` tags N comments drawn from the
sets and prints the time.
"""

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

from worker.config.tags import default_taxonomy
from worker.rules.tagging import Tagger

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
LANGUAGES = ("en", "ja")
SETS = {
    "tuning": "tagging",
    "holdout": "tagging_holdout",
    "dev": "tagging_dev",
    "test": "tagging_test",
    "final": "tagging_final",
    "set4": "tagging_set4",
    "set5": "tagging_set5",
}


@dataclass(frozen=True)
class Row:
    """Counts and scores of one tag in one language."""

    tag: str
    support: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class Quality:
    """A set's per-tag rows and its polarity accuracy (None without polarity labels)."""

    rows: list[Row]
    polarity: float | None
    comments: int


class LabelError(ValueError):
    """A labelled file that cannot be read: the message names the file and line."""


def load(prefix: str, language: str) -> list[dict[str, object]]:
    """The labelled comments of one set and language in tests/data."""
    return load_path(DATA / f"{prefix}_{language}.jsonl")


def load_path(path: Path) -> list[dict[str, object]]:
    """The labelled comments of a JSON-lines file: `text`, `tags` and optionally `polarity`."""
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
        items.append(item)
    return items


def evaluate(language: str, prefix: str = "tagging", tagger: Tagger | None = None) -> Quality:
    """Tag every labelled comment of `language` and score each tag against the labels."""
    return score(load(prefix, language), language, tagger)


def score(
    items: list[dict[str, object]],
    language: str,
    tagger: Tagger | None = None,
    errors: list[str] | None = None,
) -> Quality:
    """Score the tagger on labelled comments whose contact language is `language`; each wrong
    comment is appended to `errors` when given."""
    tagger = tagger or Tagger(default_taxonomy())
    counts = {tag.id: [0, 0, 0] for tag in default_taxonomy()}
    agreed = compared = 0
    for item in items:
        result = tagger.tag(str(item["text"]), language)
        truth = set(item["tags"])  # type: ignore[call-overload]
        found = set(result.tags)
        if errors is not None and truth != found:
            missed, extra = sorted(truth - found), sorted(found - truth)
            errors.append(f"    missed {missed} extra {extra}: {item['text']}")
        for tag, (hits, false_pos, false_neg) in counts.items():
            counts[tag] = [
                hits + (tag in truth and tag in found),
                false_pos + (tag in found and tag not in truth),
                false_neg + (tag in truth and tag not in found),
            ]
        labelled = item.get("polarity")
        if isinstance(labelled, dict):
            for tag in truth & found:
                compared += 1
                agreed += labelled[tag] == result.polarity_of(tag)
    rows = []
    for tag, (hits, false_pos, false_neg) in counts.items():
        precision = hits / (hits + false_pos) if hits + false_pos else 1.0
        recall = hits / (hits + false_neg) if hits + false_neg else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(Row(tag, hits + false_neg, precision, recall, f1))
    return Quality(rows, agreed / compared if compared else None, len(items))


def measure(language: str, prefix: str = "tagging") -> list[Row]:
    """Per-tag rows of one set and language."""
    return evaluate(language, prefix).rows


def macro_f1(rows: list[Row]) -> float:
    """Mean F1 over tags."""
    return sum(row.f1 for row in rows) / len(rows)


def table(language: str, rows: list[Row], polarity: float | None = None) -> str:
    """The per-tag table as aligned text."""
    lines = [f"{language}: {'tag':<16} {'n':>4} {'precision':>9} {'recall':>7} {'f1':>6}"]
    lines += [
        f"    {r.tag:<16} {r.support:>4} {r.precision:>9.2f} {r.recall:>7.2f} {r.f1:>6.2f}"
        for r in rows
    ]
    lines.append(f"    {'macro-F1':<16} {'':>4} {'':>9} {'':>7} {macro_f1(rows):>6.2f}")
    shown = "-" if polarity is None else f"{polarity:.2f}"
    lines.append(f"    {'polarity acc.':<16} {'':>4} {'':>9} {'':>7} {shown:>6}")
    return "\n".join(lines)


def speed(count: int) -> str:
    """Time to tag `count` comments (half English, half Japanese) with one tagger."""
    tagger = Tagger(default_taxonomy())
    pool = [
        (str(item["text"]), language)
        for language in LANGUAGES
        for prefix in SETS.values()
        for item in load(prefix, language)
    ]
    comments = [pool[i % len(pool)] for i in range(count)]
    started = time.perf_counter()
    tagger.tag("warm up", "en")
    tagger.tag("準備", "ja")
    warmed, cpu = time.perf_counter(), time.process_time()
    for text, language in comments:
        tagger.tag(text, language)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    return (
        f"tagged {count} comments in {done - warmed:.2f} s wall, {cpu:.2f} s CPU "
        f"({count / (done - warmed):.0f}/s; lexicons compiled in {warmed - started:.2f} s)"
    )


def main() -> None:
    """Print the tables of the chosen sets, or the speed run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--set", choices=(*SETS, "all"), default="all")
    parser.add_argument("--en", type=Path, metavar="PATH", help="an English labelled file")
    parser.add_argument("--ja", type=Path, metavar="PATH", help="a Japanese labelled file")
    parser.add_argument("--errors", action="store_true", help="list the comments tagged wrong")
    parser.add_argument("--speed", type=int, metavar="N", help="time tagging N comments")
    args = parser.parse_args()
    if args.speed:
        print(speed(args.speed))
        return
    files = {language: path for language, path in (("en", args.en), ("ja", args.ja)) if path}
    if files:
        runs = [(str(path), language, path) for language, path in files.items()]
    else:
        chosen = list(SETS) if args.set == "all" else [args.set]
        runs = [
            (name, language, DATA / f"{SETS[name]}_{language}.jsonl")
            for name in chosen
            for language in LANGUAGES
        ]
    tagger = Tagger(default_taxonomy())
    for name, language, path in runs:
        try:
            items = load_path(path)
        except LabelError as error:
            raise SystemExit(str(error)) from None
        errors: list[str] | None = [] if args.errors else None
        quality = score(items, language, tagger, errors)
        print(f"[{name}, {quality.comments} comments]")
        print(table(language, quality.rows, quality.polarity))
        for line in errors or ():
            print(line)


if __name__ == "__main__":
    main()
