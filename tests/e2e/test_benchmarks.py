"""The benchmarks run at a small size on every CI run, so they cannot rot unnoticed."""

import json
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, *args: str, timeout: float = 300) -> str:
    completed = subprocess.run(  # noqa: S603 - this interpreter, a script of this repo
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    printed = [line for line in completed.stdout.splitlines() if not line.startswith("{")]
    assert completed.returncode == 0, "\n".join(printed[-60:]) + completed.stderr[-1500:]
    return completed.stdout


def _cycle_rows(out: str, size: int) -> dict[str, list[str]]:
    """The cycle table's rows of one size, by cycle name."""
    prefix = f"{size:>7} sqlite"
    return {line.split()[2]: line.split() for line in out.splitlines() if line.startswith(prefix)}


def _check_cycles(rows: dict[str, list[str]], contacts: int) -> None:
    """The production cycle ran five times: the first sync pulled every contact and more,
    imported answers were written back, and a no-op cycle pulled and wrote nothing new."""
    assert list(rows) == ["full", "answers", "echo", "steady", "no-op"]
    pulled, written = 3, 5
    assert int(rows["full"][pulled]) > contacts  # accounts, cases and opportunities as well
    assert int(rows["answers"][written]) > 0
    assert int(rows["steady"][pulled]) >= 1
    assert rows["no-op"][written] == "0"
    assert all(float(row[6]) > 0 and float(row[9]) > 0 for row in rows.values())  # CPU s, MB


def test_salesforce_cycle_benchmark_runs() -> None:
    """`run_cycle` over a migrated SQLite store and the Salesforce sandbox, default config."""
    out = _run("salesforce_cycle.py", "--size", "300")
    _check_cycles(_cycle_rows(out, 300), 300)


def test_hubspot_cycle_benchmark_runs() -> None:
    """`run_cycle` on the HubSpot sandbox with its real rate limits; the pull rate is printed
    against the configured search ceiling, and the portal refused no call."""
    out = _run("hubspot_cycle.py", "--size", "200")
    _check_cycles(_cycle_rows(out, 200), 200)
    assert "of the configured ceiling" in out
    assert "429s in the run: 0" in out


def test_hubspot_deletions_benchmark_runs() -> None:
    """Deletion detection costs fewer calls a day than listing the archive every cycle."""
    out = _run(
        "hubspot_deletions.py",
        "--archived",
        "400",
        "--live",
        "200",
        "--in-play",
        "40",
        "--cycle-minutes",
        "120",
    )
    before = next(line for line in out.splitlines() if "before:" in line).split()
    after = next(line for line in out.splitlines() if "after:" in line).split()
    assert int(after[-1]) < int(before[-1])
    assert "4 of them found deleted by id" in out


def test_analytics_benchmark_runs() -> None:
    """The report over a generated history equals the reference implementation's numbers."""
    out = _run("analytics.py", "--size", "3000")
    row = out.splitlines()[-1].split()
    assert int(row[0]) == 3000
    assert row[-1] == "equal"


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_web_answers_benchmark_runs(backend: str) -> None:
    """Every answer the web app thanked for is in the database; rate and latency are printed."""
    out = _run("web_answers.py", "--backend", backend, "--answers", "40", "--concurrency", "4")
    row = out.splitlines()[-1].split()
    assert row[1:3] == ["40", "4"]
    assert row[-1] == "40/40"


def test_a_sandbox_that_dies_stops_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    """A crashed sandbox child ends the benchmark with its exit code instead of a hang."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from sandbox_process import SandboxProcess

    broken = SandboxProcess(repr, size=10, no_such_option=True)
    with pytest.raises(SystemExit, match=r"the sandbox process died \(exit code 1\)"), broken:
        pass


def test_chaos_judge_allows_one_resend_copy_per_kill_that_left_the_send_unknown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Message-ID may arrive once more for each kill that cut a send of it off, each copy at
    least the grace period after the one before; any other repeat is a duplicate."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    from chaos_outside import repeats

    def mail(message_id: str, minutes: int) -> EmailMessage:
        message = EmailMessage()
        message["Message-ID"] = message_id
        message["Date"] = format_datetime(
            datetime(2026, 3, 2, 9, tzinfo=UTC) + timedelta(minutes=minutes)
        )
        return message

    grace = timedelta(minutes=15)
    mails = [mail("<a>", 0), mail("<a>", 20), mail("<a>", 40), mail("<b>", 0), mail("<b>", 5)]
    mails += [mail("<c>", 0), mail("<c>", 30)]
    resent, doubled = repeats(mails, Counter({"<a>": 2, "<b>": 1}), grace)
    assert (resent, sorted(doubled)) == (2, ["<b>", "<c>"])  # <b> too soon, <c> never unknown
    resent, doubled = repeats(mails, Counter({"<a>": 1, "<b>": 1, "<c>": 1}), grace)
    assert (resent, sorted(doubled)) == (1, ["<a>", "<b>"])  # a third copy after one kill


def _chaos_summary(out: str) -> dict[str, Any]:
    line = next(line for line in out.splitlines() if line.startswith("CHAOS-SUMMARY "))
    summary: dict[str, Any] = json.loads(line.removeprefix("CHAOS-SUMMARY "))
    return summary


@pytest.mark.parametrize(
    "flags",
    [
        pytest.param(("--kills", "5", "--kill-at", "dispatch", "pull"), id="one-run-sqlite"),
        pytest.param(
            ("--kills", "3", "--replicas", "2", "--backend", "postgres"),
            id="two-replicas-postgres",
            marks=pytest.mark.postgres,
        ),
    ],
)
def test_chaos_run_keeps_every_promise(flags: tuple[str, ...]) -> None:
    """SIGKILLed `nps-worker run` and a failing CRM, judged from the mail, the CRM and people."""
    out = _run("chaos.py", "--contacts", "150", "--days", "5", "--seed", "3", *flags, timeout=900)
    summary = _chaos_summary(out)
    chaos, promises = summary["chaos"], summary["promises"]
    kills = (
        chaos["kills survived"]
        + chaos["kills aimed at a send, no mail came"]
        + chaos["kills not made (a trap was first)"]
    )
    assert kills + chaos["crashes (died unasked)"] >= int(flags[1])
    assert chaos["faults injected"] > 0
    assert promises["messages marked sent"] > 0, "the run must send mail to judge delivery"
    assert promises["answers acknowledged"] > 0, "people must answer to judge the answers"
    if "dispatch" in flags:
        assert chaos.get("killed sending (inside SMTP DATA)", 0) > 0, "a kill must hit a send"
    assert promises["follow-up tasks in the CRM"] > 0, "detractors must get tasks to count"
    verdicts = {
        name: value
        for name, value in promises.items()
        if name.split("_")[0] in ("dup", "lost", "pending", "failed", "steps", "unhealthy")
    }
    assert verdicts == dict.fromkeys(verdicts, 0)
    assert promises["not arrived after a kill (max)"] <= 1
    assert promises["unknown to the worker after a kill (max)"] <= 1
    assert promises["lost_messages_after_grace"] == 0
    assert promises["status unknown deliveries"] == 0
    assert all(outcome.endswith("re-run reached head") for outcome in summary["migrations"])
    assert out.rstrip().endswith("RESULT: every promise held")
