"""`nps-worker check`: exit 0 and a summary on a good file, 2 and one exact line on a bad one."""

from pathlib import Path

import pytest

from tests.unit.test_check_corpus import machine
from tests.unit.test_config import BROKEN, EXAMPLE
from worker.cli import main

_complete_machine = pytest.fixture(autouse=True)(machine.__wrapped__)  # type: ignore[attr-defined]
"""Every variable the example names is set and the key file exists, so each test's exit code
is about its file alone."""


class TestCheck:
    """The check command through `worker.cli.main`, as RevOps runs it."""

    def test_example_is_valid(self, capsys: pytest.CaptureFixture[str]) -> None:
        """The documented example passes and a short summary is printed on stdout."""
        assert main(["check", "--offline", "--config", str(EXAMPLE)]) == 0
        captured = capsys.readouterr()
        assert "salesforce, 4 of 4 programs enabled" in captured.out
        assert captured.err == ""

    @pytest.mark.parametrize(("text", "where", "path", "message"), BROKEN)
    def test_broken_config_exits_2(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        *,
        text: str,
        where: str,
        path: str,
        message: str,
    ) -> None:
        """A bad file exits 2 and stderr is one line naming file:line:col and the key."""
        config = tmp_path / "config.yaml"
        config.write_text(text, encoding="utf-8")
        assert main(["check", "--config", str(config)]) == 2
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, captured.err
        prefix = f"{config}:{where}: {path}: " if path else f"{config}:{where}: "
        assert lines[0].startswith(prefix)
        assert message in lines[0]
        assert captured.out == ""

    def test_unset_variables_exit_2_naming_each(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The example on a machine without its secrets: exit 2, one line per variable."""
        for name in ("SALESFORCE_USERNAME", "SMTP_PASSWORD", "NPS_TOKEN_SECRET"):
            monkeypatch.delenv(name)
        assert main(["check", "--config", str(EXAMPLE)]) == 2
        lines = capsys.readouterr().err.splitlines()
        assert [line.split(": ", 2)[1] for line in lines] == [
            "crm.salesforce.auth.jwt.username_env",
            "survey.mail.smtp.password_env",
            "survey.token_secret_env",
        ]
        assert all(line.endswith("' is not set") for line in lines)

    def test_missing_file_exits_2(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A config path that does not exist is a usage error naming the path."""
        missing = tmp_path / "absent.yaml"
        assert main(["check", "--config", str(missing)]) == 2
        error = capsys.readouterr().err
        assert error.startswith(f"{missing}: ")
        assert "not found" in error


class TestConfigPath:
    """Which file `check` reads: --config, else $NPS_WORKER_CONFIG, else ./config.yaml."""

    @pytest.fixture
    def files(self, tmp_path: Path) -> dict[str, Path]:
        """A valid file and a broken one, so the exit code shows which was read."""
        good = tmp_path / "good.yaml"
        good.write_text("crm:\n  kind: hubspot\n", encoding="utf-8")
        bad = tmp_path / "bad.yaml"
        bad.write_text("crm:\n  kind: nope\n", encoding="utf-8")
        return {"good": good, "bad": bad}

    def test_option_wins_over_environment(
        self, files: dict[str, Path], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """--config is used even when NPS_WORKER_CONFIG names another file."""
        monkeypatch.setenv("NPS_WORKER_CONFIG", str(files["bad"]))
        assert main(["check", "--offline", "--config", str(files["good"])]) == 0

    def test_environment_variable(
        self,
        files: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Without --config, NPS_WORKER_CONFIG names the file."""
        monkeypatch.setenv("NPS_WORKER_CONFIG", str(files["bad"]))
        assert main(["check"]) == 2
        assert capsys.readouterr().err.startswith(f"{files['bad']}:2:3: crm.kind: ")

    def test_default_is_config_yaml_in_working_directory(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without --config or the variable, ./config.yaml is read."""
        (tmp_path / "config.yaml").write_text("crm:\n  kind: salesforce\n", encoding="utf-8")
        monkeypatch.chdir(tmp_path)
        assert main(["check", "--offline"]) == 0
        assert capsys.readouterr().err == ""
