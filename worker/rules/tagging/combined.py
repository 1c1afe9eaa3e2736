"""The tagger the worker uses: the rules (tagger.py), with a learned second opinion per tag.

For each built-in tag whose built-in words are on, in English and Japanese, the learned model
(training.py) gives a probability from the comment's words and the rules' own answer; the tag
is given when it reaches the tag's threshold, whatever the rules said. The rules still decide:

- tags chosen by the respondent (kept as given, first);
- tags found by words RevOps listed in the config: their words always tag, as they did before
  the model existed;
- tags of the config's own, built-in tags with `builtin_words: false`, and every tag in a
  language the model was not trained for.

The polarity of each tag the model decides and the comment gives (not one only chosen) is the
polarity model's: praise when its probability is at least one half, from the comment's features
and the rules' reading of the tag's polarity (the tone of the words near the topic, else of the
comment, else the score). The rules' reading still gives every other tag's, and the score's
stays when the words carry no tone at all (the model never saw a score). `learned: false` (config
`tagging`) turns the models off: the rules alone, exactly as before them.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from worker.config.tags import Tag
from worker.rules.tagging.features import features, polarity_features
from worker.rules.tagging.tagger import Evidence, Opinion, Polarity, RuleTagger, TagResult
from worker.rules.tagging.training import Trained, trained

REASONS = 3
"""How many of the model's weightiest features explain a tag it adds or removes."""
PRAISED_FROM = 0.5
"""The polarity model's probability of praise from which a tag is praise."""


class Tagger:
    """Tags comments with one taxonomy (the config's `tags`): rules, then the learned model."""

    def __init__(
        self,
        tags: Sequence[Tag],
        *,
        learned: bool = True,
        models: Callable[[str], Trained | None] | None = None,
    ) -> None:
        """`models` gives the models of a language (None: the rules alone); by default those
        trained on every shipped set, and cross-validation passes those of its fold."""
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
        seen: list[str] = []
        models: list[Trained] = []
        read: list[Evidence] = []

        def decide(evidence: Evidence) -> set[str]:
            found = (self._models or trained)(evidence.language)
            if found is None:
                return set(evidence.found)
            models.append(found)
            read.append(evidence)
            given = set(evidence.found) - self._modelled | evidence.own
            seen.extend(features(evidence))
            for tag in sorted(self._modelled & set(found.tags.tags)):
                weights = found.tags.tags[tag]
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

        kept = tuple(dict.fromkeys(chosen))
        result, _ = self._rules.read(comment, language, kept, score, decide)
        if not models:
            return result
        praise = {
            opinion.tag: models[0].praise.probability(
                polarity_features(read[0], seen, opinion.tag, str(result.polarity_of(opinion.tag)))
            )
            for opinion in opinions
            if opinion.given
            and opinion.tag not in kept
            and (score is None or opinion.tag in read[0].toned or read[0].tone)
        }
        polarity = dict(result.polarity or {})
        for tag, probability in praise.items():
            polarity[tag] = Polarity.PRAISE if probability >= PRAISED_FROM else Polarity.COMPLAINT
        # The tags given in the result's order, then those the model removed, then the rest.
        order = {tag: index for index, tag in enumerate(result.tags)}
        ordered = sorted(
            (
                replace(o, praise=round(praise[o.tag], 3)) if o.tag in praise else o
                for o in opinions
            ),
            key=lambda o: (order.get(o.tag, len(order) + (not o.removed)), o.tag),
        )
        return replace(result, polarity=polarity, opinions=tuple(ordered))
