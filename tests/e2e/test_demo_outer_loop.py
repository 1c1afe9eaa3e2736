"""The demo's outer loop, for both CRMs, judged from the files it leaves: a non-empty stored
backlog, weekly digest e-mails in English and Japanese, an intervention with before and after
in the report, and the customers told when an item closed."""

import csv
import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from worker.demo.run import run_demo

pytestmark = pytest.mark.e2e


def _mails(folder: Path, pattern: str) -> list[EmailMessage]:
    return [
        email.message_from_bytes(path.read_bytes(), policy=default, _class=EmailMessage)
        for path in sorted(folder.glob(pattern))
    ]


def _plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return part.get_content() if isinstance(part, EmailMessage) else ""


@pytest.mark.parametrize("kind", ["salesforce", "hubspot"])
def test_four_weeks_leave_a_backlog_digests_and_an_intervention(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Four simulated weeks of the demo on each CRM."""
    out = tmp_path / "demo"
    assert run_demo(days=28, size=600, seed=1, out=out, kind=kind) == 0
    printed = capsys.readouterr().out
    assert "weekly digests sent: 4" in printed
    items = list(csv.DictReader((out / "backlog.csv").open(encoding="utf-8")))
    assert items
    assert any(item["status"] == "done" for item in items)
    digests = _mails(out / "mail", "nps.digest.*.eml")
    assert {str(m["Content-Language"]) for m in digests} == {"en", "ja"}
    assert len(digests) == 8
    told = _mails(out / "mail", "nps.said-did.*.eml")
    assert told
    assert all(m["List-Unsubscribe"] for m in told)
    report = (out / "report-en.html").read_text(encoding="utf-8")
    section = report.split('<section id="interventions">')[1].split("</section>")[0]
    assert "Support playbook revamped" in section
    assert section.count("n=") == 2
    assert 'class="marker"' in report
    for name in ("report-ja.html", "digest-en.html", "digest-ja.html", "account-en.html"):
        assert (out / name).stat().st_size > 5_000, name
    if kind == "salesforce":  # HubSpot's Japanese owners get a detractor in some runs only
        inner = {path.name: path.read_text(encoding="utf-8") for path in out.glob("task-*.txt")}
        assert "Apologise and show empathy" in inner["task-en.txt"], inner
        assert "お詫びと共感" in inner["task-ja.txt"], inner
    invitations = [m for m in _mails(out / "mail", "*.eml") if "/s/" in _plain(m)]
    languages = {str(m["Content-Language"]) for m in invitations}
    assert languages == {"en", "ja"}, "Japanese customers get Japanese surveys"
