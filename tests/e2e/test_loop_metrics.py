"""`/metrics` carries the loop, not only the web app: what an operator alerts on, agreeing with
what happened outside (the mail sent, the answers given, the CRM's tasks)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.loop_harness import company
from tests.fixtures.sandbox import SandboxFactory

pytestmark = pytest.mark.e2e


def _samples(port: int | None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


WEDNESDAY_MORNING = datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
"""When the sandbox's clock starts: inside the weekly program's window, and outside the quiet
hours of most of its people (on the wall's time, an evening or a weekend sent nothing)."""


def test_loop_metrics_agree_with_the_world(sandbox_factory: SandboxFactory, tmp_path: Path) -> None:
    """Cycle duration, outcome and records per CRM; surveys sent and answers as the mail and
    the people saw them; open follow-ups as the CRM's tasks; nothing unknown or refused."""
    sandbox = sandbox_factory(size=50, seed=7, start=WEDNESDAY_MORNING)
    with company("salesforce", sandbox, tmp_path, programs=("weekly",)) as world:
        world.cycle()
        world.cycle()
        sent = len(world.mail.sent())
        tasks = [key for key in world.crm_tasks() if key.startswith("followup:")]
        found = _samples(world.metrics_port)

    crm = (("crm", "salesforce"),)
    assert found[("nps_cycle_outcome", (("crm", "salesforce"), ("outcome", "ok")))] == 1
    assert found[("nps_cycle_duration_seconds", crm)] > 0
    assert ("nps_cycle_records_pulled", crm) in found
    assert found[("nps_crm_api_budget_used_ratio", crm)] > 0
    surveys = {
        labels[0][1]: value for (name, labels), value in found.items() if name == "nps_surveys"
    }
    assert sent > 0
    assert sum(surveys.values()) == sent
    assert found[("nps_answers", ())] == surveys.get("answered", 0) > 0
    assert found[("nps_followups_open", ())] == len(tasks)
    assert found[("nps_deliveries_unknown", ())] == 0
    assert found[("nps_crm_refused_writes", ())] == 0


def test_example_alert_rules_name_metrics_that_exist() -> None:
    """Every metric the example rules use is one `/metrics` serves (a rename breaks this)."""
    import re

    from ruamel.yaml import YAML

    rules = YAML(typ="safe").load(Path(__file__).parents[2].joinpath("docs", "alerts.yml"))
    used = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bnps_[a-z_]+", rule["expr"])
    }
    served = set()
    for module in ("loop_metrics.py", "metrics.py"):
        text = (Path(__file__).parents[2] / "worker" / "surveys" / "web" / module).read_text()
        served |= set(re.findall(r'"(nps_[a-z_]+)"', text))
    assert used
    assert used <= served, used - served
