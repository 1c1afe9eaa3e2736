"""Reason tagging quality on labelled comments: per-tag precision, recall, F1; speed.

    .venv/bin/python benchmarks/tagging_quality.py --cv                # the honest estimate
    .venv/bin/python benchmarks/tagging_quality.py [--set NAME|all] [--rules]
    .venv/bin/python benchmarks/tagging_quality.py --en PATH --ja PATH [--errors] [--rules]
    .venv/bin/python benchmarks/tagging_quality.py --speed 10000

`--cv` is leave-one-set-out cross-validation of the learned tagger over the five shipped sets
(worker/rules/tagging/data): for each set, a model is trained on the other four (thresholds
chosen by cross-validation inside those four), and the set is tagged with it, per language;
each fold prints per-tag P/R/F1 of the learned tagger beside the rules alone, and the end the
mean over the folds. The rules were tuned on dev, test, final and set4, so their figures there
(and the learned tagger's, which takes the rules' answer as evidence) are optimistic; set5 is
the one fold neither saw before it was measured.

Without `--cv`, a set is tagged by the worker's tagger (the learned one, trained on all five
shipped sets, so its scores on them are scores on its training data) or, with `--rules`, by the
rules alone. `--en` / `--ja` score any labelled file in the same JSON-lines format (one or both
languages), for a set kept outside the repository; `--errors` also lists each comment tagged
wrong (missed and extra tags).

The sets (worker/rules/tagging/data/LABELLING.md describes the labelling rules):
- `tuning` (tests/data/tagging_{en,ja}.jsonl, 200 each) and `holdout` (tagging_holdout_*, 40
  each): the project's first sets, labelled before the negation convention of LABELLING.md
  section 3 ("never crashes" was no tag there; it is quality, praised, now), so they undercount
  it; the learned tagger does not train on them;
- `dev` (300 each): written by someone who never saw the tagger's words; the lexicon was tuned
  on it;
- `test` (320 each): written with `dev`, held out in issue 21's first round and tuned on in its
  second;
- `final` (341 EN / 330 JA): written after the second round by someone who saw neither the
  tagger nor the other sets, measured once (macro-F1 0.84 EN / 0.87 JA), tuned on in round 3;
- `set4` (340 each): written after round 3 by someone who saw only the guide; measured once
  (0.88 EN / 0.91 JA), tuned on in round 4;
- `set5` (340 each): written during round 4 by someone who saw only the guide, measured once by
  the rules after round 4 (0.87 EN / 0.90 JA), never tuned on by hand; training data of the
  learned tagger since issue 21's model round;
- `set6` (tests/data/tagging_set6_*, 340 each): the held-out set, written after the learned
  tagger was frozen by two writers who saw only the labelling guide, measured once (learned
  0.90 EN / 0.91 JA, rules alone 0.86 / 0.87); never trained or tuned on. A new estimate after
  tuning on it would need a newer set (`--en PATH --ja PATH`).

Uses the default taxonomy exactly as a config without `tags` gets it, and the contact's language
is the file's (about 5% of each set is written in the other language on purpose). Macro-F1 is
the mean F1 over the seven tags. Polarity accuracy is over the tags both the label and the
tagger give (sets without polarity labels show "-"). `--speed N` tags N comments drawn from the
sets with the learned tagger and prints the time, the model's training time apart.
"""

import argparse
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from worker.config.tags import default_taxonomy
from worker.rules.tagging import RuleTagger, Tagger, TagResult, corpus, training
from worker.rules.tagging.corpus import LabelError, Labelled

KEPT = Path(__file__).resolve().parents[1] / "tests" / "data"
LANGUAGES = corpus.LANGUAGES
KEPT_SETS = {"tuning": "tagging", "holdout": "tagging_holdout", "set6": "tagging_set6"}
"""Sets kept in tests/data: not shipped, not trained on. The project's first sets, and set6,
written after the learned tagger was frozen: the held-out set."""
SETS = (*KEPT_SETS, *corpus.SETS)


def path(name: str, language: str) -> Path:
    """The file of one set (a name of SETS) and language."""
    if name in KEPT_SETS:
        return KEPT / f"{KEPT_SETS[name]}_{language}.jsonl"
    return corpus.data_path(name, language)


class Tags(Protocol):
    """What is scored: the worker's tagger or the rules alone."""

    def tag(self, comment: str | None, language: str) -> TagResult:
        """The tags of one comment."""
        ...


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


@dataclass(frozen=True)
class Fold:
    """One set tagged by a model trained without it, and by the rules alone."""

    held_out: str
    language: str
    learned: Quality
    rules: Quality


def load(name: str, language: str) -> tuple[Labelled, ...]:
    """The labelled comments of one set (a key of SETS) and language."""
    return corpus.read(path(name, language), language, name)


def evaluate(language: str, name: str = "tuning", tagger: Tags | None = None) -> Quality:
    """Tag every labelled comment of a set and score each tag against the labels."""
    return score(load(name, language), language, tagger)


def score(
    items: Iterable[Labelled],
    language: str,
    tagger: Tags | None = None,
    errors: list[str] | None = None,
) -> Quality:
    """Score the tagger (default: the worker's) on labelled comments whose contact language is
    `language`; each wrong comment is appended to `errors` when given."""
    tagger = tagger or Tagger(default_taxonomy())
    counts = {tag.id: [0, 0, 0] for tag in default_taxonomy()}
    agreed = compared = total = 0
    for item in items:
        total += 1
        result = tagger.tag(item.text, language)
        truth = set(item.tags)
        found = set(result.tags)
        if errors is not None and truth != found:
            missed, extra = sorted(truth - found), sorted(found - truth)
            errors.append(f"    missed {missed} extra {extra}: {item.text}")
        for tag, (hits, false_pos, false_neg) in counts.items():
            counts[tag] = [
                hits + (tag in truth and tag in found),
                false_pos + (tag in found and tag not in truth),
                false_neg + (tag in truth and tag not in found),
            ]
        labelled = dict(item.polarity)
        if labelled:
            for tag in truth & found:
                compared += 1
                agreed += labelled[tag] == result.polarity_of(tag)
    rows = []
    for tag, (hits, false_pos, false_neg) in counts.items():
        precision = hits / (hits + false_pos) if hits + false_pos else 1.0
        recall = hits / (hits + false_neg) if hits + false_neg else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(Row(tag, hits + false_neg, precision, recall, f1))
    return Quality(rows, agreed / compared if compared else None, total)


def macro_f1(rows: Sequence[Row]) -> float:
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


def folds(held_out: Sequence[str] = corpus.SETS) -> list[Fold]:
    """Leave-one-set-out cross-validation: each set of `held_out` tagged by a model trained on
    the other shipped sets (thresholds chosen inside them), in both languages."""
    comments = training.read(corpus.training_sets())
    rules = RuleTagger(default_taxonomy())
    found = []
    for name in held_out:
        rest = [comment for comment in comments if comment.item.set != name]
        models = {language: training.train_on(rest, language) for language in LANGUAGES}
        tagger = Tagger(default_taxonomy(), models=models.get)
        for language in LANGUAGES:
            items = corpus.labelled(name, language)
            found.append(
                Fold(name, language, score(items, language, tagger), score(items, language, rules))
            )
    return found


def fold_table(fold: Fold) -> str:
    """One fold's per-tag table: the learned tagger's P/R/F1 and the rules' F1 beside it."""
    head = f"{'tag':<16} {'n':>4} {'precision':>9} {'recall':>7} {'f1':>6} {'rules f1':>9}"
    lines = [f"{fold.language}: {head}"]
    for learned, rules in zip(fold.learned.rows, fold.rules.rows, strict=True):
        lines.append(
            f"    {learned.tag:<16} {learned.support:>4} {learned.precision:>9.2f}"
            f" {learned.recall:>7.2f} {learned.f1:>6.2f} {rules.f1:>9.2f}"
        )
    lines.append(
        f"    {'macro-F1':<16} {'':>4} {'':>9} {'':>7} {macro_f1(fold.learned.rows):>6.2f}"
        f" {macro_f1(fold.rules.rows):>9.2f}"
    )
    lines.append(
        f"    {'polarity acc.':<16} {'':>4} {'':>9} {'':>7} {fold.learned.polarity or 0:>6.2f}"
        f" {fold.rules.polarity or 0:>9.2f}"
    )
    return "\n".join(lines)


def mean_table(found: Sequence[Fold], language: str) -> str:
    """Per tag, the F1 of the learned tagger and of the rules, averaged over the folds."""
    mine = [fold for fold in found if fold.language == language]
    tags = [row.tag for row in mine[0].learned.rows]
    learned = [sum(fold.learned.rows[i].f1 for fold in mine) / len(mine) for i in range(len(tags))]
    rules = [sum(fold.rules.rows[i].f1 for fold in mine) / len(mine) for i in range(len(tags))]
    lines = [f"{language}: {'tag':<16} {'learned f1':>10} {'rules f1':>9}"]
    lines += [
        f"    {t:<16} {a:>10.2f} {b:>9.2f}" for t, a, b in zip(tags, learned, rules, strict=True)
    ]
    lines.append(
        f"    {'macro-F1':<16} {sum(learned) / len(tags):>10.3f} {sum(rules) / len(tags):>9.3f}"
    )
    lines.append(f"    {'lowest tag':<16} {min(learned):>10.2f} {min(rules):>9.2f}")
    lowest = [
        min(row.f1 for fold in mine for row in getattr(fold, kind).rows)
        for kind in ("learned", "rules")
    ]
    lines.append(f"    {'lowest in a fold':<16} {lowest[0]:>10.2f} {lowest[1]:>9.2f}")
    polarity = [
        sum(getattr(fold, kind).polarity or 0 for fold in mine) / len(mine)
        for kind in ("learned", "rules")
    ]
    lines.append(f"    {'polarity acc.':<16} {polarity[0]:>10.2f} {polarity[1]:>9.2f}")
    return "\n".join(lines)


def speed(count: int) -> str:
    """Time to tag `count` comments (half English, half Japanese) with the worker's tagger,
    after training its models (timed apart)."""
    started, cpu = time.perf_counter(), time.process_time()
    for language in LANGUAGES:
        training.trained(language)
    trained, train_cpu = time.perf_counter(), time.process_time() - cpu
    tagger = Tagger(default_taxonomy())
    pool = [
        (item.text, language)
        for language in LANGUAGES
        for name in SETS
        for item in load(name, language)
    ]
    comments = [pool[i % len(pool)] for i in range(count)]
    tagger.tag("warm up", "en")
    tagger.tag("準備", "ja")
    warmed, cpu = time.perf_counter(), time.process_time()
    for text, language in comments:
        tagger.tag(text, language)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    return (
        f"tagged {count} comments in {done - warmed:.2f} s wall, {cpu:.2f} s CPU "
        f"({count / (done - warmed):.0f}/s); models trained in {trained - started:.2f} s wall, "
        f"{train_cpu:.2f} s CPU (both languages, once per process), "
        f"lexicons compiled in {warmed - trained:.2f} s"
    )


def main() -> None:
    """Print the tables of the chosen sets, the cross-validation, or the speed run."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=(*SETS, "all"), default="all")
    parser.add_argument("--en", type=Path, metavar="PATH", help="an English labelled file")
    parser.add_argument("--ja", type=Path, metavar="PATH", help="a Japanese labelled file")
    parser.add_argument("--errors", action="store_true", help="list the comments tagged wrong")
    parser.add_argument("--rules", action="store_true", help="score the rules alone")
    parser.add_argument("--cv", action="store_true", help="leave-one-set-out cross-validation")
    parser.add_argument("--speed", type=int, metavar="N", help="time tagging N comments")
    args = parser.parse_args()
    if args.speed:
        print(speed(args.speed))
        return
    if args.cv:
        started = time.perf_counter()
        found = folds()
        for fold in found:
            print(f"[held out: {fold.held_out}, {fold.learned.comments} comments]")
            print(fold_table(fold))
        print(f"[mean over {len(corpus.SETS)} folds]")
        for language in LANGUAGES:
            print(mean_table(found, language))
        print(f"({time.perf_counter() - started:.1f} s)")
        return
    files = {language: path for language, path in (("en", args.en), ("ja", args.ja)) if path}
    if files:
        runs = [(str(file), language, file) for language, file in files.items()]
    else:
        chosen = list(SETS) if args.set == "all" else [args.set]
        runs = [(name, language, path(name, language)) for name in chosen for language in LANGUAGES]
    tagger: Tags = RuleTagger(default_taxonomy()) if args.rules else Tagger(default_taxonomy())
    for name, language, file in runs:
        try:
            items = corpus.read(file, language, name)
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
