"""`nps-worker migrate`: the admin's one command to bring the database to the current schema."""

from pathlib import Path

import pytest

from worker.cli import main
from worker.store.migrate import current_revision, head_revision


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  url: {url}\ncrm:\n  kind: hubspot\n", encoding="utf-8")
    return path


class TestMigrateCommand:
    """Exit codes and effect of `migrate`."""

    def test_upgrades_to_head_and_is_idempotent(
        self, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An empty database reaches head; running again changes nothing and still exits 0."""
        config = _config(tmp_path, db_url)

        assert main(["migrate", "--config", str(config)]) == 0
        assert main(["migrate", "--config", str(config)]) == 0

        assert current_revision(db_url) == head_revision()
        assert f"database at revision {head_revision()}" in capsys.readouterr().out

    def test_unreachable_database_is_a_runtime_failure(self, tmp_path: Path) -> None:
        """A database that refuses connections exits 1 (runtime), not 2 (config)."""
        config = _config(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none")

        assert main(["migrate", "--config", str(config)]) == 1

    def test_missing_config_is_a_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Without a config file there is no database to migrate: exit 2 naming the path."""
        missing = tmp_path / "absent.yaml"

        assert main(["migrate", "--config", str(missing)]) == 2
        assert f"{missing}: config file not found" in capsys.readouterr().err
