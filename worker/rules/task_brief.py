"""The text of a follow-up task as a rep reads it: the moment, the context, the due time, the
guided response and the outcome lines, in the rep's language and time zone.

Pure: an answer, its contact and account, what the store knows around them and the rep in;
subject and body out. `read_outcomes` reads back what the rep wrote on the outcome lines.
"""

# ruff: noqa: RUF001 - Japanese text uses full-width punctuation

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.config.followup import FollowupConfig, Person
from worker.crm_types import UserProfile
from worker.domain import Account, Category, Contact
from worker.rules.task_texts import customer_name, person_name, text, words

STEPS = 5
"""Guided response steps: apology, facts, expectations, interim measure, permanent fix."""
_OUTCOME = re.compile(r"^\s*\[([1-5])\][^:：]*[:：][ \t　]*(.*?)\s*$", re.MULTILINE)
_WEEKDAYS_JA = "月火水木金土日"


@dataclass(frozen=True, slots=True)
class Rep:
    """Who reads a task: their id, name, language and time zone."""

    user_id: str | None
    name: str | None
    language: str
    time_zone: str


@dataclass(frozen=True, slots=True)
class Moment:
    """The record a survey asked about (a case, a ticket, a deal) and where to open it."""

    object: str
    record_id: str
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class PastAnswer:
    """One earlier answer of the same contact."""

    at: dt.datetime
    score: int


@dataclass(frozen=True, slots=True)
class CallContext:
    """What the store knows around an answer, for the rep's call."""

    moment: Moment | None = None
    touchpoint: str | None = None
    earlier: tuple[PastAnswer, ...] = ()
    """The contact's earlier answers, newest first."""
    answer_count: int = 1
    account_nps: float | None = None
    account_trend: float | None = None
    arr: Any = None
    renewal: Any = None
    tag_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    polarity: Mapping[str, str] = field(default_factory=dict)
    users: Mapping[str, UserProfile] = field(default_factory=dict)


def rep_for(user_id: str | None, users: Mapping[str, UserProfile], config: FollowupConfig) -> Rep:
    """The rep's language and zone: `followup.reps`, else the CRM's user, else the defaults.

    A CRM language the worker has no words for falls back to `followup.rep_language`.
    """
    profile = users.get(user_id or "")
    settings = config.reps.get(user_id or "")
    crm_language = profile.language if profile and profile.language in ("en", "ja") else None
    language = (settings and settings.language) or crm_language or config.rep_language
    zone = (settings and settings.time_zone) or (profile and profile.time_zone)
    return Rep(
        user_id,
        person_name(profile.first_name, profile.last_name, language) if profile else None,
        language,
        zone if zone and _known_zone(zone) else config.rep_time_zone,
    )


def format_time(at: dt.datetime, rep: Rep) -> str:
    """A moment in the rep's zone, the way their language writes it, with the zone's name."""
    local = at.astimezone(ZoneInfo(rep.time_zone))
    if rep.language.startswith("ja"):
        day = _WEEKDAYS_JA[local.weekday()]
        return f"{local:%Y-%m-%d}（{day}）{local:%H:%M} {local.tzname()}"
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()}"


def customer_of(contact: Contact, account: Account | None, language: str) -> str:
    """The customer as a task names them: person (family name first in Japanese) and account."""
    name = person_name(contact.first_name, contact.last_name, language) or "(no name)"
    shown = customer_name(name, language)
    if account is None or not account.name:
        return shown
    return f"{shown}（{account.name}）" if language.startswith("ja") else f"{shown}, {account.name}"


def category_label(score: int, language: str) -> str:
    """ "Detractor", "批判者", …"""
    return words(language)[Category.of_score(score).value]


def note_body(
    score: int,
    program: str,
    tags: Sequence[str],
    comment: str | None,
    *,
    call: CallContext,
    language: str,
) -> str:
    """The timeline note of an answer: score and category, program, reasons as labels, comment."""
    lines = [
        text(
            language,
            "note_answer",
            score=score,
            category=category_label(score, language),
            program=program,
        ),
        text(language, "reasons", reasons=reason_labels(tags, call, language)),
    ]
    if comment:
        lines.append(text(language, "comment", comment=comment))
    return "\n".join(lines)


def note_subject(score: int, language: str) -> str:
    """The timeline entry's title: the score at a glance ("NPS 3 · Detractor")."""
    return text(language, "note_subject", score=score, category=category_label(score, language))


def task_subject(
    score: int,
    customer: str,
    due_at: dt.datetime,
    rep: Rep,
    *,
    complaint: bool = False,
) -> str:
    """Score, category, customer and due time, short enough for a task list."""
    return text(
        rep.language,
        "subject_complaint" if complaint else "subject",
        score=score,
        category=category_label(score, rep.language),
        customer=customer,
        due=format_time(due_at, rep),
    )


@dataclass(frozen=True, slots=True)
class TaskFacts:
    """The answer's facts the body states."""

    score: int
    received_at: dt.datetime
    program: str
    comment: str | None
    tags: tuple[str, ...]
    severity: str | None
    due_at: dt.datetime
    sla: dt.timedelta


def task_body(
    facts: TaskFacts,
    customer: str,
    rep: Rep,
    call: CallContext,
    chain: Sequence[tuple[Person, str | None]],
) -> str:
    """The whole task: what was said about which moment, the context, due time, owner, the
    guided response and the outcome lines the worker reads back."""
    lang = rep.language
    lines = brief_lines(facts, customer, rep, call, chain)
    lines += ["", text(lang, "guide")]
    lines += [f"{step}. {text(lang, f'step_{step}')}" for step in range(1, STEPS + 1)]
    lines += ["", text(lang, "outcomes")]
    lines += [text(lang, f"outcome_{step}") for step in range(1, STEPS + 1)]
    return "\n".join(lines)


def brief_lines(
    facts: TaskFacts,
    customer: str,
    rep: Rep,
    call: CallContext,
    chain: Sequence[tuple[Person, str | None]],
) -> list[str]:
    """The task's facts and context without the guide: what a chat alert shows too."""
    lang = rep.language
    category = category_label(facts.score, lang)
    lines = [
        text(
            lang,
            "heading",
            customer=customer,
            score=facts.score,
            category=category,
            answered=format_time(facts.received_at, rep),
        )
    ]
    if call.moment is not None:
        lines.append(text(lang, "moment", moment=_moment(call.moment, lang)))
    lines.append(
        text(lang, "program", program=facts.program, touchpoint=call.touchpoint or facts.program)
    )
    lines.append(text(lang, "due", due=format_time(facts.due_at, rep), sla=_hours(facts.sla)))
    lines.append(
        text(lang, "owner", owner=rep.name or text(lang, "nobody"), chain=_chain(chain, lang))
    )
    lines += ["", text(lang, "said")]
    score = str(facts.score)
    if facts.severity:
        score += f"（{facts.severity}）" if lang.startswith("ja") else f" ({facts.severity})"
    lines.append(f"NPS: {score}")
    lines.append(
        text(lang, "comment", comment=facts.comment) if facts.comment else text(lang, "no_comment")
    )
    lines.append(text(lang, "reasons", reasons=reason_labels(facts.tags, call, lang)))
    lines += ["", text(lang, "context"), *_context(call, lang, rep)]
    return lines


def read_outcomes(body: str | None) -> dict[int, str]:
    """What the rep wrote after each outcome line's colon, by step (empty lines left out)."""
    found: dict[int, str] = {}
    for step, written in _OUTCOME.findall(body or ""):
        if written:
            found[int(step)] = written
    return found


def escalation_text(
    *,
    level: int,
    score: int,
    comment: str | None,
    customer: str,
    reader: Rep,
    notify: str,
    reason: str,
    owner_name: str | None,
    original_due: dt.datetime,
    due_at: dt.datetime,
) -> tuple[str, str]:
    """Subject and body of an escalation task: the customer, the comment, who owns the
    original task by name, and by when the customer should hear from us."""
    lang = reader.language
    category = category_label(score, lang)
    subject = text(
        lang, "escalation_subject", level=level, score=score, category=category, customer=customer
    )
    body = [
        text(
            lang,
            "escalation_body",
            notify=text(lang, notify) if notify in words(lang) else notify,
            reason=reason,
        ),
        text(lang, "escalation_customer", customer=customer),
        f"NPS: {score} ({category})",
        text(lang, "comment", comment=comment) if comment else text(lang, "no_comment"),
        text(
            lang,
            "escalation_original",
            owner=owner_name or text(lang, "nobody"),
            due=format_time(original_due, reader),
        ),
        text(lang, "escalation_due", due=format_time(due_at, reader)),
    ]
    return subject, "\n".join(body)


def escalation_reason(overdue: dt.timedelta | None, language: str) -> str:
    """Why it escalated, in the reader's words."""
    if overdue is None:
        return text(language, "reason_at_once")
    return text(language, "reason_overdue", overdue=_hours(overdue))


def _moment(moment: Moment, language: str) -> str:
    shown = (
        text(language, "moment_record", object=moment.object, title=moment.title)
        if moment.title
        else f"{moment.object} {moment.record_id}"
    )
    return f"{shown} {moment.url}" if moment.url else shown


def _hours(span: dt.timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.0f} d"


def _chain(chain: Sequence[tuple[Person, str | None]], language: str) -> str:
    shown = []
    for person, name in chain:
        role = text(language, person.role)
        if not name:
            shown.append(role)
        else:
            shown.append(f"{role}（{name}）" if language.startswith("ja") else f"{role} ({name})")
    return " → ".join(shown)


def reason_labels(tags: Sequence[str], call: CallContext, language: str) -> str:
    """The reasons as labels in `language`, each with its polarity: "Support (complaint)"."""
    if not tags:
        return "-"
    shown = []
    for tag in tags:
        labels = call.tag_labels.get(tag, {})
        label = labels.get(language) or labels.get("en") or tag
        polarity = call.polarity.get(tag)
        if polarity not in ("praise", "complaint"):
            shown.append(label)
        elif language.startswith("ja"):
            shown.append(f"{label}（{text(language, polarity)}）")
        else:
            shown.append(f"{label} ({text(language, polarity)})")
    return ("、" if language.startswith("ja") else ", ").join(shown)


def _context(call: CallContext, language: str, rep: Rep) -> list[str]:
    lines = []
    if call.earlier:
        answers = ", ".join(
            f"{answer.score} ({answer.at.astimezone(ZoneInfo(rep.time_zone)):%Y-%m-%d})"
            for answer in call.earlier[:5]
        )
        lines.append(text(language, "earlier", answers=answers))
    else:
        lines.append(text(language, "earlier_none"))
    lines.append(text(language, "answer_count", count=call.answer_count))
    if call.account_nps is not None:
        trend = (
            text(language, "trend", trend=f"{call.account_trend:+.1f}")
            if call.account_trend is not None
            else ""
        )
        lines.append(text(language, "account_nps", nps=f"{call.account_nps:+.1f}", trend=trend))
    if call.arr not in (None, ""):
        arr = f"{call.arr:,.0f}" if isinstance(call.arr, int | float) else str(call.arr)
        lines.append(text(language, "arr", arr=arr))
    if call.renewal not in (None, ""):
        lines.append(text(language, "renewal", renewal=str(call.renewal)[:10]))
    return lines


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
