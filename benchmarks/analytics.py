"""The outer loop at scale: report time over a generated history, checked against the reference.

    .venv/bin/python benchmarks/analytics.py --size 50000
    .venv/bin/python benchmarks/analytics.py --size 50000 --database postgresql+psycopg://postgres@127.0.0.1/test

Per size, a fresh database gets a seeded history (surveys, answers with tags and comments in
English and Japanese, follow-ups), then the full report is built (read + compute) and rendered
to HTML. With --check (default on) its headline numbers are compared with the straightforward
implementation in tests/analytics_reference.py; a mismatch exits 1.
"""

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import analytics_reference as ref  # noqa: E402 - the repository root is added above
from worker.analytics.dataset import Window  # noqa: E402
from worker.analytics.history import generate  # noqa: E402
from worker.analytics.render import render_html  # noqa: E402
from worker.analytics.report import Report, build_report  # noqa: E402
from worker.config import Config, load_config  # noqa: E402
from worker.store.engine import make_engine, normalise_url, session_factory  # noqa: E402
from worker.store.migrate import upgrade  # noqa: E402

NOW = datetime(2025, 12, 31, tzinfo=UTC)
START = datetime(2025, 1, 1, tzinfo=UTC)


def _database(server: str | None, folder: Path) -> tuple[str, str | None]:
    """A fresh database URL, and the name to drop afterwards on PostgreSQL."""
    if server is None:
        return f"sqlite:///{folder / f'{uuid4().hex}.db'}", None
    name = f"nps_bench_{uuid4().hex[:10]}"
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return normalise_url(server).set(database=name).render_as_string(hide_password=False), name


def _drop(server: str, name: str) -> None:
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _check(session_maker: sessionmaker[Session], report: Report, config: Config) -> list[str]:
    """Headline figures that differ from the reference implementation."""
    touchpoints = {name: p.touchpoint for name, p in config.programs.items()}
    with session_maker() as session:
        rows = ref.answers(session, touchpoints, NOW)
        rate = ref.response_rate(session, None, NOW)
        loop = ref.followups(session, None, NOW, NOW)
    problems = []
    expected = ref.nps([r["score"] for r in rows])
    if report.overall.estimate is None or abs(report.overall.estimate.nps - (expected or 0)) > 1e-9:
        problems.append(f"overall NPS {report.overall.estimate} != {expected}")
    for s in report.slices["touchpoint"]:
        n, score = ref.slice_nps(rows, "touchpoint")[s.value]
        if s.tally.n != n or (s.estimate and abs(s.estimate.nps - (score or 0)) > 1e-9):
            problems.append(f"touchpoint {s.value}")
    for theme in report.themes:
        if theme.mentions != ref.theme(rows, theme.tag)["mentions"]:
            problems.append(f"theme {theme.tag}")
    kpis = {k.id: k.value for k in report.kpis}
    for name, value in {"response_rate": rate, **loop}.items():
        if value is not None and abs((kpis[name] or 0) - value) > 1e-9:
            problems.append(f"kpi {name}: {kpis[name]} != {value}")
    return problems


def run(size: int, server: str | None, check: bool, folder: Path) -> bool:
    """Generate, report, render and print one row; False when the check found a difference."""
    config = load_config(ROOT / "config.example.yaml", env={})
    url, name = _database(server, folder)
    try:
        upgrade(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        started = time.perf_counter()
        with sessions() as session:
            history = generate(session, config, answers=size, start=START, now=NOW)
            session.commit()
        generated = time.perf_counter() - started
        started = time.perf_counter()
        with sessions() as session:
            report = build_report(session, config, Window(None, NOW), now=NOW, language="en")
        reported = time.perf_counter() - started
        started = time.perf_counter()
        page = render_html(report)
        rendered = time.perf_counter() - started
        problems = _check(sessions, report, config) if check else []
        engine.dispose()
    finally:
        if server is not None and name is not None:
            _drop(server, name)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    verdict = "skipped" if not check else "equal" if not problems else "DIFFERENT"
    print(
        f"{history.answers:>9} {history.surveys:>9} {generated:>10.2f} {reported:>10.2f}"
        f" {rendered:>8.2f} {len(page) / 1024:>8.0f} {peak:>9.0f}  {verdict}"
    )
    for problem in problems:
        print(f"    {problem}")
    return not problems


def main() -> int:
    """Parse arguments, run each size, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, action="append", help="answers (repeatable)")
    parser.add_argument("--database", help="PostgreSQL server URL (default: a SQLite file)")
    parser.add_argument("--no-check", action="store_true", help="skip the reference comparison")
    args = parser.parse_args()
    backend = "postgresql" if args.database else "sqlite"
    print(f"analytics report over a generated history ({backend})")
    print(
        f"{'answers':>9} {'surveys':>9} {'generate s':>10} {'report s':>10}"
        f" {'html s':>8} {'html KiB':>8} {'peak MiB':>9}  reference"
    )
    with tempfile.TemporaryDirectory() as folder:
        ok = [
            run(size, args.database, not args.no_check, Path(folder))
            for size in args.size or [50_000]
        ]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
