"""The inner loop's CRM side against the sandbox: a follow-up task is reassigned through the
write path, a rep starts and completes it, and escalation finds each owner's manager.

Both CRMs go through the production factory (`worker.sync.factory.connect`) from a config.
"""

from datetime import timedelta
from types import ModuleType

import pytest

from tests.e2e.crm_setup import ENV
from worker.config import Config, parse_config
from worker.mappers import hubspot as hubspot_mapping
from worker.mappers import salesforce as salesforce_mapping
from worker.sandbox.activity import ActivityTarget
from worker.sandbox.salesforce.client import SANDBOX_MY_DOMAIN
from worker.sandbox.server import Sandbox
from worker.sync.base import CrmClient, TaskPriority, TaskSpec, TaskState
from worker.sync.factory import connect, set_up_fields
from worker.sync.hubspot import HubSpotClient

pytestmark = pytest.mark.e2e

MAPPERS: dict[str, ModuleType] = {"salesforce": salesforce_mapping, "hubspot": hubspot_mapping}


def _config(kind: str, sandbox: Sandbox, managers: dict[str, str]) -> Config:
    lines = "".join(f'    "{owner}": "{manager}"\n' for owner, manager in managers.items())
    return parse_config(
        f"crm:\n  kind: {kind}\n  endpoint: {sandbox.base_url}\n  ca_bundle: {sandbox.ca_path}\n"
        f"  salesforce:\n    domain: {SANDBOX_MY_DOMAIN}\n"
        "    auth: {method: client_credentials}\n"
        + (f"followup:\n  managers:\n{lines}" if managers else ""),
        env=ENV,
    )


def _reporting_lines(sandbox: Sandbox, kind: str) -> dict[str, str]:
    """User -> manager as the sandbox world has it, in the CRM's own ids."""
    if kind == "salesforce":
        return {
            str(user["Id"]): str(user["ManagerId"])
            for user in sandbox.salesforce.records("User")
            if user.get("ManagerId")
        }
    from worker.sandbox.hubspot.projection import owner_id

    return {
        owner_id(user.key): owner_id(user.manager_key)
        for user in sandbox.world.users
        if user.manager_key is not None
    }


def _target(sandbox: Sandbox, kind: str) -> ActivityTarget:
    return sandbox.salesforce if kind == "salesforce" else sandbox.hubspot


@pytest.mark.parametrize("kind", [pytest.param("salesforce"), pytest.param("hubspot")])
def test_task_is_reassigned_then_started_then_completed(sandbox: Sandbox, kind: str) -> None:
    """`task_owner_update` through `update` moves the task; the rep's work reads back as
    in progress, then completed at the moment the rep closed it."""
    config = _config(kind, sandbox, {})
    client: CrmClient = connect(config, env=ENV)
    if isinstance(client, HubSpotClient):
        set_up_fields(config, client)  # the task dedup property (`nps-worker setup-crm`)
    first, second = list(_reporting_lines(sandbox, kind))[:2]
    target = _target(sandbox, kind)
    now = sandbox.clock.now().replace(microsecond=0)
    spec = TaskSpec(
        "fu-1", "Call back", "Score 2", now, TaskPriority.HIGH, first, target.contact_ids()[0], None
    )
    [created] = client.create_tasks([spec])
    assert created.ok, created.error
    assert created.crm_id is not None
    task_id = created.crm_id

    [moved] = client.update([MAPPERS[kind].task_owner_update(task_id, second, "fu-1:owner")])
    assert moved.ok, moved.error
    [status] = client.task_statuses([task_id])
    assert (status.state, status.owner_id) == (TaskState.OPEN, second)

    target.start_task(task_id, now + timedelta(hours=3))
    assert client.task_statuses([task_id])[0].state == TaskState.IN_PROGRESS
    target.complete_task(task_id, now + timedelta(days=2))
    [done] = client.task_statuses([task_id])
    assert (done.state, done.completed_at) == (TaskState.COMPLETED, now + timedelta(days=2))


def test_salesforce_managers_come_from_active_users_and_the_config_wins(
    sandbox: Sandbox,
) -> None:
    """Each active user's active manager; a deactivated manager drops out; config overrides."""
    lines = _reporting_lines(sandbox, "salesforce")
    rep, manager = next((u, m) for u, m in lines.items() if m in lines)  # a rep under a manager
    vp = lines[manager]
    override = {rep: vp}
    client = connect(_config("salesforce", sandbox, override), env=ENV)
    assert client.managers() == lines | override

    sandbox.salesforce.update("User", manager, {"IsActive": False})
    managers = client.managers()
    assert manager not in managers
    assert managers[rep] == vp
    reports = [user for user, boss in lines.items() if boss == manager and user != rep]
    assert reports
    assert all(user not in managers for user in reports)


def test_hubspot_managers_are_the_configured_ones_without_an_api_call(sandbox: Sandbox) -> None:
    """HubSpot owners have no manager: the config's mapping is returned as it is."""
    lines = _reporting_lines(sandbox, "hubspot")
    client = connect(_config("hubspot", sandbox, lines), env=ENV)
    calls = sandbox.log.count(crm="hubspot")
    assert client.managers() == lines
    assert sandbox.log.count(crm="hubspot") == calls
    assert connect(_config("hubspot", sandbox, {}), env=ENV).managers() == {}
