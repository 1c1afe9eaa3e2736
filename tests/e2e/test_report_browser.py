"""The HTML report in a real headless Chromium: no errors, no requests leave the file, screenshots.

Screenshots land in tests/artifacts/ (git-ignored) for a person to look at.
"""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Request, sync_playwright

from worker.analytics.dataset import Window
from worker.analytics.history import generate
from worker.analytics.i18n import LANGUAGES, Language
from worker.analytics.render import render_html
from worker.analytics.report import build_report
from worker.config import load_config
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2025, 12, 31, tzinfo=UTC)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[Language, Path]:
    """The HTML report of a generated history, in each language."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{folder / 'nps.db'}"
    upgrade(url)
    config = load_config(ROOT / "config.example.yaml", env={})
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as session:
        generate(session, config, answers=2500, start=datetime(2025, 1, 1, tzinfo=UTC), now=NOW)
        session.commit()
    found: dict[Language, Path] = {}
    for language in LANGUAGES:
        with sessions() as session:
            report = build_report(session, config, Window(None, NOW), now=NOW, language=language)
        found[language] = folder / f"report-{language}.html"
        found[language].write_text(render_html(report), encoding="utf-8")
    engine.dispose()
    return found


@pytest.mark.parametrize(("language", "title"), [("en", "NPS report"), ("ja", "NPS レポート")])
def test_report_renders_cleanly(
    pages: dict[Language, Path], language: Language, title: str
) -> None:
    """No console error, no request other than the file itself; charts drawn; a screenshot saved."""
    errors: list[str] = []
    requests: list[str] = []
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 1200, "height": 900})

        def on_console(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                errors.append(message.text)

        def on_request(request: Request) -> None:
            if not request.url.startswith(("file:", "data:")):
                requests.append(request.url)

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", on_request)
        page.goto(pages[language].as_uri())
        page.wait_for_load_state("networkidle")
        assert page.inner_text("h1") == title
        assert page.locator("#trend .wide svg polygon").count() == 1
        assert page.locator("#weekly .wide svg polygon").count() == 1
        assert page.locator("#distribution svg rect").count() == 11
        assert page.locator("#themes tr").count() > 7
        path = ARTIFACTS / f"report-{language}.png"
        page.screenshot(path=str(path), full_page=True)
        browser.close()
    assert errors == []
    assert requests == []
    assert path.stat().st_size > 10_000


@pytest.mark.parametrize("language", LANGUAGES)
def test_report_reads_on_a_phone(pages: dict[Language, Path], language: Language) -> None:
    """At 375 px: nothing wider than the screen, the narrow charts shown with text of at least
    9 px, wide tables scrolling inside their section; a screenshot saved."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        page = browser.new_page(viewport={"width": 375, "height": 800})
        page.goto(pages[language].as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.locator("#trend .wide").is_hidden()
        chart = page.locator("#trend .narrow svg")
        assert chart.is_visible()
        box = chart.bounding_box()
        assert box is not None
        scale = box["width"] / float(chart.get_attribute("width") or 1)
        assert 11 * scale >= 9
        themes = page.locator("#themes .scroll")
        assert themes.evaluate("e => e.scrollWidth > e.clientWidth")
        assert themes.evaluate("e => getComputedStyle(e).overflowX") == "auto"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-{language}-375.png"), full_page=True)
        browser.close()
