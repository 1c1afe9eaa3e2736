"""Per-tag logistic regression over named binary features, in pure Python.

One binary classifier per tag, trained by plain stochastic gradient descent on the log loss
with averaged weights (the average of every step's weights generalises better than the last
step's and needs no regularisation constant to tune). Training is deterministic: examples are
visited in an order drawn from a fixed seed, and the same examples give the same weights.

Each tag's decision threshold is chosen by cross-validation over the examples' groups (the
labelled sets): the model is trained once without each group, the group's probabilities
predicted, and the threshold that maximises the tag's F1 over all these out-of-fold predictions
kept. The test of a threshold is never the data the probabilities were fitted on.

No numpy: the container carries no numerical library for this, and a few thousand comments
with a few dozen features each train in about a second.
"""

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from math import exp

SEED = 21
EPOCHS = 4
RATE = 0.2
SETTLED = 0.05
"""An example predicted this close to its label (probability within 0.05 of it) moves no
weight: the step would be small, and skipping it makes training a good deal faster."""
MIN_COUNT = 2
"""A feature seen in fewer training comments than this is dropped: it cannot generalise."""
DROP = 0.5
"""The share of training steps that see a comment without its `masked` features (see `fit`)."""
THRESHOLDS = tuple(round(0.2 + 0.025 * step, 3) for step in range(25))
"""The thresholds cross-validation chooses from (0.2 to 0.8)."""
DEFAULT_THRESHOLD = 0.5
_LIMIT = 30.0


@dataclass(frozen=True, slots=True)
class Example:
    """One training comment: its features, the tags it was labelled with, its set."""

    features: Sequence[str]
    tags: frozenset[str]
    group: str


@dataclass(frozen=True, slots=True)
class TagWeights:
    """One tag's classifier: a weight per feature, a bias, and the threshold it decides by."""

    weights: Mapping[str, float]
    bias: float
    threshold: float = DEFAULT_THRESHOLD

    def probability(self, features: Sequence[str]) -> float:
        """The probability that a comment with `features` gives the tag."""
        found = map(self.weights.get, features, repeat(0.0))
        return _sigmoid(self.bias + sum(found))

    def reasons(
        self, features: Sequence[str], toward: bool, count: int
    ) -> tuple[tuple[str, float], ...]:
        """The `count` features that pushed hardest toward giving the tag (or, `toward` False,
        against it), strongest first."""
        sign = 1.0 if toward else -1.0
        weighed = [
            (feature, weight)
            for feature in features
            if (weight := self.weights.get(feature, 0.0)) * sign > 0
        ]
        weighed.sort(key=lambda pair: (-abs(pair[1]), pair[0]))
        return tuple((feature, round(weight, 2)) for feature, weight in weighed[:count])


@dataclass(frozen=True, slots=True)
class Model:
    """The classifiers of every tag the model was trained for."""

    tags: Mapping[str, TagWeights]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _dense: tuple[tuple[str, float, list[float]], ...] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Every tag's weights in one list per tag, by feature number: a comment's features are
        # looked up once for all tags (`probabilities`), not once per tag.
        names = sorted({name for weights in self.tags.values() for name in weights.weights})
        object.__setattr__(self, "_index", {name: i for i, name in enumerate(names)})
        dense = tuple(
            (tag, w.bias, [w.weights.get(name, 0.0) for name in names])
            for tag, w in self.tags.items()
        )
        object.__setattr__(self, "_dense", dense)

    def probabilities(self, features: Sequence[str]) -> dict[str, float]:
        """Every tag's probability for a comment with `features` (as TagWeights.probability)."""
        index = self._index
        found = [index[feature] for feature in features if feature in index]
        return {
            tag: _sigmoid(bias + sum(map(weights.__getitem__, found)))
            for tag, bias, weights in self._dense
        }


def train(examples: Sequence[Example], tags: Sequence[str], masked: tuple[str, ...] = ()) -> Model:
    """Fit every tag on all `examples`, each threshold chosen by cross-validation over groups."""
    thresholds = choose_thresholds(examples, tags, masked)
    fitted = fit(examples, tags, masked)
    return Model(
        {
            tag: TagWeights(weights.weights, weights.bias, thresholds[tag])
            for tag, weights in fitted.tags.items()
        }
    )


def choose_thresholds(
    examples: Sequence[Example], tags: Sequence[str], masked: tuple[str, ...] = ()
) -> dict[str, float]:
    """Per tag, the threshold with the best F1 on out-of-fold probabilities (one fold per
    group); the default one with fewer than two groups."""
    groups = list(dict.fromkeys(example.group for example in examples))
    if len(groups) < 2:
        return dict.fromkeys(tags, DEFAULT_THRESHOLD)
    scored: list[tuple[Example, dict[str, float]]] = []
    for group in groups:
        model = fit([example for example in examples if example.group != group], tags, masked)
        scored += [
            (example, {tag: model.tags[tag].probability(example.features) for tag in tags})
            for example in examples
            if example.group == group
        ]
    return {tag: best_threshold([(p[tag], tag in e.tags) for e, p in scored]) for tag in tags}


def best_threshold(pairs: Sequence[tuple[float, bool]]) -> float:
    """The threshold of THRESHOLDS with the best F1 over (probability, labelled) pairs; ties go
    to the one nearest 0.5."""

    def f1(threshold: float) -> float:
        hits = sum(1 for p, truth in pairs if truth and p >= threshold)
        given = sum(1 for p, _ in pairs if p >= threshold)
        wanted = sum(1 for _, truth in pairs if truth)
        return 2 * hits / (given + wanted) if given + wanted else 0.0

    return max(THRESHOLDS, key=lambda t: (round(f1(t), 9), -abs(t - DEFAULT_THRESHOLD)))


def fit(examples: Sequence[Example], tags: Sequence[str], masked: tuple[str, ...] = ()) -> Model:
    """Averaged-SGD logistic regression per tag; thresholds left at the default.

    Features starting with a `masked` prefix are hidden from a share DROP of the steps, so the
    other features learn to carry the decision without them. The tagger masks the rules' own
    answer: the rules were tuned on most of the training sets, so there they are right more
    often than they will be on new comments, and a model fitted on them as they are would
    trust them too much (the note of issue 21 has the cross-validation figures).
    """
    counts = Counter(feature for example in examples for feature in set(example.features))
    names = sorted(feature for feature, count in counts.items() if count >= MIN_COUNT)
    index = {feature: number for number, feature in enumerate(names)}
    rows = [
        [index[feature] for feature in example.features if feature in index] for example in examples
    ]
    truths = [[tag in example.tags for tag in tags] for example in examples]
    without_masked = [[i for i in row if not names[i].startswith(masked)] for row in rows]
    drop = random.Random(SEED + 1).random  # noqa: S311 - a fixed, reproducible sequence
    size = len(names)
    weights = [[0.0] * size for _ in tags]
    summed = [[0.0] * size for _ in tags]
    bias = [0.0] * len(tags)
    bias_summed = [0.0] * len(tags)
    order = list(range(len(rows)))
    shuffle = random.Random(SEED).shuffle  # noqa: S311 - a fixed, reproducible order
    step = 1
    for _ in range(EPOCHS):
        shuffle(order)
        for number in order:
            row, truth = rows[number], truths[number]
            if drop() < DROP:
                row = without_masked[number]
            for k, wanted in enumerate(truth):
                own = weights[k]
                z = bias[k] + sum(map(own.__getitem__, row))
                error = wanted - (1.0 / (1.0 + exp(-z)) if z > -_LIMIT else 0.0)
                if -SETTLED < error < SETTLED:
                    continue
                gradient = RATE * error
                bias[k] += gradient
                bias_summed[k] += step * gradient
                later = step * gradient
                total = summed[k]
                for i in row:
                    own[i] += gradient
                    total[i] += later
            step += 1
    return Model(
        {
            tag: TagWeights(
                {
                    name: value
                    for name, w, s in zip(names, weights[k], summed[k], strict=True)
                    if (value := w - s / step)
                },
                bias[k] - bias_summed[k] / step,
            )
            for k, tag in enumerate(tags)
        }
    )


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + exp(-max(-_LIMIT, min(_LIMIT, z))))
