"""An audience on a field the mirror never read: `check` warns, and the next cycle reads it for
every record, not only for those that change (else every contact would fail the audience).

Through the commands an admin runs: `migrate`, `sync --once`, `check`.
"""

from pathlib import Path

import pytest
from sqlalchemy import select

from tests.e2e.loop_harness import environment
from worker.cli import main
from worker.loop.view import record_values
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.store.engine import make_engine, session_factory
from worker.store.models import Contact

pytestmark = pytest.mark.e2e

AUDIENCE = "    audience: {contact.Language__c: {in: [ja]}}\n"


def _write(path: Path, sandbox: Sandbox, database: Path, audience: str) -> None:
    path.write_text(
        f"""\
database:
  url: sqlite:///{database}
crm:
  kind: salesforce
  endpoint: {sandbox.base_url}
  ca_bundle: {sandbox.ca_path}
  salesforce:
    domain: {SANDBOX_MY_DOMAIN}
    auth: {{method: client_credentials}}
survey:
  mail: {{transport: directory, directory: {{path: {database.parent / "mail"}}}}}
programs:
  case_closed:
    touchpoint: support
    trigger:
      record_change:
        object: Case
        when: {{Status: {{changed_to: Closed}}}}
{audience}""",
        encoding="utf-8",
    )


def test_a_field_added_to_an_audience_is_pulled_for_every_contact(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Warned by `check` while unread; read for all contacts by the next `sync --once`."""
    for name, value in environment().items():
        monkeypatch.setenv(name, value)
    config, database = tmp_path / "config.yaml", tmp_path / "nps.db"
    _write(config, sandbox, database, "")
    assert main(["migrate", "--config", str(config)]) == 0
    assert main(["sync", "--once", "--config", str(config)]) == 0

    _write(config, sandbox, database, AUDIENCE)
    capsys.readouterr()
    assert main(["check", "--offline", "--config", str(config)]) == 0
    assert f"{config}: warning: Contact.Language__c has never been pulled" in (
        capsys.readouterr().out
    )

    assert main(["sync", "--once", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["check", "--offline", "--config", str(config)]) == 0
    assert "warning" not in capsys.readouterr().out
    engine = make_engine(f"sqlite:///{database}")
    with session_factory(engine)() as session:
        ids = [c.crm_id for c in session.scalars(select(Contact).where(~Contact.deleted))]
        seen = record_values(session, "salesforce", "Contact", ids)  # what audiences read
    engine.dispose()
    in_crm = {
        str(record["Id"]): record.get("Language__c")
        for record in sandbox.salesforce.records("Contact")
    }
    assert ids
    assert {crm_id: seen.get(crm_id, {}).get("Language__c") for crm_id in ids} == {
        crm_id: in_crm[crm_id] for crm_id in ids
    }
