"""`check` and `setup-crm` against a running sandbox reached through `crm.endpoint`."""

import re
from pathlib import Path

import pytest

from tests.fixtures.sandbox import SandboxFactory
from worker.cli import main
from worker.sandbox.salesforce import DEFAULT_CREDENTIALS
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.salesforce.deployed import shipped_permission_sets
from worker.sandbox.salesforce.org import INTEGRATION_PERMISSION_SETS
from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


def _config(tmp_path: Path, sandbox: Sandbox, kind: str, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
database:
  url: sqlite:///{tmp_path}/nps.db
crm:
  kind: {kind}
  endpoint: {sandbox.base_url}
  ca_bundle: {sandbox.ca_path}
  salesforce:
    domain: {SANDBOX_MY_DOMAIN}
    auth: {{method: client_credentials}}
    triggers:
      Case: {{contact_field: ContactId, account_field: AccountId, fields: [Status]}}
{extra}""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def crm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The credentials the sandbox accepts, in the variables the config names."""
    monkeypatch.setenv("SALESFORCE_CONSUMER_KEY", DEFAULT_CREDENTIALS.consumer_key)
    monkeypatch.setenv("SALESFORCE_CONSUMER_SECRET", DEFAULT_CREDENTIALS.consumer_secret)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "sandbox-token")
    monkeypatch.setenv("NPS_TOKEN_SECRET", "s" * 32)


@pytest.mark.usefixtures("crm_env")
class TestCheckAgainstTheCrm:
    """The mapping is validated against the CRM's own metadata."""

    def test_salesforce_mapping_matches_the_org(
        self, sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Every default field exists in an org with the NPS fields deployed: exit 0."""
        config = _config(tmp_path, sandbox, "salesforce")

        assert main(["check", "--config", str(config)]) == 0
        assert "every mapped salesforce field exists" in capsys.readouterr().out
        assert sandbox.log.count(crm="salesforce", path_pattern="/describe") >= 3

    def test_a_mistyped_field_is_named(
        self, sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A write-back mapped onto a field that does not exist is reported by object and name."""
        extra = "writeback:\n  contact:\n    last_score: NPS_Score_Typo__c\n"
        config = _config(tmp_path, sandbox, "salesforce", extra)

        assert main(["check", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert "NPS_Score_Typo__c" in err
        assert "Contact" in err

    def test_hubspot_setup_creates_what_check_finds_missing(
        self, sandbox_factory: SandboxFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A portal without NPS properties fails check; setup-crm creates them; check passes."""
        sandbox = sandbox_factory(
            size=20, seed=3, hubspot_rate_limits=False, hubspot_nps_properties=False
        )
        config = _config(tmp_path, sandbox, "hubspot")

        assert main(["check", "--config", str(config)]) == 2
        assert "nps_last_score" in capsys.readouterr().err

        assert main(["setup-crm", "--config", str(config)]) == 0
        created = capsys.readouterr().out
        assert "contacts.nps_last_score" in created

        assert main(["setup-crm", "--config", str(config)]) == 0
        assert "crm: 0 created" in capsys.readouterr().out
        assert main(["check", "--config", str(config)]) == 0

    def test_unreachable_crm_is_reported_not_fatal(
        self, sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """With the CRM down, check still validates the file, says so, and exits 0."""
        config = _config(tmp_path, sandbox, "hubspot")
        sandbox.stop()

        assert main(["check", "--config", str(config)]) == 0
        assert "crm: not reachable" in capsys.readouterr().out


def test_refused_credentials_fail_check_with_the_crm_code(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Wrong credentials are an admin's mistake to fix: exit 2, naming the CRM's error code."""
    monkeypatch.setenv("SALESFORCE_CONSUMER_KEY", DEFAULT_CREDENTIALS.consumer_key)
    monkeypatch.setenv("SALESFORCE_CONSUMER_SECRET", "not-the-secret")
    monkeypatch.setenv("NPS_TOKEN_SECRET", "s" * 32)
    config = _config(tmp_path, sandbox, "salesforce")

    assert main(["check", "--config", str(config)]) == 2
    assert "crm: login refused" in capsys.readouterr().err


MINIMUM_ACCESS_MISSING = [
    "crm: Account: missing Read, to pull Account records",
    "crm: Account: missing Edit, to write NPS roll-ups onto accounts",
    "crm: Contact: missing Read, to pull Contact records",
    "crm: Contact: missing Edit, to write answers back onto contacts",
    "crm: Case: missing Read, to pull Case records",
    "crm: Task: missing Read, to read follow-up tasks back",
    "crm: Task: missing Create, to open follow-up tasks and log answers; granted by the Edit"
    " Tasks permission",
    "crm: Task: missing Edit, to reassign escalated tasks; granted by the Edit Tasks permission",
]


@pytest.mark.usefixtures("crm_env")
class TestIntegrationUserAccess:
    """`check` reads what the connected user may do and names each right the worker lacks."""

    def test_minimum_access_user_gets_every_missing_right_named(
        self, sandbox_factory: SandboxFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A "Minimum Access - API Only" user without the permission set: each right, once."""
        sandbox = sandbox_factory(size=20, seed=3, salesforce_permission_sets=())
        config = _config(tmp_path, sandbox, "salesforce")

        assert main(["check", "--config", str(config)]) == 2
        assert _crm_lines(capsys.readouterr().err) == MINIMUM_ACCESS_MISSING

    def test_a_partial_permission_set_is_named_right_by_right(
        self, sandbox_factory: SandboxFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Contact's rights, Edit Tasks and one field's edit left out: those, and only those."""
        shipped = shipped_permission_sets()["NPS_Worker"]
        partial = (
            _without_object(shipped, "Contact")
            .replace("<name>EditTask</name>", "<name>ApiEnabled</name>")
            .replace(
                "<editable>true</editable>\n        <field>Account.NPS_Score__c</field>",
                "<editable>false</editable>\n        <field>Account.NPS_Score__c</field>",
            )
        )
        sandbox = sandbox_factory(size=20, seed=3)
        sandbox.salesforce.deploy_permission_set("NPS_Worker", partial)
        config = _config(tmp_path, sandbox, "salesforce")

        assert main(["check", "--config", str(config)]) == 2
        assert _crm_lines(capsys.readouterr().err) == [
            "crm: Contact: missing Read, to pull Contact records",
            "crm: Contact: missing Edit, to write answers back onto contacts",
            "crm: Task: missing Create, to open follow-up tasks and log answers; granted by the"
            " Edit Tasks permission",
            "crm: Task: missing Edit, to reassign escalated tasks; granted by the Edit Tasks"
            " permission",
            "crm: Account.NPS_Score__c: not updateable by the integration user",
        ]

    def test_the_shipped_permission_set_is_enough(
        self, sandbox_factory: SandboxFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Assigning salesforce/'s permission set to the minimum-access user makes check pass."""
        sandbox = sandbox_factory(size=20, seed=3, salesforce_permission_sets=())
        config = _config(tmp_path, sandbox, "salesforce")
        assert main(["check", "--config", str(config)]) == 2
        capsys.readouterr()

        for name in INTEGRATION_PERMISSION_SETS:
            sandbox.salesforce.assign_permission_set(name)

        assert main(["check", "--config", str(config)]) == 0
        assert "every mapped salesforce field exists" in capsys.readouterr().out


def _crm_lines(stderr: str) -> list[str]:
    """What `check` said about the CRM (stderr also carries the JSON log)."""
    return [line for line in stderr.splitlines() if line.startswith("crm: ")]


def _without_object(xml: str, sobject: str) -> str:
    """A permission set's XML without its objectPermissions block for `sobject`."""
    blocks = re.findall(r"    <objectPermissions>.*?</objectPermissions>\n", xml, re.DOTALL)
    (block,) = [b for b in blocks if f"<object>{sobject}</object>" in b]
    return xml.replace(block, "")


@pytest.mark.usefixtures("crm_env")
def test_a_value_the_orgs_picklist_lacks_is_named(
    sandbox: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A condition on a value no real org's picklist has (an old org's Account.Type
    'Customer', a Case.Type 'Problem') can never hold: check says which, and where."""
    programs = """\
programs:
  case_closed:
    touchpoint: support
    trigger:
      record_change:
        object: Case
        when: {Status: {changed_to: Closed}, Type: {in: [Problem, Other]}}
    audience:
      account.Type: Customer
"""
    config = _config(tmp_path, sandbox, "salesforce", programs)

    assert main(["check", "--config", str(config)]) == 2
    assert _crm_lines(capsys.readouterr().err) == [
        "crm: Case.Type: 'Problem' is not a value of its picklist (Mechanical, Electrical,"
        " Electronic, Structural, Other); a condition comparing with it never holds",
        "crm: Account.Type: 'Customer' is not a value of its picklist (Prospect, Customer -"
        " Direct, Customer - Channel, Channel Partner / Reseller, Installation Partner,"
        " Technology Partner, Other); a condition comparing with it never holds",
    ]
