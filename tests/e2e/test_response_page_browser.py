"""The answer page in a real headless Chromium: from the e-mail's score button to the thanks.

The e-mail is the real rendered invitation; the app runs under uvicorn on a loopback port.
Screenshots of every step land in tests/artifacts/browser/ (git-ignored) for a person to look at.
"""

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright

from tests.integration.web_support import FakeClock, Harness, Link, web_config
from worker.config import Config
from worker.store.engine import make_engine, session_factory
from worker.store.migrate import upgrade
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.render import Templates, render_invitation

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    """The app under uvicorn, its base URL and the harness that owns its store."""

    base_url: str
    web: Harness


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The web app on a migrated SQLite store, served by uvicorn in a thread."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'nps.db'}"
    upgrade(url)
    engine = make_engine(url)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    config = web_config()
    config = config.model_copy(
        update={"survey": config.survey.model_copy(update={"base_url": base_url})}
    )
    web = Harness(session_factory(engine), config=config, clock=FakeClock())
    server = uvicorn.Server(
        uvicorn.Config(web.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield Served(base_url, web)
    server.should_exit = True
    thread.join(timeout=5)
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


def _email_html(config: Config, web: Harness, link: Link, language: str) -> str:
    """The invitation e-mail's HTML part, with links signed for the survey."""
    delivery = Delivery(
        survey_id=link.survey_id,
        token_id=link.token_id,
        program="case_closed",
        kind=SendKind.INVITATION,
        number=0,
        language=language,
        expires_at=web.clock.now + timedelta(days=14),
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        time_zone="Asia/Tokyo",
        crm="salesforce",
        crm_id="003A",
    )
    message = render_invitation(
        Templates.from_config(config.survey), config.survey, web.signer, delivery, web.clock.now
    )
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    return str(html.get_content())


def _shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _page(browser: Browser, viewport: str, language: str) -> Page:
    context = browser.new_context(
        viewport=VIEWPORTS[viewport],  # type: ignore[arg-type]
        locale="ja-JP" if language == "ja" else "en-US",
        has_touch=viewport == "phone",
        is_mobile=viewport == "phone",
    )
    page = context.new_page()
    page.on("pageerror", lambda error: pytest.fail(f"page error: {error}"))
    return page


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
@pytest.mark.parametrize("language", ["en", "ja"])
def test_answer_from_the_email(
    served: Served, browser: Browser, language: str, viewport: str
) -> None:
    """Click 9 in the e-mail, pick two reasons, comment, send: thanks, and the answer is stored."""
    web = served.web
    link = web.survey(language=language, sent_ago=timedelta(hours=1))
    name = f"{language}-{viewport}"
    page = _page(browser, viewport, language)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_content(_email_html(web.config, web, link, language))
    _shot(page, f"{name}-1-email")

    with page.context.expect_page() as opened:
        page.click('a[href$="?score=9"]')  # the e-mail opens links in a new tab
    page = opened.value
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_selector("form")
    _shot(page, f"{name}-2-page")
    assert page.is_checked("#score-9")
    page.click('label[for="tag-usability"]')
    page.click('label[for="tag-support"]')
    page.fill("#comment", "画面が分かりやすい" if language == "ja" else "Clear screens, quick help")
    _shot(page, f"{name}-3-filled")
    page.click('button[type="submit"]')
    page.wait_for_selector("h1[tabindex]")
    _shot(page, f"{name}-4-thanks")

    heading = "ご回答ありがとうございました" if language == "ja" else "Thank you!"
    assert page.inner_text("h1") == heading
    response = web.response(link)
    assert response is not None
    assert (response.score, response.provisional) == (9, False)
    assert response.chosen_tags == ["usability", "support"]
    assert all(url.startswith(served.base_url) for url in requests if url != "about:blank")
    page.context.close()


def test_keyboard_only(served: Served, browser: Browser) -> None:
    """Tab to the scale, arrow to a score, Space on a chip, type, Enter: no mouse needed."""
    web = served.web
    link = web.survey(sent_ago=timedelta(hours=1))
    page = _page(browser, "desktop", "en")
    page.goto(f"{served.base_url}{link.page(7)}")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "score-7"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "tag-feature_value"
    page.keyboard.press("Space")
    _shot(page, "keyboard-1-chip-focused")
    for _ in range(len(web.config.tags)):
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "comment"
    page.keyboard.type("Typed without a mouse")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "BUTTON"
    _shot(page, "keyboard-2-submit-focused")
    page.keyboard.press("Enter")
    page.wait_for_selector("h1[tabindex]")
    _shot(page, "keyboard-3-thanks")

    response = web.response(link)
    assert response is not None
    assert (response.score, response.chosen_tags, response.comment) == (
        8,
        ["feature_value"],
        "Typed without a mouse",
    )
    page.context.close()


def test_script_beacon_marks_the_click(served: Served, browser: Browser) -> None:
    """The page's own script reports that it ran, within the CSP."""
    web = served.web
    link = web.survey(sent_ago=timedelta(hours=1))
    page = _page(browser, "phone", "en")

    with page.expect_response(lambda response: response.url.endswith("/seen")) as beacon:
        page.goto(f"{served.base_url}{link.page(10)}")

    assert beacon.value.status == 204
    assert web.versions(link)[-1].signals["script_ran"] is True
    page.context.close()


@pytest.mark.parametrize("language", ["en", "ja"])
def test_score_targets_at_375_px(served: Served, browser: Browser, language: str) -> None:
    """At 375 px the e-mail keeps the eleven buttons in one continuous row, each at least
    40 px tall, and the page's score targets are at least 40 by 40 px; nothing is wider than
    the screen."""
    web = served.web
    link = web.survey(language=language, sent_ago=timedelta(hours=1))
    context = browser.new_context(viewport={"width": 375, "height": 800}, has_touch=True)
    page = context.new_page()
    page.set_content(_email_html(web.config, web, link, language))
    boxes = [page.locator(f'a[href$="?score={n}"]').bounding_box() for n in range(11)]
    assert all(box is not None for box in boxes)
    shown = [box for box in boxes if box is not None]
    assert all(box["height"] >= 40 for box in shown), shown
    assert len({round(box["y"]) for box in shown}) == 1, "one row"
    assert all(b["x"] - (a["x"] + a["width"]) <= 4 for a, b in itertools.pairwise(shown))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    with context.expect_page() as opened:
        page.click('a[href$="?score=3"]')
    answer = opened.value
    answer.wait_for_selector("form")
    for n in range(11):
        box = answer.locator(f'label[for="score-{n}"]').bounding_box()
        assert box is not None
        assert box["width"] >= 40, (n, box)
        assert box["height"] >= 40, (n, box)
    assert answer.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
