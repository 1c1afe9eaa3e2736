"""The sandbox org's permission model: permission set metadata as an org deploys it, and the
access a user's profile and sets add up to."""

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from worker.sandbox.salesforce.deployed import shipped_permission_sets
from worker.sandbox.salesforce.permissions import (
    MINIMUM_ACCESS_API_ONLY,
    SYSTEM_ADMINISTRATOR,
    Access,
    InvalidPermissionSet,
    parse_permission_set,
)
from worker.sandbox.salesforce.schema import SCHEMA

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'


def _set(*parts: str) -> str:
    return f"<PermissionSet {NS}><label>x</label>{''.join(parts)}</PermissionSet>"


def _object(name: str, *, read: bool = True, edit: bool = False) -> str:
    return (
        f"<objectPermissions><allowEdit>{str(edit).lower()}</allowEdit>"
        f"<allowRead>{str(read).lower()}</allowRead><object>{name}</object></objectPermissions>"
    )


def _field(name: str, *, editable: bool = False) -> str:
    return (
        f"<fieldPermissions><editable>{str(editable).lower()}</editable><field>{name}</field>"
        "<readable>true</readable></fieldPermissions>"
    )


class TestDeploy:
    @pytest.mark.parametrize(
        ("xml", "reason"),
        [
            pytest.param(_set(_object("Widget__c")), "no object named Widget__c", id="object"),
            pytest.param(_set(_field("Contact.Nope__c")), "no CustomField", id="field"),
            pytest.param(_set(_field("Contact.Email")), "no CustomField", id="standard-field"),
            pytest.param(_set(_object("Task")), "EditTask", id="task-objects"),
            pytest.param(_set(_object("User")), "takes no object permissions", id="user"),
            pytest.param(_set(_object("Case", read=False, edit=True)), "need Read", id="edit"),
            pytest.param("<PermissionSet", "not well-formed", id="xml"),
        ],
    )
    def test_metadata_a_real_org_refuses_is_refused(self, xml: str, reason: str) -> None:
        """Unknown objects and fields, activity object permissions, Edit without Read."""
        with pytest.raises(InvalidPermissionSet, match=reason):
            parse_permission_set("Bad", xml)

    def test_custom_activity_fields_are_named_on_task(self) -> None:
        """A field defined on Activity is granted as Task.<field>, as retrieved metadata has it."""
        granted = parse_permission_set("T", _set(_field("Task.NPS_Dedup_Key__c", editable=True)))
        assert granted.fields["Task.NPS_Dedup_Key__c"].editable


class TestAccess:
    SHIPPED = parse_permission_set("NPS_Worker", shipped_permission_sets()["NPS_Worker"])

    def test_minimum_access_sees_users_and_nothing_else(self) -> None:
        """Every user reads users; no other object exists for the profile alone."""
        access = Access([MINIMUM_ACCESS_API_ONLY])
        assert [name for name, d in SCHEMA.items() if access.readable(d)] == ["User"]

    def test_the_shipped_set_grants_exactly_the_workers_needs(self) -> None:
        """Read on the pulled objects, Edit where it writes, tasks by Edit Tasks, no delete."""
        access = Access([MINIMUM_ACCESS_API_ONLY, self.SHIPPED])
        rights = {
            name: (on.read, on.create, on.edit, on.delete)
            for name, on in ((n, access.on(d)) for n, d in SCHEMA.items())
        }
        assert rights == {
            "Account": (True, False, True, False),
            "Contact": (True, False, True, False),
            "Case": (True, False, False, False),
            "Opportunity": (True, False, False, False),
            "User": (True, False, False, False),
            "Task": (True, True, True, False),
        }
        assert not access.view_all_data

    def test_field_level_security_hides_custom_fields_not_granted(self) -> None:
        """The org's own Plan__c is not in the shipped set: invisible until granted elsewhere."""
        account = SCHEMA["Account"]
        access = Access([MINIMUM_ACCESS_API_ONLY, self.SHIPPED])
        plan, score = account.field("Plan__c"), account.field("NPS_Score__c")
        assert plan is not None
        assert score is not None
        assert not access.sees(account, plan)
        assert access.may_write(account, score, creating=False)
        assert Access([SYSTEM_ADMINISTRATOR]).sees(account, plan)


def test_an_installed_wheel_finds_the_metadata_inside_the_package(tmp_path: Path) -> None:
    """Installed from the wheel (salesforce/ packed as worker/_salesforce), the sandbox org
    still deploys the shipped permission set."""
    repo = Path(__file__).resolve().parents[2]
    packed = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    force_include = packed["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert force_include["salesforce"] == "worker/_salesforce"
    site = tmp_path / "site-packages"
    shutil.copytree(repo / "worker", site / "worker", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(repo / "salesforce", site / "worker" / "_salesforce")
    script = (
        "from worker.sandbox.salesforce import deployed; "
        "print(deployed.source_folder(), sorted(deployed.shipped_permission_sets()))"
    )

    completed = subprocess.run(  # noqa: S603 (fixed interpreter and script)
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        check=True,
    )

    assert completed.stdout.split() == [str(site / "worker" / "_salesforce"), "['NPS_Worker']"]
