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
polarity model's: praise when its probability is at least one half, from the comment's features,
the words near the tag and the rules' reading of the tag's polarity (the tone of the words near
the topic, else of the comment, else the score). The rules' reading still gives every other
tag's, and the score's stays when the words carry no tone at all (the model never saw a score).
`learned: false` (config `tagging`) turns the models off: the rules alone, exactly as before.
"""

from collections.abc import Callable, Iterable, Sequence

from worker.config.tags import Tag
from worker.rules.tagging.features import features, polarity_features
from worker.rules.tagging.tagger import Evidence, Opinion, Polarity, RuleTagger, TagResult
from worker.rules.tagging.training import Trained, trained

REASONS = 3
"""How many of the model's weightiest features explain a tag it adds or removes."""
PRAISED_FROM = 0.5
"""The polarity model's probability of praise from which a tag is praise."""


class Tagger:
    """Tags comments with one taxonomy (the config's `tags`): rules, then the learned models."""

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
        self._decided = tuple(sorted(tag.id for tag in tags if tag.builtin and tag.builtin_words))

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
        kept = tuple(dict.fromkeys(chosen))
        opinion = _SecondOpinion(self._decided, self._models or trained)
        result, _ = self._rules.read(comment, language, kept, score, opinion.decide)
        return opinion.applied(result, kept, score)


class _SecondOpinion:
    """The learned models' view of one comment: asked while the rules read it (`decide`), then
    applied to their result (`applied`)."""

    def __init__(self, decided: tuple[str, ...], models: Callable[[str], Trained | None]) -> None:
        self.decided = decided
        self.models = models
        self.found: Trained | None = None
        self.evidence: Evidence | None = None
        self.seen: list[str] = []
        self.opinions: list[Opinion] = []

    def decide(self, evidence: Evidence) -> set[str]:
        """The tags the comment gives: the model's for the tags it decides, the rules' for the
        rest, and the tags of RevOps' own words whatever the model says."""
        self.found = found = self.models(evidence.language)
        if found is None:
            return set(evidence.found)
        self.evidence = evidence
        self.seen = seen = features(evidence)
        given = (set(evidence.found) - set(self.decided)) | evidence.own
        probabilities = found.tags.probabilities(seen)
        for tag in self.decided:
            weights = found.tags.tags.get(tag)
            if weights is None:
                given |= {tag} & evidence.found
                continue
            probability = probabilities[tag]
            rules = tag in evidence.found
            give = probability >= weights.threshold or tag in evidence.own
            if give:
                given.add(tag)
            reasons = weights.reasons(seen, give, REASONS) if give != rules else ()
            self.opinions.append(Opinion(tag, probability, weights.threshold, rules, give, reasons))
        return given

    def applied(self, result: TagResult, kept: tuple[str, ...], score: int | None) -> TagResult:
        """`result` with the polarity model's verdict on each tag the model gave from the
        comment (the score's stays where the words carry no tone) and the opinions, the tags
        given first in the result's order, then those the model removed, then the rest."""
        evidence = self.evidence
        if self.found is None or evidence is None:
            return result
        model = self.found.praise
        praised = {
            opinion.tag: model.probability(
                polarity_features(
                    evidence, self.seen, opinion.tag, str(result.polarity_of(opinion.tag))
                )
            )
            for opinion in self.opinions
            if opinion.given
            and opinion.tag not in kept
            and (score is None or opinion.tag in evidence.toned or evidence.tone)
        }
        polarity = dict(result.polarity or {})
        for tag, probability in praised.items():
            polarity[tag] = Polarity.PRAISE if probability >= PRAISED_FROM else Polarity.COMPLAINT
        order = {tag: index for index, tag in enumerate(result.tags)}
        opinions = sorted(
            (
                o._replace(praise=praise) if (praise := praised.get(o.tag)) is not None else o
                for o in self.opinions
            ),
            key=lambda o: (order.get(o.tag, len(order) + (not o.removed)), o.tag),
        )
        return TagResult(
            result.tags,
            result.summary,
            result.matches,
            polarity,
            result.language,
            result.ruled_out,
            tuple(opinions),
        )
