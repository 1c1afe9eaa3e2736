"""An account's review pack as HTML (the report's look), JSON or a terminal summary."""

import json
from datetime import timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from rich.console import Console
from rich.table import Table

from worker.analytics import charts
from worker.analytics.account_pack import AccountPack
from worker.analytics.dataset import Window
from worker.analytics.i18n import Words
from worker.analytics.render import nps_text
from worker.analytics.report import plain

_TEMPLATES = Path(__file__).with_name("templates")


def _period(window: Window, words: Words) -> str:
    start = window.since.date().isoformat() if window.since else words("all_time")
    last = (window.until - timedelta(microseconds=1)).date().isoformat()
    return words("range", start=start, until=last)


def render_account_html(pack: AccountPack, window: Window) -> str:
    """One self-contained page, like the report."""
    words = Words(pack.language)
    environment = Environment(
        loader=FileSystemLoader(_TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    tag_names = {theme.tag: theme.label for theme in pack.themes}
    label = words("account.trend")
    return environment.get_template("account.html.j2").render(
        p=pack,
        t=words,
        period=_period(window, words),
        nps=lambda e: nps_text(e, words, 1),
        tags=lambda tags: ", ".join(tag_names.get(tag, tag) for tag in tags),
        trend_svg=(
            Markup(charts.trend_chart(pack.quarters, label)),  # noqa: S704 - charts escape text
            Markup(charts.trend_chart(pack.quarters, label, width=360)),  # noqa: S704 - idem
        ),
    )


def render_account_json(pack: AccountPack) -> str:
    """The pack as indented JSON."""
    return json.dumps(plain(pack), ensure_ascii=False, indent=2) + "\n"


def render_account_table(pack: AccountPack, console: Console) -> None:
    """A terminal summary: NPS, quarters, answers per contact, follow-ups."""
    words = Words(pack.language)
    console.print(
        f"[bold]{words('account.title', name=pack.name)}[/bold]  {pack.crm} {pack.crm_id}"
    )
    console.print(f"{words('overall')}: {nps_text(pack.estimate, words, 1)}  n={pack.overall.n}")
    quarters = Table(title=words("account.trend"))
    for column in ("account.quarter", "n", "nps"):
        quarters.add_column(words(column))
    for point in pack.quarters:
        quarters.add_row(point.period, str(point.tally.n), nps_text(point.estimate, words, 1))
    console.print(quarters)
    answers = Table(title=words("account.contacts"))
    for column in ("account.contact", "account.answered", "score", "account.comment"):
        answers.add_column(words(column), overflow="fold")
    for contact in pack.contacts:
        for answer in contact.answers:
            answers.add_row(
                contact.name,
                answer.received_at.strftime("%Y-%m-%d"),
                str(answer.score),
                answer.comment or "",
            )
    console.print(answers)
    followups = Table(title=words("account.followups"))
    for column in ("account.contact", "score", "status", "account.closed", "account.next"):
        followups.add_column(words(column))
    for line in pack.followups:
        followups.add_row(
            line.contact,
            str(line.score),
            words(f"followup.{line.status.value}"),
            line.closed_at.strftime("%Y-%m-%d") if line.closed_at else words("none"),
            str(line.next_score) if line.next_score is not None else words("none"),
        )
    console.print(followups)
