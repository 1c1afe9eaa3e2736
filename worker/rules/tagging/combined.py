"""The tagger the worker uses: the rules (tagger.py), with a learned second opinion per tag.

For each built-in tag whose built-in words are on, in English and Japanese, the learned model
(training.py) gives a probability from the comment's words and the rules' own answer; the tag
is given when it reaches the tag's threshold, whatever the rules said. The rules still decide:

- tags chosen by the respondent (kept as given, first);
- tags found by words RevOps listed in the config: their words always tag, as they did before
  the model existed;
- tags of the config's own, built-in tags with `builtin_words: false`, and every tag in a
  language the model was not trained for.

Polarity stays the rules' reading of the comment (the tone of the words near the topic, else
of the comment, else the score) for every tag given. `learned: false` (config `tagging`) turns
the model off: the rules alone, exactly as before it.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from worker.config.tags import Tag
from worker.rules.tagging.features import features
from worker.rules.tagging.learned import Model
from worker.rules.tagging.tagger import Evidence, Opinion, RuleTagger, TagResult
from worker.rules.tagging.training import trained

REASONS = 3
"""How many of the model's weightiest features explain a tag it adds or removes."""


class Tagger:
    """Tags comments with one taxonomy (the config's `tags`): rules, then the learned model."""

    def __init__(
        self,
        tags: Sequence[Tag],
        *,
        learned: bool = True,
        models: Callable[[str], Model | None] | None = None,
    ) -> None:
        """`models` gives the model of a language (None: the rules alone); by default the one
        trained on every shipped set, and cross-validation passes the one of its fold."""
        self._rules = RuleTagger(tags)
        self._learned = learned
        self._models = models
        self._modelled = frozenset(tag.id for tag in tags if tag.builtin and tag.builtin_words)

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
        if not self._learned:
            return self._rules.tag(comment, language, chosen, score)
        opinions: list[Opinion] = []

        def decide(evidence: Evidence) -> set[str]:
            model = (self._models or trained)(evidence.language)
            if model is None:
                return set(evidence.found)
            given = set(evidence.found) - self._modelled | evidence.own
            seen = features(evidence)
            for tag in sorted(self._modelled & set(model.tags)):
                weights = model.tags[tag]
                probability = weights.probability(seen)
                rules = tag in evidence.found
                give = probability >= weights.threshold or tag in evidence.own
                if give:
                    given.add(tag)
                changed = give != rules
                reasons = weights.reasons(seen, give, REASONS) if changed else ()
                opinions.append(
                    Opinion(tag, round(probability, 3), weights.threshold, rules, give, reasons)
                )
            return given

        result, _ = self._rules.read(comment, language, chosen, score, decide)
        # The tags given in the result's order, then those the model removed, then the rest.
        order = {tag: index for index, tag in enumerate(result.tags)}
        opinions.sort(
            key=lambda opinion: (
                order.get(opinion.tag, len(order) + (not opinion.removed)),
                opinion.tag,
            )
        )
        return replace(result, opinions=tuple(opinions))
