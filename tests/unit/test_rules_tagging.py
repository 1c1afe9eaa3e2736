"""Reason tagging: forms, boundaries, senses, open vocabulary, negation, polarity, languages."""

import sys
from pathlib import Path

import pytest

from worker.config import load_config
from worker.config.tags import Tag, default_taxonomy
from worker.rules.tagging import (
    SUMMARY_CHARS,
    Polarity,
    RuleTagger,
    Tagger,
    detect_language,
    summarize,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import tagging_quality
from tagging_quality import Tags, evaluate, folds, macro_f1, table

RULES = RuleTagger(default_taxonomy())
TAGGER = Tagger(default_taxonomy())
EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
P, C = Polarity.PRAISE, Polarity.COMPLAINT


def _tagged(comment: str, language: str, tagger: Tags = RULES) -> dict[str, Polarity | None]:
    result = tagger.tag(comment, language)
    return {tag: result.polarity_of(tag) for tag in result.tags}


# Each case names the failure type of issue 21 it covers; the tags and polarity are those the
# labelling guide (worker/rules/tagging/data/LABELLING.md) gives.
CASES = [
    # Normalisation: half-width katakana, full-width letters, case.
    pytest.param("ｻﾎﾟｰﾄの対応がいつも早い!", "ja", {"support": P}, id="ja-half-width-kana"),
    pytest.param(
        "ＣＳＶの取り込みが毎回失敗する。",
        "ja",
        {"integrations": C, "quality": C},
        id="ja-full-width",
    ),
    pytest.param("THE UI IS CLUNKY.", "en", {"usability": C}, id="en-upper-case"),
    # Japanese base forms and spelling variants.
    pytest.param("画面が使いやすかったです。", "ja", {"usability": P}, id="ja-inflected-adjective"),
    pytest.param(
        "繁忙期でも一度も落ちなかった。", "ja", {"quality": P}, id="ja-inflected-verb-negated"
    ),
    pytest.param("操作がカンタンで助かる。", "ja", {"usability": P}, id="ja-kana-spelling"),
    # Japanese word boundaries: a keyword inside an unrelated compound or phrase.
    pytest.param("精度が高いので満足。", "ja", {}, id="ja-takai-not-price"),
    pytest.param(
        "担当者との連携が取れていない。", "ja", {"support": C}, id="ja-renkei-between-people"
    ),
    pytest.param("請求書発行機能が便利。", "ja", {"feature_value": P}, id="ja-invoice-feature"),
    # English word senses.
    pytest.param(
        "It supports SCIM as well as SAML, so accounts appear with our directory.",
        "en",
        {"integrations": P},
        id="en-supports-saml",
    ),
    pytest.param(
        "Multi-currency support is solid.", "en", {"feature_value": P}, id="en-capability-support"
    ),
    pytest.param(
        "Their team is easy to work with.", "en", {"support": P}, id="en-easy-to-work-with"
    ),
    # Open vocabulary: symptoms, features named by their nouns, implicit reasons.
    pytest.param("The page goes white every afternoon.", "en", {"quality": C}, id="en-symptom"),
    pytest.param("keeps logging me out every 20 minutes", "en", {"quality": C}, id="en-logouts"),
    pytest.param(
        "Totals from the payroll run didn't match the ledger.",
        "en",
        {"quality": C},
        id="en-data-error",
    ),
    # LABELLING.md section 6: a report, PDF or dashboard that is wrong is feature value and
    # quality; one that is slow or crashes is quality only.
    pytest.param(
        "Numbers in the revenue report didn't match the ledger.",
        "en",
        {"feature_value": C, "quality": C},
        id="en-wrong-report",
    ),
    pytest.param("Reports take forever to load.", "en", {"quality": C}, id="en-slow-report"),
    # LABELLING.md section 4: the clause after "but" / けど carries the verdict.
    pytest.param("Support is friendly but slow.", "en", {"support": C}, id="en-but-verdict"),
    pytest.param(
        "Great features, but the price keeps going up.",
        "en",
        {"feature_value": P, "price_contract": C},
        id="en-but-unjudged-topic",
    ),
    pytest.param("サポートは丁寧だけど、返事が遅い。", "ja", {"support": C}, id="ja-but-verdict"),
    pytest.param(
        "帳票の合計金額がときどき合わない。",
        "ja",
        {"feature_value": C, "quality": C},
        id="ja-wrong-report",
    ),
    pytest.param(
        "No way to do partial shipments.", "en", {"feature_value": C}, id="en-feature-noun"
    ),
    pytest.param(
        "We lost a whole day of orders on Tuesday.", "en", {"quality": C}, id="en-implicit"
    ),
    # Typos and word forms.
    pytest.param(
        "The intergration keeps crashing.", "en", {"integrations": C, "quality": C}, id="en-typo"
    ),
    pytest.param("suport never answered my ticket", "en", {"support": C}, id="en-typo-negated"),
    pytest.param("Crashed twice, crashes daily.", "en", {"quality": C}, id="en-word-forms"),
    # A correctly spelt word is never read as the lexicon word it resembles.
    pytest.param(
        "Last Friday the scheduling engine double-booked two of our drivers.",
        "en",
        {"quality": C},
        id="en-real-word-not-a-typo",
    ),
    pytest.param("Recommended it to two friends already.", "en", {}, id="en-stem-collision"),
    # Word senses: an attribute said of another topic, a verb sense, a day.
    pytest.param(
        "The interface is friendly enough that people just got on with it.",
        "en",
        {"usability": P},
        id="en-friendly-interface",
    ),
    pytest.param(
        "Our account manager helps us plan the next quarter.",
        "en",
        {"support": P},
        id="en-plan-as-verb",
    ),
    pytest.param(
        "The whole region was down for most of a workday.",
        "en",
        {"quality": C},
        id="en-workday-as-a-day",
    ),
    pytest.param(
        "サポートに電話すると、毎回すぐにつながる。",
        "ja",
        {"support": P},
        id="ja-phone-connects-is-support",
    ),
    pytest.param(
        "監査対応がとても楽になった品質管理の機能。",
        "ja",
        {"feature_value": P},
        id="ja-taiou-not-support",
    ),
    pytest.param(
        "導入以来、連携が一度もこけていない。",
        "ja",
        {"integrations": P, "quality": P},
        id="ja-since-introduction-not-onboarding",
    ),
    # The convention: a negated problem is praise; a ruled-out topic is not tagged.
    pytest.param("It never crashes.", "en", {"quality": P}, id="en-never-crashes"),
    pytest.param("Bug-free so far.", "en", {"quality": P}, id="en-bug-free"),
    pytest.param(
        "Not slow, and support is great.", "en", {"quality": P, "support": P}, id="en-not-slow"
    ),
    pytest.param(
        "No complaints about the price, but the app is slow.",
        "en",
        {"quality": C},
        id="en-ruled-out",
    ),
    pytest.param(
        "Can't comment on support, never needed it. Too expensive.",
        "en",
        {"price_contract": C},
        id="en-cant-comment",
    ),
    pytest.param(
        "Support is fine, no complaints there. But the menus are a maze.",
        "en",
        {"usability": C},
        id="en-fine-but",
    ),
    pytest.param(
        "The system itself is stable, but support is slow.",
        "en",
        {"quality": P, "support": C},
        id="en-positive-claim",
    ),
    pytest.param(
        "遅くはないけど、メニューが多すぎる。", "ja", {"usability": C}, id="ja-concession"
    ),
    pytest.param(
        "料金に不満はないが、サポートの返信が遅い。", "ja", {"support": C}, id="ja-no-complaints"
    ),
    pytest.param("全然重くない。", "ja", {"quality": P}, id="ja-not-heavy"),
    pytest.param(
        "製品の機能に関しては特に不満はありません。ただ研修が一回きりだった。",
        "ja",
        {"onboarding": C},
        id="ja-ni-kanshite-conceded",
    ),
    pytest.param("Support never answered my ticket.", "en", {"support": C}, id="en-topic-negated"),
    pytest.param("The UI is not intuitive.", "en", {"usability": C}, id="en-negated-praise"),
    pytest.param("サポートから返信がない。", "ja", {"support": C}, id="ja-topic-negated"),
    # Polarity per tag, and requests as complaints.
    pytest.param(
        "Great onboarding, shame about the price.",
        "en",
        {"onboarding": P, "price_contract": C},
        id="en-mixed",
    ),
    pytest.param("Please add an offline mode.", "en", {"feature_value": C}, id="en-request"),
    pytest.param(
        "承認フローをもう少し柔軟に設定できるとありがたいです。",
        "ja",
        {"feature_value": C},
        id="ja-request",
    ),
    # No reason given.
    pytest.param("Great!", "en", {}, id="en-no-reason"),
    pytest.param("特にありません。", "ja", {}, id="ja-no-reason"),
    pytest.param("", "en", {}, id="empty"),
]


class TestTagger:
    """What a comment gives as reasons, and how it presents each."""

    @pytest.mark.parametrize(("comment", "language", "expected"), CASES)
    def test_tags_and_polarity(
        self, comment: str, language: str, expected: dict[str, Polarity]
    ) -> None:
        """The rules give the comment exactly these tags, each with this polarity."""
        assert _tagged(comment, language) == expected

    def test_learned_tagger_keeps_to_the_guide(self) -> None:
        """The learned tagger gives all but one of the cases exactly (it adds integrations to
        「担当者との連携が取れていない」, 連携 between people: the word outweighs the rules'
        reading of it)."""
        wrong = [
            case.id
            for case in CASES
            if _tagged(str(case.values[0]), str(case.values[1]), TAGGER) != case.values[2]
        ]
        assert len(wrong) <= 1, wrong

    def test_chosen_tags_are_kept_first(self) -> None:
        """Tags chosen on the survey page stay, as given, ahead of those found."""
        result = TAGGER.tag("Too expensive.", "en", chosen=("support", "support"))
        assert result.tags == ("support", "price_contract")

    def test_score_decides_what_the_words_leave_open(self) -> None:
        """A chip without a comment is praise from a promoter and a complaint from the rest."""
        assert TAGGER.tag("", "en", ("support",), score=10).polarity_of("support") is P
        assert TAGGER.tag("", "en", ("support",), score=7).polarity_of("support") is C
        assert TAGGER.tag("Pricing.", "en", score=2).polarity_of("price_contract") is C

    def test_matches_name_the_keyword_and_the_words(self) -> None:
        """What matched is reported per tag, with the comment's words and their lean."""
        result = TAGGER.tag("The app crashes.", "en")
        assert [(m.tag, m.keyword, m.text, m.polarity) for m in result.matches] == [
            ("quality", "crash", "crashes", C)
        ]
        ruled = TAGGER.tag("Price aside, the menus are a maze.", "en").ruled_out
        assert [(m.tag, m.text) for m in ruled] == [("price_contract", "price")]

    def test_taxonomy_is_replaceable(self) -> None:
        """A tag of the config's own is matched by its own words only."""
        custom = Tagger(
            [
                Tag(
                    id="shipping",
                    labels={"en": "Shipping"},
                    keywords={"en": ("delivery",)},
                    problems={"en": ("late",)},
                )
            ]
        )
        assert custom.tag("Delivery was late", "en").tags == ("shipping",)
        assert custom.tag("Deliveries were never late", "en").polarity_of("shipping") is P
        assert custom.tag("Too expensive", "en").tags == ()

    def test_config_words_add_to_the_builtin_lexicon(self) -> None:
        """Words RevOps list for a built-in tag are added to its lexicon, in every form."""
        own = Tagger(
            [
                Tag(id="support", keywords={"en": ("concierge",), "ja": ("コンシェルジュ",)}),
                Tag(id="price_contract", praise={"en": ("bargain basement",)}),
            ]
        )
        assert own.tag("The concierges answered fast", "en").tags == ("support",)
        assert own.tag("コンシェルジュが丁寧", "ja").tags == ("support",)
        assert own.tag("Support never replied", "en").tags == ("support",)
        assert own.tag("Bargain basement rates", "en").polarity_of("price_contract") is P
        only = Tagger([Tag(id="support", keywords={"en": ("concierge",)}, builtin_words=False)])
        assert only.tag("Support never replied", "en").tags == ()

    def test_unknown_language_is_read_by_its_script(self) -> None:
        """A comment in a language without a lexicon is tagged in the one its script shows."""
        assert TAGGER.tag("サポートが最高", "fr").tags == ("support",)


@pytest.mark.parametrize(
    ("text", "expected", "language"),
    [
        pytest.param("サポートが親切です", "en", "ja", id="japanese-from-an-english-contact"),
        pytest.param("Support is kind but the price is high.", "ja", "en", id="english-in-ja"),
        pytest.param("UIが使いにくい", "en", "ja", id="mixed-script-with-kana"),
        pytest.param("Le support est rapide", "fr", "fr", id="other-latin-kept"),
        pytest.param("12345", "ja", "ja", id="no-letters-kept"),
    ],
)
def test_comment_language_follows_its_script(text: str, expected: str, language: str) -> None:
    """The comment's own language decides which lexicon reads it."""
    assert detect_language(text, expected) == language


def test_comment_in_the_other_language_is_tagged() -> None:
    """A Japanese comment from a contact marked English gets the Japanese lexicon's tags."""
    result = TAGGER.tag("料金が高すぎる。", "en")
    assert (result.language, result.tags) == ("ja", ("price_contract",))
    assert TAGGER.tag("The price is too high.", "ja").tags == ("price_contract",)


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        pytest.param("Great support. Pricing is high.", "Great support.", id="first-sentence"),
        pytest.param("サポートが良い。価格は高い。", "サポートが良い", id="japanese"),
        pytest.param("  many\n\n spaces ", "many", id="whitespace"),
        pytest.param("word " * 60, ("word " * 23).strip() + "…", id="trimmed-at-a-word"),
    ],
)
def test_summary(text: str, summary: str) -> None:
    """The summary is the first sentence, at most SUMMARY_CHARS characters."""
    assert summarize(text) == summary
    assert len(summarize(text)) <= SUMMARY_CHARS


# Floors of the rules alone on the labelled sets, just under what benchmarks/tagging_quality.py
# --rules measured when the lexicon was last changed (issue 21, round 4): they fail if quality
# drops. Every set here is development data (the old tuning and holdout sets count negated
# problems as no tag, see the benchmark's docstring): the final set was measured once after
# round 2 (0.84 EN / 0.87 JA) and tuned on in round 3; set4 was measured once after round 3
# (0.88 / 0.91) and tuned on in round 4; set5 was measured once after round 4 (0.87 / 0.90) and
# never tuned on by hand, but the learned tagger trains on it.
FLOORS = [
    pytest.param("set5", "en", 0.86, 0.80, id="set5-en"),
    pytest.param("set5", "ja", 0.89, 0.76, id="set5-ja"),
    pytest.param("set4", "en", 0.905, 0.85, id="set4-en"),
    pytest.param("set4", "ja", 0.935, 0.895, id="set4-ja"),
    pytest.param("final", "en", 0.96, 0.885, id="final-en"),
    pytest.param("final", "ja", 0.955, 0.89, id="final-ja"),
    pytest.param("dev", "en", 0.96, 0.93, id="dev-en"),
    pytest.param("dev", "ja", 0.95, 0.92, id="dev-ja"),
    pytest.param("test", "en", 0.92, 0.86, id="test-en"),
    pytest.param("test", "ja", 0.93, 0.86, id="test-ja"),
    pytest.param("tuning", "en", 0.90, 0.8, id="tuning-en"),
    pytest.param("tuning", "ja", 0.88, 0.8, id="tuning-ja"),
    pytest.param("holdout", "en", 0.87, 0.76, id="holdout-en"),
    pytest.param("holdout", "ja", 0.87, 0.78, id="holdout-ja"),
]


@pytest.mark.parametrize(("prefix", "language", "macro", "per_tag"), FLOORS)
def test_labelled_set_quality(prefix: str, language: str, macro: float, per_tag: float) -> None:
    """The rules keep their macro-F1 and every tag's F1 on the labelled sets."""
    quality = evaluate(language, prefix, RULES)
    shown = table(language, quality.rows, quality.polarity)
    assert macro_f1(quality.rows) >= macro, shown
    assert min(row.f1 for row in quality.rows) >= per_tag, shown


# Floors of the learned tagger (the worker's) where it has not trained: the set5 fold of the
# cross-validation (trained on the other four sets; the one fold the rules were not tuned on
# either), set6 (written after the tagger was frozen, held out: measured once at 0.902 EN /
# 0.909 JA, lowest tag 0.82 quality / 0.85 feature_value, polarity 0.91 / 0.96; the rules alone
# 0.86 / 0.87), and the project's first sets, which it never trains on (measured 0.93 EN /
# 0.90 JA on tuning, lowest tag 0.83 / 0.82; 0.90 / 0.91 on the 40-comment holdout, lowest
# 0.70 / 0.82: its quality labels predate the negation convention).
LEARNED_FLOORS = [
    pytest.param("set6", "en", 0.89, 0.80, id="set6-en"),
    pytest.param("set6", "ja", 0.90, 0.83, id="set6-ja"),
    pytest.param("tuning", "en", 0.92, 0.81, id="tuning-en"),
    pytest.param("tuning", "ja", 0.88, 0.80, id="tuning-ja"),
    pytest.param("holdout", "en", 0.88, 0.68, id="holdout-en"),
    pytest.param("holdout", "ja", 0.89, 0.80, id="holdout-ja"),
]


@pytest.mark.parametrize(("name", "language", "macro", "per_tag"), LEARNED_FLOORS)
def test_learned_quality_on_sets_it_never_saw(
    name: str, language: str, macro: float, per_tag: float
) -> None:
    """The learned tagger keeps its macro-F1 and every tag's F1 on sets it never trained on."""
    quality = evaluate(language, name, TAGGER)
    shown = table(language, quality.rows, quality.polarity)
    assert macro_f1(quality.rows) >= macro, shown
    assert min(row.f1 for row in quality.rows) >= per_tag, shown


def test_learned_quality_cross_validated_on_set5() -> None:
    """Trained without set5, the learned tagger beats the rules on it: macro-F1 at least 0.90
    EN / 0.92 JA, no tag below 0.82 / 0.83, polarity right on at least 93% / 94% of the tags
    both it and the labels give (measured 0.908 / 0.926, lowest tag 0.84 / 0.85, polarity
    0.94 / 0.95; the rules 0.87 / 0.90 and polarity 0.88 / 0.88)."""
    floors = {"en": (0.90, 0.82, 0.93), "ja": (0.92, 0.83, 0.94)}
    for fold in folds(["set5"]):
        macro, per_tag, polarity = floors[fold.language]
        shown = table(fold.language, fold.learned.rows, fold.learned.polarity)
        assert macro_f1(fold.learned.rows) >= macro, shown
        assert macro_f1(fold.learned.rows) > macro_f1(fold.rules.rows), shown
        assert min(row.f1 for row in fold.learned.rows) >= per_tag, shown
        assert fold.learned.polarity is not None
        assert fold.rules.polarity is not None
        assert fold.learned.polarity >= polarity, shown
        assert fold.learned.polarity > fold.rules.polarity, shown


@pytest.mark.parametrize("language", ["en", "ja"])
def test_polarity_accuracy(language: str) -> None:
    """The rules' polarity agrees with the labels on at least 90% of the tags found on the dev
    set, 86% on the round-1 test set and 85% on set4 (measured after round 4: 0.96/0.91,
    0.90/0.87 and 0.86/0.90 EN/JA). The learned tagger's is measured on the set5 fold above:
    on these sets, its training data, it is near 1.0 and says nothing."""
    for prefix, floor in (("dev", 0.90), ("test", 0.86), ("set4", 0.85)):
        quality = evaluate(language, prefix, RULES)
        assert quality.polarity is not None
        assert quality.polarity >= floor, prefix


@pytest.mark.parametrize("language", ["en", "ja"])
@pytest.mark.parametrize("prefix", ["tuning", "holdout", "dev", "test", "set4"])
def test_example_config_loses_nothing(prefix: str, language: str) -> None:
    """config.example.yaml's tag lists tag at least as well as the built-in default."""
    example = Tagger(load_config(EXAMPLE, env={}).tags)
    builtin = macro_f1(evaluate(language, prefix, TAGGER).rows)
    assert macro_f1(evaluate(language, prefix, example).rows) >= builtin


def test_benchmark_scores_files_given_by_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tagging_quality.py --en PATH --ja PATH` prints the per-tag table of files anywhere."""
    english, japanese = tmp_path / "en.jsonl", tmp_path / "ja.jsonl"
    english.write_text(
        '{"text": "The app crashes daily.", "tags": ["quality"], '
        '"polarity": {"quality": "complaint"}}\n',
        encoding="utf-8",
    )
    japanese.write_text('{"text": "料金が高すぎる。", "tags": ["price_contract"]}\n', "utf-8")
    argv = ["tagging_quality.py", "--en", str(english), "--ja", str(japanese)]
    monkeypatch.setattr(sys, "argv", argv)
    tagging_quality.main()
    printed = capsys.readouterr().out
    assert f"[{english}, 1 comments]" in printed
    assert f"[{japanese}, 1 comments]" in printed
    assert "    quality             1      1.00    1.00   1.00" in printed
    assert "    price_contract      1      1.00    1.00   1.00" in printed
    assert printed.count("macro-F1") == 2


def test_benchmark_names_the_bad_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A labelled file that is not JSON lines stops the benchmark with its file and line."""
    broken = tmp_path / "set.jsonl"
    broken.write_text('{"text": "ok", "tags": []}\n{"text": "cut\n', encoding="utf-8")
    monkeypatch.setattr(sys, "argv", ["tagging_quality.py", "--en", str(broken)])
    with pytest.raises(SystemExit, match=rf"{broken}, line 2: not JSON"):
        tagging_quality.main()
