"""Telling a mail security scanner's click from a person's (docs/link-scanners.md).

Pure functions of what a request shows: who it says it is, how soon after delivery it came,
and which other scores were hit on the same link just before. They never decide alone: they
only keep a score clicked in the e-mail provisional instead of letting it become final.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

HONEYPOT_SCORE = "hp"
"""`/s/{token}?score=hp`: a link hidden from people in the e-mail and page; scanners follow it."""

TOO_FAST = timedelta(seconds=10)
"""A click sooner than this after delivery is rarely a person who read the mail."""

BURST_WINDOW = timedelta(seconds=30)
"""Different scores hit on one link within this window look like a scanner opening every button."""

_SCANNER_AGENTS = re.compile(
    r"bingpreview|safelinks|barracuda|mimecast|proofpoint|symantec|messagelabs|fireeye"
    r"|trendmicro|sophos|forcepoint|zscaler|cisco|ironport|avanan|python-requests|python-httpx"
    r"|python-urllib|aiohttp|go-http-client|okhttp|java/|libwww-perl|wget|curl/|httpclient"
    r"|headless|phantomjs|puppeteer|playwright|selenium|[^a-z]bot\b|bot/|crawler|spider|preview",
    re.IGNORECASE,
)
"""User agents of mail scanners, link previewers, HTTP libraries and headless browsers."""


class AgentClass(StrEnum):
    """What the User-Agent header says about the client, stored instead of the header itself."""

    BROWSER = "browser"
    SCANNER = "scanner"
    MISSING = "missing"


def classify_agent(user_agent: str | None) -> AgentClass:
    """The class of a User-Agent header: a known scanner or tool, no header, or a browser."""
    if not user_agent or not user_agent.strip():
        return AgentClass.MISSING
    if _SCANNER_AGENTS.search(user_agent):
        return AgentClass.SCANNER
    return AgentClass.BROWSER


@dataclass(frozen=True, slots=True)
class ClickEvidence:
    """What one score click on an e-mail button showed."""

    agent: AgentClass
    seconds_since_delivery: float | None
    distinct_recent_scores: int

    def scanner_reasons(self) -> list[str]:
        """Why this click looks like a scanner's; empty when it looks like a person's."""
        reasons = []
        if self.agent is not AgentClass.BROWSER:
            reasons.append(f"agent_{self.agent.value}")
        if (
            self.seconds_since_delivery is not None
            and self.seconds_since_delivery < TOO_FAST.total_seconds()
        ):
            reasons.append("too_fast")
        if self.distinct_recent_scores > 1:
            reasons.append("several_scores")
        return reasons

    def as_signals(self) -> dict[str, object]:
        """The evidence as stored with the response version (no IP, no raw user agent)."""
        return {
            "agent": self.agent.value,
            "seconds_since_delivery": self.seconds_since_delivery,
            "distinct_recent_scores": self.distinct_recent_scores,
            "scanner_reasons": self.scanner_reasons(),
            "script_ran": False,
        }


def click_evidence(
    user_agent: str | None,
    delivered_at: datetime | None,
    score: int,
    recent_scores: Iterable[int],
    now: datetime,
) -> ClickEvidence:
    """Evidence of a click on `score` at `now`; `recent_scores` were hit within BURST_WINDOW."""
    since = None if delivered_at is None else (now - delivered_at).total_seconds()
    return ClickEvidence(
        agent=classify_agent(user_agent),
        seconds_since_delivery=since,
        distinct_recent_scores=len({score, *recent_scores}),
    )


def may_become_final(signals: dict[str, object], scanner_seen: bool) -> bool:
    """Whether an unconfirmed provisional score may count: its page script ran, no scanner sign."""
    return (
        signals.get("script_ran") is True
        and not signals.get("scanner_reasons")
        and not scanner_seen
    )
