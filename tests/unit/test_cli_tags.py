"""`nps-worker tags test`: the tags, polarity and matched words one comment gets, in EN or JA."""

import re
from pathlib import Path

import pytest

from tests.unit.test_config import EXAMPLE
from worker.cli import main
from worker.config.tags import BUILTIN_LABELS
from worker.rules.tagging import combined
from worker.rules.tagging.features import RULES, WORDS
from worker.rules.tagging.learned import Model, TagWeights
from worker.rules.tagging.training import Trained


@pytest.fixture(autouse=True)
def _no_config_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables the example reads are unset, whatever the machine has."""
    for name in ("NPS_WORKER_CONFIG", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["tags", "test", *args, "--config", str(EXAMPLE)])
    captured = capsys.readouterr()
    assert captured.err == ""
    return code, captured.out.splitlines()


class TestTagsTest:
    """RevOps try a comment against the config's taxonomy before answers come in."""

    def test_english_comment(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Tags with their polarity, the words that matched, and the topics ruled out."""
        code, lines = _run(
            capsys, "No complaints about the price, but the app crashes and support never replied."
        )
        assert code == 0
        assert lines[:6] == [
            "comment language: en",
            "tags:",
            "  quality (Quality / incidents): complaint",
            "      matched \"crashes\" (keyword 'crash', complaint)",
            "  support (Support): complaint",
            "      matched \"support\" (keyword 'support', complaint)",
        ]
        assert "ruled out (a topic the comment concedes, not a reason):" in lines
        assert '    price_contract: "the price"' in lines

    def test_japanese_comment_in_japanese(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A Japanese comment is reported in Japanese, with the Japanese labels."""
        code, lines = _run(capsys, "ｻﾎﾟｰﾄの返信が遅い。", "--language", "ja")
        assert code == 0
        assert lines[:3] == ["コメントの言語: ja", "タグ:", "  support (サポート): 不満"]

    def test_config_words_are_used(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Words the example config adds to a built-in tag are matched and reported."""
        _, lines = _run(capsys, "Our concierge is wonderful.")
        assert "  support (Support): praise" in lines
        assert "      matched \"concierge\" (keyword 'concierge', praise)" in lines

    def test_language_differs_from_the_contacts(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An English comment from a Japanese contact is read, and reported, in English."""
        _, lines = _run(capsys, "Too expensive.", "--language", "ja")
        assert lines[0] == "comment language: en (read from its script; the contact's is ja)"

    def test_no_reason(self, capsys: pytest.CaptureFixture[str]) -> None:
        """A comment without a reason says so."""
        _, lines = _run(capsys, "Thanks!")
        assert lines[1] == "tags: none — no reason found in the comment"

    def test_score_out_of_range_is_a_usage_error(
        self, capsys: pytest.CaptureFixture[str], tmp_path: Path
    ) -> None:
        """A score outside 0-10 exits 2 with one line."""
        assert main(["tags", "test", "ok", "--score", "11", "--config", str(EXAMPLE)]) == 2
        assert capsys.readouterr().err.strip() == "tags test: --score 11 is not between 0 and 10"


class TestLearnedOpinion:
    """With `tagging.learned` on, each tag's probability and the model's changes are shown."""

    def test_english_probabilities(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Every built-in tag's probability against its threshold, and the rules' answer."""
        _, lines = _run(capsys, "The app crashes every day.")
        start = lines.index("learned model (probability / threshold; the rules' answer):")
        shown = lines[start + 1 : start + 8]
        assert re.fullmatch(
            r"  quality: [01]\.\d\d / 0\.\d\d \(rules: yes\); praise probability [01]\.\d\d",
            shown[0],
        ), shown
        assert sorted(line.split(":")[0].strip() for line in shown) == sorted(BUILTIN_LABELS)

    def test_japanese_probabilities(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The same, in Japanese for a Japanese comment."""
        _, lines = _run(capsys, "画面が固まって仕事にならない。", "--language", "ja")
        start = lines.index("学習モデル (確率 / しきい値、ルールの判定):")
        assert re.fullmatch(
            r"  quality: [01]\.\d\d / 0\.\d\d \(ルール: あり\); 評価の確率 [01]\.\d\d",
            lines[start + 1],
        )

    @pytest.mark.parametrize(
        ("comment", "language", "expected"),
        [
            pytest.param(
                "The app crashes every day.",
                "en",
                [
                    "  support: 0.99 / 0.50 (rules: no) ADDED by the model;"
                    " praise probability 0.50",
                    '      weighed most: "crash" +6.00',
                    "  quality: 0.00 / 0.50 (rules: yes) REMOVED by the model",
                    "      weighed most: rules give quality -9.00",
                    "      matched \"crashes\" (keyword 'crash')",
                ],
                id="en",
            ),
            pytest.param(
                "アプリが毎日落ちる。",
                "ja",
                [
                    "  support: 0.99 / 0.50 (ルール: なし) モデルが追加; 評価の確率 0.50",
                    '      主な根拠: "落ちる" +6.00',
                    "  quality: 0.00 / 0.50 (ルール: あり) モデルが除外",
                    "      主な根拠: ルールの判定 quality -9.00",
                    "      一致 \"落ちる\" (キーワード '落ちる')",
                ],
                id="ja",
            ),
        ],
    )
    def test_added_and_removed_tags(
        self,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
        comment: str,
        language: str,
        expected: list[str],
    ) -> None:
        """A tag the model adds or removes is marked, with the features that weighed most and,
        for a removed one, the rules' matches."""
        tags = Model(
            {
                tag: TagWeights(
                    {f"{WORDS}crash": 6.0, f"{WORDS}落ちる": 6.0}
                    if tag == "support"
                    else {f"{RULES}quality": -9.0},
                    -1.5,
                )
                for tag in BUILTIN_LABELS
            }
        )
        model = Trained(tags, TagWeights({}, 0.0))
        monkeypatch.setattr(combined, "trained", {language: model}.get)
        _, lines = _run(capsys, comment, "--language", language)
        start = lines.index(expected[0])
        assert lines[start : start + len(expected)] == expected

    def test_switched_off(self, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
        """With `tagging.learned: false` the rules answer alone, and the output says so."""
        config = tmp_path / "config.yaml"
        text = EXAMPLE.read_text(encoding="utf-8").replace("  learned: true", "  learned: false")
        config.write_text(text, encoding="utf-8")
        assert main(["tags", "test", "The app crashes.", "--config", str(config)]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert "learned model: off (tagging.learned: false), the rules alone" in lines
        assert "  quality (Quality / incidents): complaint" in lines
