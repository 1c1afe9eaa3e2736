"""`nps-worker forget <email>`: the erasure command as an admin runs it."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from worker.cli import main
from worker.privacy import email_subject
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.store.models import AuditEntry, Contact, Crm, Suppression

ADDRESS = "taro.yamada@example.com"


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"database:\n  url: {url}\ncrm:\n  kind: hubspot\n", encoding="utf-8")
    return path


class TestForgetCommand:
    """Effect, output and exit codes of `forget`."""

    def test_erases_suppresses_and_audits(
        self, db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The person's row loses its address, the hash is suppressed, the erasure is audited."""
        upgrade(db_url)
        engine = make_engine(db_url)
        sessions = session_factory(engine)
        at = datetime(2026, 1, 5, tzinfo=UTC)
        with sessions.begin() as session:
            session.add(
                Contact(
                    crm=Crm.HUBSPOT,
                    crm_id="501",
                    email=ADDRESS,
                    first_name="Taro",
                    modified_at=at,
                    synced_at=at,
                )
            )

        code = main(
            [
                "forget",
                ADDRESS.upper(),
                "--actor",
                "dpo-ticket-42",
                "--config",
                str(_config(tmp_path, db_url)),
            ]
        )

        out = capsys.readouterr().out
        assert code == 0
        assert f"forgotten {email_subject(ADDRESS)}: 1 contact(s)" in out
        assert ADDRESS not in out
        with sessions() as session:
            assert session.scalar(select(Contact.email)) is None
            assert session.scalar(select(Suppression.email_hash)) == Suppression.hash_email(ADDRESS)
            entry = session.scalars(select(AuditEntry)).one()
            assert (entry.actor, entry.action) == ("dpo-ticket-42", "forget")
        engine.dispose()

    def test_not_an_address_is_a_usage_error(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A mistyped argument exits 2 before the database is touched."""
        config = _config(tmp_path, f"sqlite:///{tmp_path / 'absent.db'}")

        assert main(["forget", "taro.yamada", "--config", str(config)]) == 2
        assert "forget: not an e-mail address" in capsys.readouterr().err
