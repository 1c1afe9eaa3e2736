"""Account roll-ups computed from outside the worker, and what the CRM shows.

The expected roll-up of each CRM account comes from two outside sources only: the answers the
web page acknowledged to people (their address, score and time) and the CRM's own records
(which contact, by address, belongs to which account now). NPS is promoters % minus
detractors % over each contact's latest answer in the trailing window; the trend is the
difference with the window before.
"""

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.e2e.loop_harness import Acknowledged, Company

EMAIL_FIELD = {"salesforce": "Email", "hubspot": "email"}
SAME_TIME = dt.timedelta(minutes=2)
"""How far the CRM's last-response time may sit from the acknowledged answer (request time)."""


@dataclass(frozen=True)
class Rollup:
    """One account's roll-up: NPS, counts by category, trend and last answer time."""

    nps: float | None = None
    count: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0
    trend: float | None = None
    last_at: dt.datetime | None = None

    def differs_from(self, other: "Rollup") -> list[str]:
        """The fields on which two roll-ups disagree (NPS to its one decimal)."""
        wrong = [
            name
            for name in ("count", "promoters", "passives", "detractors")
            if getattr(self, name) != getattr(other, name)
        ]
        wrong += [name for name in ("nps", "trend") if not _close(self, other, name)]
        if (self.last_at is None) != (other.last_at is None) or (
            self.last_at and other.last_at and abs(self.last_at - other.last_at) > SAME_TIME
        ):
            wrong.append("last_at")
        return wrong


def _close(one: Rollup, other: Rollup, name: str) -> bool:
    a, b = getattr(one, name), getattr(other, name)
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, abs_tol=0.1)


def _category_counts(scores: Iterable[int]) -> tuple[int, int, int]:
    listed = list(scores)
    return (
        sum(1 for s in listed if s >= 9),
        sum(1 for s in listed if s in (7, 8)),
        sum(1 for s in listed if s <= 6),
    )


def _window(
    answers: Mapping[str, list[Acknowledged]], start: dt.datetime, end: dt.datetime
) -> tuple[float | None, tuple[int, int, int], dt.datetime | None]:
    """NPS, (promoters, passives, detractors) and the last time, over each contact's latest
    answer received in [start, end)."""
    latest = []
    for given in answers.values():
        inside = [a for a in given if start <= a.at < end]
        if inside:
            latest.append(max(inside, key=lambda a: a.at))
    if not latest:
        return None, (0, 0, 0), None
    promoters, passives, detractors = _category_counts(a.score for a in latest)
    n = len(latest)
    nps = round(100 * (promoters - detractors) / n, 1)
    return nps, (promoters, passives, detractors), max(a.at for a in latest)


def expected_rollups(whole: Company, now: dt.datetime, window: dt.timedelta) -> dict[str, Rollup]:
    """Every CRM account's roll-up at `now`, from the acknowledged answers and the CRM."""
    email = EMAIL_FIELD[whole.kind]
    by_address: dict[str, list[Acknowledged]] = {}
    for answer in whole.people.acknowledged:
        by_address.setdefault(answer.address.lower(), []).append(answer)
    members: dict[str, dict[str, list[Acknowledged]]] = {}
    for contact in whole.crm_records("contact"):
        account = whole.account_of(contact)
        address = str(contact.get(email) or "").lower()
        if account and address in by_address:
            members.setdefault(account, {})[str(contact["Id"])] = by_address[address]
    rollups = {}
    for account in whole.crm_records("account"):
        answers = members.get(str(account["Id"]), {})
        nps, counts, last_at = _window(answers, now - window, now + dt.timedelta(microseconds=1))
        before, _, _ = _window(answers, now - 2 * window, now - window)
        trend = None if nps is None or before is None else round(nps - before, 1)
        rollups[str(account["Id"])] = Rollup(nps, sum(counts), *counts, trend, last_at)
    return rollups


def shown_rollups(whole: Company) -> dict[str, Rollup]:
    """Every CRM account's roll-up as the CRM's fields show it (empty fields: no answers)."""
    fields = whole.config.writeback.account
    shown = {}
    for account in whole.crm_records("account"):
        counts = [
            int(_number(account.get(name)) or 0) if name else 0
            for name in (
                fields.response_count,
                fields.promoters,
                fields.passives,
                fields.detractors,
            )
        ]
        shown[str(account["Id"])] = Rollup(
            _number(account.get(fields.nps_score or "")),
            *counts,
            _number(account.get(fields.nps_trend or "")),
            _instant(account.get(fields.last_response_at or "")),
        )
    return shown


def mismatches(whole: Company, now: dt.datetime, window: dt.timedelta) -> dict[str, list[str]]:
    """Accounts whose CRM roll-up disagrees with the independent one, and on what."""
    expected = expected_rollups(whole, now, window)
    shown = shown_rollups(whole)
    return {
        account: wrong
        for account, rollup in expected.items()
        if (wrong := rollup.differs_from(shown[account]))
    }


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _instant(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    return dt.datetime.fromisoformat(text)
