"""`nps-worker tags test`: the tags, polarity and matched words one comment gets, in EN or JA."""

from pathlib import Path

import pytest

from tests.unit.test_config import EXAMPLE
from worker.cli import main


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
