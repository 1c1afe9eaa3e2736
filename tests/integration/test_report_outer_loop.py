"""The report's outer-loop parts: interventions before/after (config and command) with markers,
the per-account review pack, Japanese labels, quotes with score and polarity, stated orderings."""

# ruff: noqa: RUF001 - the Japanese report's full-width colons are what is checked

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests import analytics_reference as ref
from tests.integration.outer_loop_data import NOW, account, answer, config, contact
from worker.analytics.account_pack import build_pack
from worker.analytics.dataset import Window
from worker.analytics.nps import Z_95
from worker.analytics.render import render_html
from worker.analytics.report import build_report
from worker.cli import main
from worker.config import Config

CHANGE = dt.date(2026, 3, 16)
MARKERS = """\
analytics:
  interventions:
    - {date: 2026-03-16, label: Support playbook revamped}
    - {date: 2026-03-16, label: Onboarding call added, segment: {touchpoint: onboarding}}
  intervention_window: 14d
"""


def _history(session: Session) -> tuple[str, str]:
    """Five answers on each side of the change; onboarding's turn from praise to complaints."""
    acme, globex = account(session, "Acme"), account(session, "Globex")
    start = dt.datetime.combine(CHANGE, dt.time(12), dt.UTC)
    for index, (days, score, program) in enumerate(
        [
            (-10, 3, "support_case_closed"),
            (-6, 5, "support_case_closed"),
            (-3, 9, "support_case_closed"),
            (-2, 10, "onboarding_completed"),
            (-1, 9, "onboarding_completed"),
            (1, 10, "support_case_closed"),
            (3, 9, "support_case_closed"),
            (5, 8, "support_case_closed"),
            (6, 2, "onboarding_completed"),
            (9, 4, "onboarding_completed"),
        ]
    ):
        owner = acme if index % 2 else globex
        who = contact(session, owner, f"p{index}@x.example", first_name=f"P{index}")
        answer(
            session,
            who,
            score,
            ["support"] if score < 7 else ["feature_value"],
            at=start + dt.timedelta(days=days),
            comment="Slow replies, call +81 3-1234-5678" if score < 7 else "Great",
            program=program,
            followup=score < 7,
        )
    return acme.crm_id, globex.crm_id


def _config(extra: str = "") -> Config:
    return config(
        MARKERS + "programs:\n"
        "  support_case_closed:\n    touchpoint: support\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: Closed}}}}\n"
        "  onboarding_completed:\n    touchpoint: onboarding\n"
        "    trigger: {record_change: {object: Case, when: {Status: {changed_to: Done}}}}\n"
        + extra,
        min_sample=2,
    )


def test_interventions_before_and_after_match_an_independent_count(
    sessions: sessionmaker[Session],
) -> None:
    """Everyone and the onboarding slice, 14 days each side; the difference's interval; one
    numbered marker per intervention on the monthly and weekly charts."""
    settings = _config()
    with sessions.begin() as session:
        _history(session)
    with sessions() as session:
        report = build_report(session, settings, Window(None, NOW), now=NOW, language="en")
        rows = ref.answers(session, {"onboarding_completed": "onboarding"}, NOW)
    start = dt.datetime.combine(CHANGE, dt.time(), dt.UTC)
    window = dt.timedelta(days=14)
    onboarding, everyone = report.interventions
    for result, chosen in (
        (everyone, rows),
        (onboarding, [r for r in rows if r["touchpoint"] == "onboarding"]),
    ):
        before = [r["score"] for r in chosen if start - window <= r["received_at"] < start]
        after = [r["score"] for r in chosen if start <= r["received_at"] < start + window]
        assert (result.before.n, result.after.n) == (len(before), len(after))
        assert result.change is not None
        assert result.change.difference == pytest.approx(ref.nps(after) - ref.nps(before))
        low, high = result.interval or (0, 0)
        assert high - low == pytest.approx(2 * Z_95 * result.change.standard_error)
    assert onboarding.change is not None
    assert onboarding.change.difference == pytest.approx(-200.0)
    page = render_html(report)
    assert (
        page.count('class="marker"') == 2 * 2 * 2
    )  # 2 markers x (monthly, weekly) x (wide, narrow)
    assert "Support playbook revamped" in page


def test_intervention_command(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`intervention add` stores one the report shows; an unknown slice is exit 2."""
    with sessions.begin() as session:
        _history(session)
        url = str(session.get_bind().url.render_as_string(hide_password=False))
    file = tmp_path / "config.yaml"
    file.write_text(f"database:\n  url: {url}\ncrm:\n  kind: salesforce\n", encoding="utf-8")
    base = ["--config", str(file)]
    add = ["intervention", "add", "--date", "2026-03-16", "--label", "Price list simplified"]
    assert main([*add, "--slice", "channel=email", *base]) == 0
    assert main([*add, "--slice", "segment.plann=Gold", *base]) == 2
    assert "unknown slice 'segment.plann'" in capsys.readouterr().err
    assert main(["intervention", "list", *base]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-03-16  Price list simplified [channel=email]"
    ]
    assert main(["report", "--format", "json", "--since", "2026-01-01", *base]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [x["marker"]["label"] for x in data["interventions"]] == ["Price list simplified"]


def test_a_config_intervention_on_an_unknown_slice_is_named() -> None:
    """`check` reports the file's key, not a crash at report time."""
    with pytest.raises(
        Exception, match=r"analytics\.interventions\[0\]\.segment\.plan.*unknown slice"
    ):
        config(
            "analytics:\n  interventions:\n"
            "    - {date: 2026-01-01, label: x, segment: {plan: Gold}}\n"
        )


def test_japanese_report_has_labels_not_ids_and_quotes_with_score_and_polarity(
    sessions: sessionmaker[Session],
) -> None:
    """Programs, touchpoints and channels in Japanese; quotes scrubbed, with score and
    complaint/praise; every section says its ordering."""
    settings = _config()
    with sessions.begin() as session:
        _history(session)
    with sessions() as session:
        report = build_report(session, settings, Window(None, NOW), now=NOW, language="ja")
    page = render_html(report)
    for raw in ("support_case_closed", "onboarding_completed", ">email<", ">onboarding<"):
        assert raw not in page, raw
    for label in ("サポートケース完了後", "オンボーディング完了後", "メール", "オンボーディング"):
        assert label in page, label
    quote = next(q for t in report.themes for q in t.quotes if t.tag == "support")
    assert (quote.score < 7, quote.polarity.value) == (True, "complaint")
    assert "1234-5678" not in quote.text
    assert "不満" in page
    assert "スコア" in page
    assert page.count("並び順：") >= 8


def test_account_review_pack(
    sessions: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the account's answers, by contact; its follow-ups with what came next; by CRM id
    or name; an unknown account is exit 2."""
    settings = _config()
    with sessions.begin() as session:
        acme_id, _ = _history(session)
        url = str(session.get_bind().url.render_as_string(hide_password=False))
    with sessions() as session:
        pack = build_pack(session, settings, "acme", Window(None, NOW), now=NOW, language="en")
    assert pack.crm_id == acme_id
    assert pack.overall.n == 5
    assert sum(len(c.answers) for c in pack.contacts) == 5
    assert {f.score for f in pack.followups} == {5, 4}
    assert all("1234-5678" not in (a.comment or "") for c in pack.contacts for a in c.answers)
    file = tmp_path / "config.yaml"
    file.write_text(f"database:\n  url: {url}\ncrm:\n  kind: salesforce\n", encoding="utf-8")
    out = tmp_path / "acme.html"
    base = ["report", "--config", str(file), "--account"]
    assert main([*base, acme_id, "--format", "html", "--language", "ja", "--out", str(out)]) == 0
    assert "アカウントレビュー：Acme" in out.read_text(encoding="utf-8")
    assert main([*base, "Initech", "--format", "json"]) == 2
    assert "no account with CRM id or name 'Initech'" in capsys.readouterr().err
    assert main([*base, acme_id, "--format", "csv"]) == 2
