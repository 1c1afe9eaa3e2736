"""The review pack as an e-mail (HTML with the report's charts, and plain text) and as a short
chat summary with a link."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from worker.analytics import charts
from worker.analytics.i18n import Words
from worker.analytics.items import Change
from worker.analytics.render import change_text, kpi_text, nps_text, target_met, target_text
from worker.digest.content import BASELINE, Digest
from worker.notify.message import ChatMessage

_environment = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(["html.j2"], default=False),
    undefined=StrictUndefined,
)


def period_text(digest: Digest) -> tuple[str, str]:
    """The first and the last day of the period."""
    last = (digest.until - timedelta(microseconds=1)).date()
    return digest.since.date().isoformat(), last.isoformat()


def subject(digest: Digest) -> str:
    """`NPS review 2026-03-23 to 2026-03-29: +12.0`."""
    words = Words(digest.language)
    start, end = period_text(digest)
    shown = f"{digest.current.nps:+.1f}" if digest.current else words("none")
    return words("digest.subject", start=start, end=end, nps=shown)


def _context(digest: Digest) -> dict[str, Any]:
    words = Words(digest.language)
    report = digest.report
    start, end = period_text(digest)

    def goal(kpi: str, value: float | None) -> str:
        text = target_text(report, kpi, words)
        if text is None:
            return words("digest.no_target")
        met = target_met(report, kpi, value)
        verdict = "" if met is None else " · " + words("target_met" if met else "target_missed")
        return text + verdict

    def action(change: Change) -> str:
        details = change.details
        if change.action == "assigned":
            return words("digest.action.assigned", owner=details.get("owner", ""))
        if change.action == "status":
            return words("digest.action.status", status=words(f"status.{details.get('status')}"))
        return words(f"digest.action.{change.action}")

    return {
        "d": digest,
        "t": words,
        "subject": subject(digest),
        "period": words("range", start=start, until=end),
        "generated": digest.until.strftime("%Y-%m-%d %H:%M UTC"),
        "baseline": BASELINE,
        "nps": lambda e: nps_text(e, words, 1),
        "low": lambda n: n < report.min_sample,
        "change": change_text,
        "kpi_text": lambda k: kpi_text(k, words),
        "goal": goal,
        "action": action,
        "comparison_svg": Markup(  # noqa: S704 - charts escape every text they draw
            charts.comparison_chart(
                [(words("digest.last"), digest.previous), (words("digest.this"), digest.current)],
                words("digest.vs"),
            )
        ),
        "trend_svg": Markup(  # noqa: S704 - charts escape every text they draw
            charts.trend_chart(digest.trend, words("digest.trend"), width=400)
        ),
    }


def render_html(digest: Digest) -> str:
    """The HTML part."""
    return _environment.get_template("digest.html.j2").render(_context(digest))


def render_text(digest: Digest) -> str:
    """The plain-text part."""
    return _environment.get_template("digest.txt.j2").render(_context(digest))


def chat_message(digest: Digest) -> ChatMessage:
    """A few lines for Slack and Teams, with the link to the full report."""
    words = Words(digest.language)
    start, end = period_text(digest)
    none = words("none")
    lines = [
        words(
            "digest.chat_nps",
            nps=f"{digest.current.nps:+.1f}" if digest.current else none,
            previous=f"{digest.previous.nps:+.1f}" if digest.previous else none,
            n=digest.trend[-1].tally.n,
        )
    ]
    moving = [m.label for m in (*digest.new_themes, *digest.rising_themes)]
    if moving:
        lines.append(words("digest.chat_themes", themes=", ".join(dict.fromkeys(moving))))
    lines.append(
        words("digest.chat_overdue", n=digest.overdue_total, changes=len(digest.backlog_changes))
    )
    missed = [
        words(f"kpi.{k.id}")
        for k in digest.report.kpis
        if target_met(digest.report, k.id, k.value) is False
    ]
    if missed:
        lines.append(words("digest.chat_kpis", kpis=", ".join(missed)))
    return ChatMessage(
        title=words("digest.chat_title", start=start, end=end),
        lines=tuple(lines),
        link=digest.link,
        link_text=words("digest.link"),
    )
