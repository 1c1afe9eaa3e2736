"""A newcomer's path, as the README walks it: `nps-worker sandbox` prints a config and an
environment that work as printed; `sync --once` then keeps the sandbox's clock (which its
time machine moves), prints sentences, and says why when nothing is planned.
"""

import datetime as dt
import re
from pathlib import Path

import pytest

from worker.cli import main
from worker.sandbox.cli import connection_help
from worker.sandbox.server import Sandbox

pytestmark = pytest.mark.e2e


def _printed_setup(sandbox: Sandbox) -> tuple[str, dict[str, str]]:
    """The config block and the `export` lines, as a person copies them from the terminal."""
    lines = connection_help(sandbox).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  Save as config.yaml"))
    end = next(i for i, line in enumerate(lines) if line.startswith("  and set its environment"))
    config = "\n".join(line.removeprefix("    ") for line in lines[start + 1 : end]) + "\n"
    exports = dict(
        re.fullmatch(r"    export (\w+)=(\S+)", line).groups()  # type: ignore[union-attr]
        for line in lines[end + 1 :]
        if line.startswith("    export ")
    )
    return config, exports


def test_the_printed_setup_works_and_sync_keeps_the_sandbox_clock(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """check (online) passes on the printed config; a dry run after the time machine plans
    on the sandbox's day; output is sentences, and an empty plan says why."""
    config_text, exports = _printed_setup(sandbox)
    assert "kind: salesforce" in config_text
    assert len(exports["NPS_TOKEN_SECRET"]) >= 32
    monkeypatch.chdir(tmp_path)
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "config.yaml").write_text(config_text, encoding="utf-8")

    assert main(["check"]) == 0
    assert "every mapped salesforce field exists" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert main(["sync", "--once"]) == 0
    out = capsys.readouterr().out
    assert "clock: the sandbox CRM's" in out
    assert "cycle ok" in out
    assert not re.search(r"[\[\]{}]|True|False|[A-Z]\w+\(", out), out  # no Python reprs

    assert main(["sync", "--once", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "surveys that would go out: 0" in out
    assert "nothing planned at" in out
    assert "because:" in out

    sandbox.advance(dt.timedelta(days=3))
    assert main(["sync", "--once", "--dry-run"]) == 0
    out = capsys.readouterr().out
    planned = int(re.search(r"surveys that would go out: (\d+)", out).group(1))  # type: ignore[union-attr]
    refused = int(re.search(r"refused: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert planned + refused > 0, out
