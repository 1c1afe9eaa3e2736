"""A second, straightforward implementation of the report's numbers over raw table rows.

It shares nothing with `worker.analytics` but the definitions: plain SQL text, Python loops,
no tallies or one-pass counters. Tests and the benchmark compare the two.
"""

import itertools
import json
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session


def _when(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def nps(scores: list[int]) -> float | None:
    """100 x (promoters - detractors) / answers."""
    if not scores:
        return None
    return 100 * (sum(s >= 9 for s in scores) - sum(s <= 6 for s in scores)) / len(scores)


def answers(session: Session, touchpoints: dict[str, str], until: datetime) -> list[dict[str, Any]]:
    """Every human answer before `until` with its slice values, oldest first."""
    rows = session.execute(
        text(
            "SELECT r.score, r.reason_tags, r.received_at, r.provisional, s.program, s.channel,"
            " s.language, s.contact_id, c.fields AS contact_fields, a.name AS account,"
            " a.crm_id AS account_crm_id, a.fields AS account_fields"
            " FROM responses r JOIN surveys s ON s.id = r.survey_id"
            " JOIN contacts c ON c.id = s.contact_id LEFT JOIN accounts a ON a.id = c.account_id"
            " ORDER BY r.received_at, r.id"
        )
    ).mappings()
    found = []
    for row in rows:
        received = _when(row["received_at"])
        if row["provisional"] or received >= until:
            continue
        account_fields = _json(row["account_fields"]) or {}
        segments = {
            **account_fields.get("segments", {}),
            **(_json(row["contact_fields"]) or {}).get("segments", {}),
        }
        since = account_fields.get("customer_since")
        found.append(
            {
                "score": row["score"],
                "tags": set(_json(row["reason_tags"]) or []),
                "received_at": received,
                "month": received.strftime("%Y-%m"),
                "week": "{}-W{:02d}".format(*received.isocalendar()[:2]),
                "account_crm_id": row["account_crm_id"],
                "customer_since": _when(since) if since else None,
                "program": row["program"],
                "touchpoint": touchpoints.get(row["program"], row["program"]),
                "channel": row["channel"],
                "language": row["language"],
                "contact": row["contact_id"],
                "account": row["account"],
                "segments": segments,
            }
        )
    return found


def _band(value: float, edges: list[float], names: list[str]) -> str:
    """The name of the band holding `value`: names[i] holds values below edges[i]."""
    for edge, name in zip(edges, names, strict=False):
        if value < edge:
            return name
    return names[-1]


def band_names(edges: list[float]) -> list[str]:
    """`<50k`, `50k` en dash `200k`, ..., `>=1M` (as a sign), written without the worker."""

    def short(number: float) -> str:
        if number >= 1e6:
            return f"{number / 1e6:g}M"
        if number >= 1e3:
            return f"{number / 1e3:g}k"
        return f"{number:g}"

    inner = [f"{short(a)}\u2013{short(b)}" for a, b in itertools.pairwise(edges)]
    return [f"<{short(edges[0])}", *inner, f"\u2265{short(edges[-1])}"]


def slice_nps(
    rows: list[dict[str, Any]],
    key: str,
    bands: dict[str, list[float]] | None = None,
    tenure: list[int] | None = None,
) -> dict[str, tuple[int, float | None]]:
    """(answers, NPS) per value of `key`: a column, `segment.<name>` (banded when `bands`
    names it), or `tenure` (months since the account's customer-since date, by `tenure`)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if key == "tenure":
            since = row["customer_since"]
            seconds = (row["received_at"] - since).total_seconds() if since else None
            months = None if seconds is None else seconds / (365.25 / 12 * 86400)
            value = (
                "(not set)"
                if months is None
                else _band(
                    max(months, 0),
                    [float(m) for m in tenure or []],
                    band_names([float(m) for m in tenure or []]),
                )
            )
        elif key.startswith("segment."):
            name = key.removeprefix("segment.")
            value = row["segments"].get(name)
            edges = (bands or {}).get(name)
            if edges and value is not None:
                value = _band(float(value), edges, band_names(edges))
        else:
            value = row[key]
        groups[str(value)].append(row["score"])
    return {value: (len(scores), nps(scores)) for value, scores in groups.items()}


def theme(rows: list[dict[str, Any]], tag: str) -> dict[str, Any]:
    """Mentions, detractor share and NPS with and without one tag."""
    cited = [r["score"] for r in rows if tag in r["tags"]]
    rest = [r["score"] for r in rows if tag not in r["tags"]]
    return {
        "mentions": len(cited),
        "detractor_share": 100 * sum(s <= 6 for s in cited) / len(cited) if cited else 0.0,
        "nps_with": nps(cited),
        "nps_without": nps(rest),
    }


def response_rate(session: Session, since: datetime | None, until: datetime) -> float | None:
    """Sent surveys in the period with a human answer, per 100 sent."""
    sent = answered = 0
    for row in session.execute(
        text(
            "SELECT s.sent_at, (SELECT COUNT(*) FROM responses r WHERE r.survey_id = s.id"
            " AND NOT r.provisional) AS human FROM surveys s WHERE s.sent_at IS NOT NULL"
        )
    ):
        at = _when(row.sent_at)
        if (since is None or at >= since) and at < until:
            sent += 1
            answered += row.human > 0
    return 100 * answered / sent if sent else None


def followups(
    session: Session, since: datetime | None, until: datetime, now: datetime
) -> dict[str, float | None]:
    """SLA compliance, median hours to contact and close, completion, over the period."""
    rows = [
        row
        for row in session.execute(
            text(
                "SELECT f.status, f.due_at, f.first_contact_at, f.closed_at, f.created_at,"
                " r.received_at FROM followups f JOIN responses r ON r.id = f.response_id"
            )
        )
        if row.status != "cancelled"
        and (since is None or _when(row.created_at) >= since)
        and _when(row.created_at) < until
    ]
    decided = met = 0
    contact_hours, close_hours = [], []
    closed = 0
    for row in rows:
        first = _when(row.first_contact_at) if row.first_contact_at else None
        due = _when(row.due_at)
        if first is not None or due <= now:
            decided += 1
            met += first is not None and first <= due
        if first is not None:
            contact_hours.append((first - _when(row.received_at)).total_seconds() / 3600)
        if row.status == "closed":
            closed += 1
            close_hours.append(
                (_when(row.closed_at) - _when(row.received_at)).total_seconds() / 3600
            )
    return {
        "sla_compliance": 100 * met / decided if decided else None,
        "time_to_first_contact": statistics.median(contact_hours) if contact_hours else None,
        "time_to_close": statistics.median(close_hours) if close_hours else None,
        "followup_completion": 100 * closed / len(rows) if rows else None,
    }


def recovery(rows: list[dict[str, Any]], since: datetime | None, until: datetime) -> float | None:
    """Of contacts re-surveyed in the period after a detractor answer, the share who moved up."""
    by_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_contact[row["contact"]].append(row)
    pairs = moved = 0
    for history in by_contact.values():
        for previous, current in itertools.pairwise(history):
            in_period = (since is None or current["received_at"] >= since) and current[
                "received_at"
            ] < until
            if in_period and previous["score"] <= 6:
                pairs += 1
                moved += current["score"] >= 7
    return 100 * moved / pairs if pairs else None


_VALUE = {"promoter": 1.0, "passive": 0.0, "detractor": -1.0}


def _category(score: int) -> str:
    return "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"


def _posterior(scores: list[int], prior: dict[str, float]) -> tuple[float, float]:
    """Mean and variance of an answer's value (+1/0/-1) under the Dirichlet posterior."""
    alpha = {c: prior[c] + sum(_category(s) == c for s in scores) for c in _VALUE}
    mass = sum(alpha.values())
    mean = sum(_VALUE[c] * a for c, a in alpha.items()) / mass
    second = sum(_VALUE[c] ** 2 * a for c, a in alpha.items()) / mass
    return mean, (second - mean**2) / (mass + 1)


def shrunken_theme(rows: list[dict[str, Any]], tag: str, weight: float) -> dict[str, float]:
    """Impact (without minus with) and priority, each group pulled toward the overall mix."""
    everyone = [r["score"] for r in rows]
    prior = {c: weight * sum(_category(s) == c for s in everyone) / len(everyone) for c in _VALUE}
    cited = [r["score"] for r in rows if tag in r["tags"]]
    rest = [r["score"] for r in rows if tag not in r["tags"]]
    mean_cited, var_cited = _posterior(cited, prior)
    mean_rest, var_rest = _posterior(rest, prior)
    impact = 100 * (mean_rest - mean_cited)
    half = 1.959963984540054 * 100 * (var_cited + var_rest) ** 0.5
    frequency = len(cited) / len(rows)
    return {
        "impact": impact,
        "low": impact - half,
        "high": impact + half,
        "priority": frequency * impact,
        "mentions": len(cited),
    }


def ranking(rows: list[dict[str, Any]], tags: list[str], weight: float) -> list[str]:
    """Tags by priority, highest first; ties by mentions, then by tag id."""
    found = {t for r in rows for t in r["tags"]} | set(tags)
    figures = {tag: shrunken_theme(rows, tag, weight) for tag in found}
    return sorted(found, key=lambda t: (-figures[t]["priority"], -figures[t]["mentions"], t))


def action_completion(session: Session, until: datetime) -> float | None:
    """Backlog items (not dropped) created before `until`: the share done on or before the
    period's last day."""
    last_day = (until - timedelta(microseconds=1)).date()
    created = done = 0
    for row in session.execute(text("SELECT status, created_at, done_on FROM backlog_items")):
        if row.status == "dropped" or _when(row.created_at) >= until:
            continue
        created += 1
        done_on = row.done_on
        if isinstance(done_on, str):
            done_on = date.fromisoformat(done_on)
        done += done_on is not None and done_on <= last_day
    return 100 * done / created if created else None
