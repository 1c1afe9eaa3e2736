"""The learned second opinion: deterministic training, thresholds by cross-validation, the
switch, RevOps' own words still forcing their tags, and what it adds to or removes from the rules.
"""

import pytest

from worker.config.tags import BUILTIN_LABELS, Tag, default_taxonomy
from worker.rules.tagging import Polarity, RuleTagger, Tagger, corpus, training
from worker.rules.tagging.features import (
    NO_TAG,
    POLARITY,
    RULES,
    WORDS,
    features,
    polarity_features,
)
from worker.rules.tagging.learned import (
    DEFAULT_THRESHOLD,
    THRESHOLDS,
    Example,
    Model,
    TagWeights,
    best_threshold,
    choose_thresholds,
    fit,
    train,
)
from worker.rules.tagging.training import Trained

TAGS = tuple(BUILTIN_LABELS)
P, C = Polarity.PRAISE, Polarity.COMPLAINT
TAGGER = Tagger(default_taxonomy())


def _toy(praise: dict[str, float] | None = None, **weights: dict[str, float]) -> Trained:
    """Models whose tags have only the given weights (bias -2: no tag without evidence), and
    whose polarity model has the `praise` weights (none: every tag praised, at 0.5)."""
    tags = Model({tag: TagWeights(weights.get(tag, {}), -2.0, DEFAULT_THRESHOLD) for tag in TAGS})
    return Trained(tags, TagWeights(praise or {}, 0.0))


def _examples() -> list[Example]:
    """A small problem: "slow" is quality, "price" is price_contract, in three groups."""
    found = []
    for group in ("a", "b", "c"):
        found += [
            Example(["w slow", "w page"], frozenset({"quality"}), group),
            Example(["w price", "w high"], frozenset({"price_contract"}), group),
            Example(["w slow", "w price"], frozenset({"quality", "price_contract"}), group),
            Example(["w great"], frozenset(), group),
        ]
    return found


class TestTraining:
    """Per-tag logistic regression in pure Python, the same every time."""

    def test_training_is_deterministic(self) -> None:
        """The same examples give the same weights, bias and thresholds."""
        assert train(_examples(), ["quality", "price_contract"]) == train(
            _examples(), ["quality", "price_contract"]
        )

    def test_model_learns_the_words_of_each_tag(self) -> None:
        """A comment with a tag's word gets that tag's probability above its threshold."""
        model = train(_examples(), ["quality", "price_contract"])
        quality = model.tags["quality"]
        assert quality.probability(["w slow"]) >= quality.threshold
        assert quality.probability(["w great"]) < quality.threshold
        assert model.tags["price_contract"].probability(["w price"]) > 0.5

    def test_all_tags_at_once_as_each_alone(self) -> None:
        """`Model.probabilities` gives every tag the probability its own classifier gives."""
        model = train(_examples(), ["quality", "price_contract"])
        comment = ["w slow", "w price", "w unknown"]
        assert model.probabilities(comment) == pytest.approx(
            {tag: weights.probability(comment) for tag, weights in model.tags.items()}
        )

    def test_masked_features_still_count_when_present(self) -> None:
        """Features hidden from half the steps are learned, and the others carry weight too."""
        examples = [
            Example([f"{RULES}quality", "w slow"], frozenset({"quality"}), "a"),
            Example(["w fine"], frozenset(), "a"),
        ] * 10
        weights = fit(examples, ["quality"], masked=(RULES,)).tags["quality"].weights
        assert weights[f"{RULES}quality"] > 0
        assert weights["w slow"] > 0

    def test_rare_features_are_dropped(self) -> None:
        """A feature seen in one training comment only gets no weight."""
        examples = [*_examples(), Example(["w once"], frozenset({"quality"}), "a")]
        assert "w once" not in fit(examples, ["quality"]).tags["quality"].weights

    def test_reasons_are_the_weightiest_features_of_the_side_given(self) -> None:
        """Toward the tag: positive weights, strongest first; against it: negative ones."""
        weights = TagWeights({"w a": 0.5, "w b": 2.0, "w c": -1.0, "w d": -0.2}, 0.0)
        present = ["w a", "w b", "w c", "w d", "w e"]
        assert weights.reasons(present, toward=True, count=3) == (("w b", 2.0), ("w a", 0.5))
        assert weights.reasons(present, toward=False, count=1) == (("w c", -1.0),)


class TestThresholds:
    """Each tag's threshold comes from out-of-fold probabilities, never the fitted ones."""

    def test_best_f1_threshold(self) -> None:
        """The threshold with the best F1 over the pairs; ties go to the one nearest 0.5."""
        pairs = [(0.9, True), (0.29, True), (0.26, False), (0.1, False)]
        assert best_threshold(pairs) == 0.275  # the one threshold between 0.26 and 0.29
        assert best_threshold([(0.9, True), (0.45, True), (0.4, False)]) == 0.45
        assert best_threshold([(0.9, True), (0.1, False)]) == 0.5

    def test_one_group_keeps_the_default(self) -> None:
        """Without a second group there is nothing to cross-validate on."""
        one = [example for example in _examples() if example.group == "a"]
        assert choose_thresholds(one, ["quality"]) == {"quality": DEFAULT_THRESHOLD}

    def test_thresholds_come_from_the_grid(self) -> None:
        """Cross-validation over the groups picks each tag's threshold from THRESHOLDS."""
        chosen = choose_thresholds(_examples(), ["quality", "price_contract"])
        assert set(chosen.values()) <= set(THRESHOLDS)


class TestTrainedModels:
    """The models the worker uses, trained once per process on the shipped sets."""

    def test_trained_once_per_language(self) -> None:
        """The first call trains; later calls return the same model; no other language."""
        assert training.trained("en") is training.trained("en")
        assert set(training.trained("ja").tags.tags) == set(TAGS)  # type: ignore[union-attr]
        assert training.trained("fr") is None

    def test_training_on_the_same_comments_gives_the_same_model(self) -> None:
        """Fixed seed and order: two trainings on two shipped sets agree exactly."""
        read = training.read([*corpus.labelled("dev", "en"), *corpus.labelled("test", "en")])
        assert training.train_on(read, "en") == training.train_on(read, "en")

    def test_features_of_a_comment(self) -> None:
        """Words by match key, neighbouring pairs, and the rules' answer per tag."""
        _, evidence = RuleTagger(default_taxonomy()).read("The app crashes daily.", "en")
        found = features(evidence)
        assert f"{WORDS}crash" in found
        assert f"{WORDS}app crash" in found
        assert f"{RULES}quality" in found
        assert NO_TAG not in found


class TestTagger:
    """The rules with the learned model's opinion per tag."""

    def test_model_adds_and_removes_tags(self) -> None:
        """A tag at its threshold is given whatever the rules found; one below is not."""
        model = _toy(support={f"{WORDS}crash": 5.0}, quality={f"{RULES}quality": -9.0})
        tagger = Tagger(default_taxonomy(), models={"en": model}.get)
        result = tagger.tag("The app crashes daily.", "en")
        assert result.tags == ("support",)
        by_tag = {opinion.tag: opinion for opinion in result.opinions}
        assert by_tag["support"].added
        assert by_tag["support"].reasons == ((f"{WORDS}crash", 5.0),)
        assert by_tag["quality"].removed
        assert by_tag["quality"].reasons == ((f"{RULES}quality", -9.0),)
        assert [m.tag for m in result.matches] == ["quality"]

    def test_switched_off_the_rules_decide_alone(self) -> None:
        """`learned=False` gives exactly the rules' result, with no opinion."""
        model = _toy(support={f"{WORDS}crash": 5.0})
        tagger = Tagger(default_taxonomy(), learned=False, models={"en": model}.get)
        comment = "The app crashes daily."
        assert tagger.tag(comment, "en") == RuleTagger(default_taxonomy()).tag(comment, "en")
        assert tagger.tag(comment, "en").opinions == ()

    @pytest.mark.parametrize(
        ("comment", "language"),
        [
            pytest.param("The zorblax is why we renewed.", "en", id="en"),
            pytest.param("ゾルブラックスが決め手でした。", "ja", id="ja"),
        ],
    )
    def test_own_words_tag_as_before(self, comment: str, language: str) -> None:
        """A word RevOps listed for a built-in tag, unknown to the model, still tags it."""
        own = Tag(id="price_contract", keywords={"en": ("zorblax",), "ja": ("ゾルブラックス",)})
        tags = [*(tag for tag in default_taxonomy() if tag.id != own.id), own]
        result = Tagger(tags).tag(comment, language)
        assert result.tags == ("price_contract",)
        assert [(m.tag, m.keyword) for m in result.matches] == [
            ("price_contract", own.keywords[language][0])
        ]

    def test_own_words_force_against_a_model_that_says_no(self) -> None:
        """Even a model set firmly against the tag does not remove a tag of listed words."""
        own = Tag(id="support", keywords={"en": ("concierge",)})
        model = _toy(support={f"{WORDS}concierg": -9.0})
        tags = [*(tag for tag in default_taxonomy() if tag.id != "support"), own]
        result = Tagger(tags, models={"en": model}.get).tag("Our concierge is great.", "en")
        assert "support" in result.tags

    def test_tags_the_model_does_not_decide(self) -> None:
        """Chosen tags stay; a tag of the config's own and one without built-in words are the
        rules' alone, and so is every tag in a language without a model."""
        tags = [
            Tag(id="support", keywords={"en": ("helpdesk",)}, builtin_words=False),
            Tag(id="shipping", labels={"en": "Shipping"}, keywords={"en": ("courier",)}),
            Tag(id="quality"),
        ]
        model = _toy(support={f"{WORDS}helpdesk": -9.0}, shipping={f"{WORDS}courier": -9.0})
        tagger = Tagger(tags, models={"en": model}.get)
        result = tagger.tag("The helpdesk and the courier were fine.", "en", chosen=["quality"])
        assert result.tags == ("quality", "support", "shipping")
        assert [opinion.tag for opinion in result.opinions] == ["quality"]
        assert Tagger(default_taxonomy()).tag("Le support est rapide", "fr").opinions == ()

    def test_polarity_model_decides_the_polarity_of_tags_it_gives(self) -> None:
        """A tag given from the comment is praise when the polarity model says so, whatever
        the rules read; a tag only chosen keeps the rules' polarity (here: the score's)."""
        praise = {f"{POLARITY}complaint @quality": 9.0}
        model = _toy(praise, quality={f"{RULES}quality": 5.0})
        tagger = Tagger(default_taxonomy(), models={"en": model}.get)
        result = tagger.tag("The app crashes daily.", "en", chosen=["support"], score=3)
        assert result.tags == ("support", "quality")
        assert result.polarity_of("quality") is Polarity.PRAISE
        assert result.polarity_of("support") is Polarity.COMPLAINT
        opinion = next(o for o in result.opinions if o.tag == "quality")
        assert opinion.praise is not None
        assert opinion.praise > 0.99

    def test_polarity_features_say_the_tag(self) -> None:
        """The comment's features, then the words near the tag and the rules' reading (and
        where it came from), each as it is and again as said of the tag."""
        _, evidence = RuleTagger(default_taxonomy()).read("Slow.", "en")
        assert polarity_features(evidence, ["w slow"], "quality", "complaint") == [
            "w slow",
            "near: slow",
            f"{POLARITY}complaint",
            "near: slow @quality",
            f"{POLARITY}complaint @quality",
        ]
        said = polarity_features(evidence, [], "support", "praise")
        assert f"{POLARITY}praise (comment)" in said

    def test_score_decides_when_the_words_carry_no_tone(self) -> None:
        """Without a word of sentiment, the score's polarity stays: the model never saw one."""
        model = _toy({"w pricing": 9.0}, price_contract={f"{RULES}price_contract": 5.0})
        tagger = Tagger(default_taxonomy(), models={"en": model}.get)
        assert tagger.tag("Pricing.", "en", score=2).polarity_of("price_contract") is C
        assert tagger.tag("Pricing.", "en").polarity_of("price_contract") is P

    def test_trained_polarity_follows_the_words(self) -> None:
        """The trained polarity model praises what the comment praises."""
        result = TAGGER.tag("Support answers within minutes, always friendly.", "en")
        assert result.polarity_of("support") is Polarity.PRAISE
        result = TAGGER.tag("サポートの返事が遅すぎる。", "ja")
        assert result.polarity_of("support") is Polarity.COMPLAINT
