"""The benchmarks run at a small size on every CI run, so they cannot rot unnoticed."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run(script: str, *args: str) -> str:
    completed = subprocess.run(  # noqa: S603 - this interpreter, a script of this repo
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def test_salesforce_cycle_benchmark_runs() -> None:
    """It prints a full, an echo and a no-op cycle; the no-op cycle writes nothing."""
    out = _run("salesforce_cycle.py", "--size", "300")
    rows = {
        line.split()[1]: line.split() for line in out.splitlines() if line.startswith("    300")
    }
    assert set(rows) == {"full", "echo", "no-op"}
    updates, tasks, write_calls = rows["no-op"][5:8]
    assert (updates, tasks, write_calls) == ("0", "0", "0")


def test_hubspot_cycle_benchmark_runs() -> None:
    """The HubSpot benchmark runs its cycles with the real rate limits and reports throughput."""
    out = _run("hubspot_cycle.py", "--size", "200", "--lookback", "1")
    assert "no-op cycle (N=200)" in out
    assert "records/s" in out


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
