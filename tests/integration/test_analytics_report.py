"""The report's numbers equal a straightforward recomputation over the raw rows.

A seeded history is generated into SQLite and PostgreSQL; the report is built from it and
checked figure by figure against `tests.analytics_reference`.
"""

import csv
import io
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests import analytics_reference as ref
from worker.analytics.backlog import backlog
from worker.analytics.dataset import Window
from worker.analytics.history import generate
from worker.analytics.render import render_csv, render_html, render_json
from worker.analytics.report import Report, build_report
from worker.cli import main
from worker.config import Config, load_config
from worker.store.engine import make_engine, session_factory

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.yaml"
NOW = datetime(2025, 12, 31, tzinfo=UTC)
SINCE = datetime(2025, 4, 1, tzinfo=UTC)
SIZE = 3000


@pytest.fixture(scope="module")
def config() -> Config:
    """The documented example configuration (three programs, three segments)."""
    return load_config(EXAMPLE, env={})


@pytest.fixture(scope="module")
def history(migrated_url: str, config: Config) -> Iterator[sessionmaker[Session]]:
    """A committed history of SIZE answers over 2025, shared by the module's tests (read only)."""
    engine = make_engine(migrated_url)
    sessions = session_factory(engine)
    with sessions() as session:
        generate(session, config, answers=SIZE, start=datetime(2025, 1, 1, tzinfo=UTC), now=NOW)
        session.commit()
    yield sessions
    engine.dispose()


def _report(sessions: sessionmaker[Session], config: Config, window: Window) -> Report:
    with sessions() as session:
        return build_report(session, config, window, now=NOW, language="en")


@pytest.mark.parametrize("since", [None, SINCE], ids=["all-time", "since-april"])
def test_numbers_equal_an_independent_computation(
    history: sessionmaker[Session], config: Config, since: datetime | None
) -> None:
    """Overall, every slice, every theme and every KPI match the reference to 1e-9."""
    window = Window(since, NOW)
    report = _report(history, config, window)
    touchpoints = {name: program.touchpoint for name, program in config.programs.items()}
    with history() as session:
        every = ref.answers(session, touchpoints, NOW)
        rate = ref.response_rate(session, since, NOW)
        loop = ref.followups(session, since, NOW, NOW)
    rows = [r for r in every if since is None or r["received_at"] >= since]
    assert report.overall.tally.n == len(rows)
    assert report.overall.estimate is not None
    assert report.overall.estimate.nps == pytest.approx(ref.nps([r["score"] for r in rows]))
    keys = ["touchpoint", "program", "channel", "language", "month", "week", "account", "tenure"]
    bands = {name: list(edges) for name, edges in config.segments.bands.items()}
    tenure = list(config.segments.tenure_months)
    assert bands
    assert tenure
    for key in keys + [f"segment.{name}" for name in config.segments.fields]:
        expected = ref.slice_nps(rows, key, bands, tenure)
        got = {s.value: s for s in report.slices[key]}
        assert set(got) == set(expected), key
        for value, (n, score) in expected.items():
            assert got[value].tally.n == n
            if n >= config.segments.min_sample:
                assert got[value].estimate is not None
                assert got[value].estimate.nps == pytest.approx(score), (key, value)
            else:
                assert got[value].estimate is None, (key, value)
    for theme in report.themes:
        expected_theme = ref.theme(rows, theme.tag)
        assert theme.mentions == expected_theme["mentions"]
        assert theme.detractor_share == pytest.approx(expected_theme["detractor_share"])
        assert theme.with_tag is not None
        assert theme.without_tag is not None
        assert theme.with_tag.nps == pytest.approx(expected_theme["nps_with"])
        assert theme.without_tag.nps == pytest.approx(expected_theme["nps_without"])
    kpis = {kpi.id: kpi.value for kpi in report.kpis}
    assert kpis["response_rate"] == pytest.approx(rate)
    for name, value in loop.items():
        assert kpis[name] == pytest.approx(value), name
    assert kpis["detractor_recovery"] == pytest.approx(ref.recovery(every, since, NOW))


@pytest.mark.parametrize(
    "since",
    [None, datetime(2025, 12, 24, tzinfo=UTC)],
    ids=["all-time", "last-week"],
)
def test_impact_ranking_equals_an_independent_computation(
    history: sessionmaker[Session], config: Config, since: datetime | None
) -> None:
    """Every theme's shrunken impact, interval and priority, and the ranking, match the reference.

    The last week leaves every theme below the minimum sample: all are still ranked.
    """
    report = _report(history, config, Window(since, NOW))
    touchpoints = {name: program.touchpoint for name, program in config.programs.items()}
    with history() as session:
        rows = [
            r
            for r in ref.answers(session, touchpoints, NOW)
            if since is None or r["received_at"] >= since
        ]
    weight = config.analytics.themes.prior_weight
    expected = {t.tag: ref.shrunken_theme(rows, t.tag, weight) for t in report.themes}
    if since is not None:
        assert all(t.low_n for t in report.themes if t.mentions)
        assert any(t.mentions for t in report.themes)
    for theme in report.themes:
        assert theme.impact is not None
        assert theme.impact.value == pytest.approx(expected[theme.tag]["impact"], abs=1e-9)
        assert theme.impact.low == pytest.approx(expected[theme.tag]["low"], abs=1e-9)
        assert theme.impact.high == pytest.approx(expected[theme.tag]["high"], abs=1e-9)
        assert theme.priority == pytest.approx(expected[theme.tag]["priority"], abs=1e-9)
    order = [t.tag for t in report.themes]
    reference = ref.ranking(rows, [tag.id for tag in config.tags], weight)
    assert set(order) == set(reference)
    priorities = [expected[tag]["priority"] for tag in order]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(priorities))
    assert order[0] == reference[0]


def test_themes_are_ranked_and_quotes_are_scrubbed(
    history: sessionmaker[Session], config: Config
) -> None:
    """Priority falls down the list; no quote holds an address, a phone or an author's name."""
    report = _report(history, config, Window(None, NOW))
    priorities = [t.priority for t in report.themes if t.priority is not None]
    assert priorities == sorted(priorities, reverse=True)
    quotes = [q for t in report.themes for q in t.quotes]
    assert quotes
    assert not any("@" in q.text or "1234-" in q.text for q in quotes)
    assert {(q.score >= 9, q.polarity.value == "praise") for q in quotes} <= {
        (True, True),
        (False, False),
    }
    with history() as session:
        names = build_report(session, config, Window(None, NOW), now=NOW, language="en")
    assert names.themes[0].structural == (names.themes[0].tag in config.analytics.themes.structural)


def test_outputs_carry_the_same_numbers(history: sessionmaker[Session], config: Config) -> None:
    """JSON and CSV hold the overall NPS; HTML is one self-contained page."""
    report = _report(history, config, Window(SINCE, NOW))
    assert report.overall.estimate is not None
    data = json.loads(render_json(report))
    assert data["overall"]["estimate"]["nps"] == pytest.approx(report.overall.estimate.nps)
    assert {k["id"] for k in data["kpis"]} >= {"response_rate", "sla_compliance"}
    assert all(k["definition"] for k in data["kpis"])
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    overall = {r["metric"]: r["value"] for r in rows if r["section"] == "overall"}
    assert float(overall["nps"]) == pytest.approx(report.overall.estimate.nps, abs=1e-3)
    page = render_html(report)
    assert "<script" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page


def test_backlog_items_have_owner_due_and_a_target(
    history: sessionmaker[Session], config: Config
) -> None:
    """Top costly themes become items; the target is the baseline minus the configured points."""
    report = _report(history, config, Window(None, NOW))
    items = backlog(report, config.analytics)
    assert 0 < len(items) <= config.analytics.backlog.size
    for item in items:
        assert item.target == pytest.approx(
            max(item.baseline - config.analytics.backlog.target_points, 0), abs=0.11
        )
        assert item.owner == config.analytics.themes.owners.get(item.theme, "unassigned")
        assert item.due > NOW.date()
        assert f"{item.target:.1f}%" in item.definition_of_done


def test_report_command(
    history: sessionmaker[Session],
    migrated_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`nps-worker report` writes each format and the backlog; a reversed period is exit 2."""
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"database:\n  url: {migrated_url}\ncrm:\n  kind: salesforce\n")
    base = ["report", "--config", str(config_file), "--since", "2025-01-01"]
    assert main([*base, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["overall"]["tally"]["n"] > 0
    assert main([*base, "--format", "table", "--language", "ja"]) == 0
    assert "全体 NPS" in capsys.readouterr().out
    out, items = tmp_path / "report.html", tmp_path / "backlog.json"
    assert main([*base, "--format", "html", "--out", str(out), "--backlog", str(items)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(items.read_text(encoding="utf-8"))[0]["rank"] == 1
    assert main([*base, "--until", "2024-12-31"]) == 2
    assert "not before the end of the period" in capsys.readouterr().err
    assert main([*base, "--backlog", str(tmp_path / "items.txt")]) == 2
