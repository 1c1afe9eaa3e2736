"""All log output of a sync against the sandbox holds no seeded personal data and no secret.

Logging is configured as in production at its most verbose (`logging.level: debug`, JSON);
every line written to stdout or stderr is captured and searched for each seeded e-mail, name
and credential. A new step of the loop is one more entry in `STEPS`.
"""

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.e2e.crm_setup import ENV, contacts_target, crm_config
from tests.fixtures.sandbox import SandboxFactory
from worker.config import Config
from worker.logs import configure_logging
from worker.mappers import hubspot as hubspot_mapping
from worker.mappers import salesforce as salesforce_mapping
from worker.sandbox.server import Sandbox
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.sync.base import CrmClient
from worker.sync.factory import connect
from worker.sync.pull import PullTarget, pull_into_mirror

pytestmark = pytest.mark.e2e

Step = Callable[[Config, CrmClient, sessionmaker[Session]], object]


def _now() -> datetime:
    return datetime.now(UTC)


def _accounts_target(config: Config) -> PullTarget:
    if config.crm.kind == "salesforce":
        sf = salesforce_mapping.mapping_from_config(config)
        return PullTarget(
            sf.account.object,
            "account",
            sf.read_fields()[sf.account.object],
            lambda record: salesforce_mapping.to_account(record, sf.account),
        )
    hs = hubspot_mapping.mapping_from_config(config)
    return PullTarget(
        "companies",
        "account",
        hubspot_mapping.pull_properties(hs, "companies"),
        lambda record: hubspot_mapping.to_account(record, hs),
    )


STEPS: list[Step] = [
    lambda config, client, sessions: pull_into_mirror(
        client, sessions, _accounts_target(config), _now
    ),
    lambda config, client, sessions: pull_into_mirror(
        client, sessions, contacts_target(config), _now
    ),
]
"""The loop as far as it exists, in cycle order; each step logs as it would in production."""


def _personal_data(sandbox: Sandbox, kind: str) -> set[str]:
    """Every seeded e-mail address and name the CRM of `kind` holds."""
    if kind == "salesforce":
        rows = sandbox.salesforce.records("Contact")
        keys = ("Email", "FirstName", "LastName", "Name")
    else:
        rows = sandbox.hubspot.records("contacts")
        keys = ("email", "firstname", "lastname")
    return {str(row[key]) for row in rows for key in keys if row.get(key)}


@pytest.fixture
def all_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Logging as production sets it at its most verbose; returns everything written so far."""
    configure_logging(level="DEBUG", fmt="json")

    def written() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err

    yield written
    configure_logging()


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_logs_hold_no_personal_data_or_secret(
    kind: str,
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    all_logs: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Zero hits for seeded e-mails, names, credentials and issued access tokens."""
    sandbox = sandbox_factory(size=60, seed=3, hubspot_rate_limits=False)
    issued: list[str] = []
    issue = sandbox.salesforce.sessions.issue
    monkeypatch.setattr(
        sandbox.salesforce.sessions, "issue", lambda user: issued.append(issue(user)) or issued[-1]
    )
    db_url = f"sqlite:///{tmp_path / 'nps.db'}"
    upgrade(db_url)
    sessions = session_factory(make_engine(db_url))
    config = crm_config(kind, sandbox.base_url, str(sandbox.ca_path))
    client = connect(config, env=ENV)

    for step in STEPS:
        step(config, client, sessions)

    output = all_logs()
    assert "object_pulled" in output, "the scan must see the run's own log lines"
    secrets = set(ENV.values()) | set(issued)
    assert kind == "hubspot" or issued, "the Salesforce login must have issued a token"
    personal = _personal_data(sandbox, kind)
    assert len(personal) > 60
    found = sorted(
        value
        for value in personal | secrets
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", output)
    )
    assert found == []


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_the_whole_loop_logs_no_personal_data_comments_or_secrets(
    kind: str,
    tmp_path: Path,
    all_logs: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two simulated weeks of the demo loop (answers with comments, tasks, write-backs)."""
    from worker.demo import run as demo
    from worker.demo.comments import COMMENTS

    environments: list[dict[str, str]] = []
    environment = demo._environment

    def remembered() -> dict[str, str]:
        environments.append(environment())
        return environments[-1]

    monkeypatch.setattr(demo, "_environment", remembered)
    sandboxes: list[Sandbox] = []
    start = demo.Sandbox.start

    def started(self: Sandbox) -> Sandbox:
        sandboxes.append(self)
        return start(self)

    monkeypatch.setattr(demo.Sandbox, "start", started)

    assert demo.run_demo(days=14, size=120, seed=2, out=tmp_path / "demo", kind=kind) == 0

    output = all_logs()
    assert "cycle_done" in output, "the scan must see the loop's own log lines"
    assert "NPS (each contact's latest answer" in output, "the demo must have answers to show"
    comments = {text for moods in COMMENTS.values() for texts in moods.values() for text in texts}
    personal = _personal_data(sandboxes[0], kind)
    secrets = set(environments[0].values())
    found = sorted(
        value
        for value in personal | comments | secrets
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", output)
    )
    assert found == []


COMMENTS_OF_RECORD = (
    "The export broke twice this week, call me back please",
    "請求書の件で担当者から折り返しの連絡がほしいです",
)
"""Comments of the imported answers: the error paths below must not log them."""


def _refusing_writes(url: str, table: str, *, refuse: bool) -> None:
    """Make the store refuse (or accept again) every new row of `table`, as a bad migration or
    a full disk would.

    On PostgreSQL a failing CHECK constraint, whose error DETAIL quotes the whole refused row;
    on SQLite a trigger, whose error SQLAlchemy would report with the statement's parameters.
    """
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    if refuse:
        statement = (
            f"ALTER TABLE {table} ADD CONSTRAINT refuse_all CHECK (false) NOT VALID"
            if postgres
            else f"CREATE TRIGGER refuse_all BEFORE INSERT ON {table}"
            " BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    else:
        statement = (
            f"ALTER TABLE {table} DROP CONSTRAINT refuse_all"
            if postgres
            else "DROP TRIGGER refuse_all"
        )
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _answers_csv(path: Path, sandbox: Sandbox) -> Path:
    """A CSV export of answers with comments from two seeded Salesforce contacts."""
    ids = [str(row["Id"]) for row in sandbox.salesforce.records("Contact")[:2]]
    lines = ["crm_id,date,score,comment"]
    lines += [
        f'{crm_id},2026-01-0{n + 1},{n * 2},"{comment}"'
        for n, (crm_id, comment) in enumerate(zip(ids, COMMENTS_OF_RECORD, strict=True))
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_database_errors_log_no_comments_or_names(
    db_url: str,
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    all_logs: Callable[[], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A store that refuses writes, met by `import` and by a cycle's write-back: the import
    fails, the cycle records its failed step, both log it with the traceback, and no comment,
    name or address reaches the log (SQLAlchemy's bound parameters and PostgreSQL's row DETAIL
    included)."""
    from worker.cli import main

    sandbox = sandbox_factory(size=20, seed=5, hubspot_rate_limits=False)
    for name, value in {**ENV, "NPS_TOKEN_SECRET": "log-scan-" + "t" * 32}.items():
        monkeypatch.setenv(name, value)
    domain = crm_config("salesforce", sandbox.base_url, str(sandbox.ca_path)).crm.salesforce.domain
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{db_url}'}}\n"
        f"crm:\n  kind: salesforce\n  endpoint: {sandbox.base_url}\n"
        f"  ca_bundle: {sandbox.ca_path}\n"
        f"  salesforce:\n    domain: {domain}\n    auth: {{method: client_credentials}}\n"
        f"survey:\n  mail: {{transport: directory, directory: {{path: {tmp_path / 'mail'}}}}}\n"
        "logging: {level: debug, format: json}\n",
        encoding="utf-8",
    )
    at = ["--config", str(config)]
    assert main(["migrate", *at]) == 0
    assert main(["sync", "--once", *at]) == 0
    answers = _answers_csv(tmp_path / "answers.csv", sandbox)

    _refusing_writes(db_url, "responses", refuse=True)
    assert main(["import", str(answers), *at]) == 1, "a refused row is no duplicate"
    _refusing_writes(db_url, "responses", refuse=False)
    assert main(["import", str(answers), *at]) == 0
    _refusing_writes(db_url, "outbox", refuse=True)
    assert main(["sync", "--once", *at]) == 1

    output = all_logs()
    assert output.count("command_failed") == 1, "the import's failure is logged"
    assert output.count("cycle_step_failed") == 1, "the cycle records and logs its failed step"
    assert "Traceback" in output, "the failures are logged with their traceback"
    personal = _personal_data(sandbox, "salesforce")
    found = sorted(
        value
        for value in {*personal, *COMMENTS_OF_RECORD}
        if re.search(rf"(?<!\w){re.escape(value)}(?!\w)", output)
    )
    assert found == []
