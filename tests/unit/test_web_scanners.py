"""Scanner evidence from one click: agent classes and the reasons a click looks automated."""

from datetime import UTC, datetime, timedelta

import pytest

from worker.surveys.web.scanners import AgentClass, classify_agent, click_evidence, may_become_final

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        pytest.param(CHROME, AgentClass.BROWSER, id="chrome"),
        pytest.param(
            "Mozilla/5.0 (iPhone) Mobile/15E148 Safari/604.1", AgentClass.BROWSER, id="ios"
        ),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 12; CUBOT P50)", AgentClass.BROWSER, id="cubot-phone"
        ),
        pytest.param("Mozilla/5.0 BingPreview/1.0b", AgentClass.SCANNER, id="safelinks"),
        pytest.param("Mimecast Security Scanner", AgentClass.SCANNER, id="mimecast"),
        pytest.param("python-requests/2.32", AgentClass.SCANNER, id="requests"),
        pytest.param("curl/8.5.0", AgentClass.SCANNER, id="curl"),
        pytest.param("Mozilla/5.0 HeadlessChrome/120.0", AgentClass.SCANNER, id="headless"),
        pytest.param("Googlebot/2.1", AgentClass.SCANNER, id="crawler"),
        pytest.param("", AgentClass.MISSING, id="empty"),
        pytest.param(None, AgentClass.MISSING, id="absent"),
    ],
)
def test_classify_agent(agent: str | None, expected: AgentClass) -> None:
    """Known scanners, tools and headless browsers are not browsers."""
    assert classify_agent(agent) is expected


@pytest.mark.parametrize(
    ("agent", "delivered_ago", "recent", "reasons"),
    [
        pytest.param(CHROME, timedelta(hours=1), [], [], id="human"),
        pytest.param(CHROME, None, [], [], id="crm-channel-no-delivery-time"),
        pytest.param(CHROME, timedelta(seconds=4), [], ["too_fast"], id="too-fast"),
        pytest.param(CHROME, timedelta(seconds=10), [], [], id="ten-seconds-is-fine"),
        pytest.param(CHROME, timedelta(hours=1), [9], [], id="same-score-again"),
        pytest.param(CHROME, timedelta(hours=1), [3], ["several_scores"], id="other-score"),
        pytest.param(
            "curl/8",
            timedelta(seconds=1),
            [0],
            ["agent_scanner", "too_fast", "several_scores"],
            id="all",
        ),
    ],
)
def test_scanner_reasons(
    agent: str, delivered_ago: timedelta | None, recent: list[int], reasons: list[str]
) -> None:
    """Each sign of a scanner is named; a person's click has none."""
    delivered = None if delivered_ago is None else NOW - delivered_ago

    evidence = click_evidence(agent, delivered, 9, recent, NOW)

    assert evidence.scanner_reasons() == reasons
    assert evidence.as_signals()["script_ran"] is False


@pytest.mark.parametrize(
    ("signals", "scanner_seen", "expected"),
    [
        pytest.param({"script_ran": True, "scanner_reasons": []}, False, True, id="human"),
        pytest.param({"script_ran": False, "scanner_reasons": []}, False, False, id="no-script"),
        pytest.param(
            {"script_ran": True, "scanner_reasons": ["too_fast"]}, False, False, id="fast"
        ),
        pytest.param({"script_ran": True, "scanner_reasons": []}, True, False, id="honeypot"),
        pytest.param({}, False, False, id="no-evidence"),
    ],
)
def test_may_become_final(signals: dict[str, object], scanner_seen: bool, expected: bool) -> None:
    """Only a click whose page ran its script, with no sign of a scanner, may count alone."""
    assert may_become_final(signals, scanner_seen) is expected
