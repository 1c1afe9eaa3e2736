"""Whether, and when, a candidate event becomes a survey for its contact.

Every check runs and is reported in order, so explain can show all of them; the first failure
is the refusal's `reason_code`. The send time is settled first (delay, quiet hours, business
days, daily cap) and the throttles are tested against that time, so a deferral can never
move a survey inside another one's minimum interval (promise 1).
"""

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from worker.config.programs import Program
from worker.config.survey import SurveyConfig
from worker.config.values import format_duration
from worker.domain import Account, Contact
from worker.rules.calendar import next_send_time, zone
from worker.rules.conditions import evaluate
from worker.rules.triggers import EventCandidate

Outcome = Literal["send", "defer", "refuse"]
_CAP_HORIZON_DAYS = 30


@dataclass(frozen=True, slots=True)
class PastSurvey:
    """A survey of this contact, sent or planned (`at` is its send time), from any program."""

    program: str
    at: dt.datetime
    answered: bool = False


@dataclass(frozen=True, slots=True)
class Situation:
    """What the store knows around the contact when a candidate is planned.

    `account_surveys`: send times of surveys to anyone at the contact's account.
    `scheduled_per_day`: invitations already scheduled per UTC day (daily cap); the overflow
    goes to the contact's first sending moment of the next UTC day with room.
    `values`: `contact.X` / `account.X` field values the audience and exclusions read.
    """

    history: Sequence[PastSurvey] = ()
    account_surveys: Sequence[dt.datetime] = ()
    suppressed: bool = False
    scheduled_per_day: Mapping[dt.date, int] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Check:
    """One eligibility rule: its stable code, whether it passed, and why, in words."""

    code: str
    passed: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Eligibility:
    """The verdict on one candidate: send now, defer to `send_at`, or refuse with `reason_code`."""

    program: str
    dedup_key: str
    contact_crm_id: str | None
    outcome: Outcome
    send_at: dt.datetime | None
    reason_code: str | None
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Timeline:
    """When reminders go out and when the survey link expires."""

    reminders: tuple[dt.datetime, ...]
    expires_at: dt.datetime


def check_eligibility(
    candidate: EventCandidate,
    contact: Contact | None,
    account: Account | None,
    situation: Situation,
    *,
    program: Program,
    survey: SurveyConfig,
    now: dt.datetime,
) -> Eligibility:
    """Run every rule of DESIGN.md section 5 promise 1 and the program's own throttles."""
    if contact is None or contact.deleted:
        missing = Check("contact_missing", False, "no such contact in the mirror (or deleted)")
        return _verdict(candidate, None, (missing,), now)
    checks = [
        Check("no_email", bool(contact.email and contact.email.strip()), "has an e-mail address"),
        Check("opted_out", not contact.opted_out, "not opted out in the CRM"),
        Check("unsubscribed", not situation.suppressed, "not unsubscribed locally"),
        _audience(program, situation.values),
        *_exclusions(program, situation.values),
    ]
    send_at, timing = _send_time(candidate, contact, situation, survey, now)
    checks.extend(timing)
    if program.trigger.kind == "recovery":
        checks.append(_recovery_once(candidate.program, situation.history, send_at, survey))
    else:
        checks.append(_min_interval(situation.history, send_at, survey.min_interval))
    checks.append(_program_interval(candidate.program, program, situation.history, send_at))
    checks.append(_account_cap(account, situation.account_surveys, send_at, survey))
    checks.append(_sampling(candidate.dedup_key, program.sample))
    return _verdict(candidate, send_at, tuple(checks), now)


def survey_timeline(send_at: dt.datetime, survey: SurveyConfig) -> Timeline:
    """Reminder times (`count` of them, `after` apart) and the expiry, from the send time."""
    reminders = tuple(
        send_at + survey.reminders.after * step for step in range(1, survey.reminders.count + 1)
    )
    return Timeline(reminders, send_at + survey.expiry)


def _verdict(
    candidate: EventCandidate,
    send_at: dt.datetime | None,
    checks: tuple[Check, ...],
    now: dt.datetime,
) -> Eligibility:
    failed = next((check.code for check in checks if not check.passed), None)
    outcome: Outcome
    if failed is not None or send_at is None:
        outcome, send_at = "refuse", None
    else:
        outcome = "send" if send_at <= now else "defer"
    return Eligibility(
        candidate.program,
        candidate.dedup_key,
        candidate.contact_crm_id,
        outcome,
        send_at,
        failed,
        checks,
    )


def _audience(program: Program, values: Mapping[str, Any]) -> Check:
    result = evaluate(program.audience, values)
    shown = "; ".join(item.detail for item in result.clauses) or "everyone"
    return Check("not_in_audience", result.passed, f"audience: {shown}")


def _exclusions(program: Program, values: Mapping[str, Any]) -> list[Check]:
    checks = []
    for index, condition in enumerate(program.exclude, start=1):
        result = evaluate(condition, values)
        shown = "; ".join(item.detail for item in result.clauses)
        checks.append(Check("excluded", not result.passed, f"exclusion {index}: {shown}"))
    return checks


def _send_time(
    candidate: EventCandidate,
    contact: Contact,
    situation: Situation,
    survey: SurveyConfig,
    now: dt.datetime,
) -> tuple[dt.datetime, list[Check]]:
    quiet = survey.quiet_hours
    tz = zone(contact.time_zone, quiet.default_time_zone)
    wanted = max(candidate.fire_at, now)
    send_at = next_send_time(wanted, tz, quiet)
    moved = f"moved from {_at(wanted)} to {_at(send_at)}" if send_at != wanted else "no move"
    checks = [Check("quiet_hours", True, f"sending hours and days in {tz.key}: {moved}")]
    for _ in range(_CAP_HORIZON_DAYS):
        if situation.scheduled_per_day.get(send_at.date(), 0) < survey.daily_cap:
            break
        next_day = dt.datetime.combine(send_at.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
        send_at = next_send_time(next_day, tz, quiet)
    else:
        checks.append(Check("daily_cap", False, f"daily cap full for {_CAP_HORIZON_DAYS} days"))
        return send_at, checks
    used = situation.scheduled_per_day.get(send_at.date(), 0)
    checks.append(Check("daily_cap", True, f"{used} of {survey.daily_cap} on {send_at:%Y-%m-%d}"))
    return send_at, checks


def _min_interval(
    history: Sequence[PastSurvey], send_at: dt.datetime, interval: dt.timedelta
) -> Check:
    close = [past for past in history if abs(past.at - send_at) < interval]
    if close:
        past = min(close, key=lambda item: abs(item.at - send_at))
        detail = f"{past.program} survey at {_at(past.at)} is within {format_duration(interval)}"
        return Check("min_interval", False, detail)
    return Check("min_interval", True, f"no survey within {format_duration(interval)}")


def _recovery_once(
    program_id: str, history: Sequence[PastSurvey], send_at: dt.datetime, survey: SurveyConfig
) -> Check:
    """A recovery check-in passes the minimum interval once: not when another check-in of
    this program went out within it."""
    interval = survey.min_interval
    close = [p for p in history if p.program == program_id and abs(p.at - send_at) < interval]
    if close:
        detail = (
            f"a {program_id} check-in at {_at(close[0].at)} is within"
            f" {format_duration(interval)}; the interval is passed once"
        )
        return Check("min_interval", False, detail)
    return Check(
        "min_interval", True, f"recovery check-in: passes {format_duration(interval)} once"
    )


def _program_interval(
    program_id: str, program: Program, history: Sequence[PastSurvey], send_at: dt.datetime
) -> Check:
    interval = program.min_interval
    if interval is None:
        return Check("program_interval", True, "no per-program interval")
    same = [past for past in history if past.program == program_id]
    close = [past for past in same if abs(past.at - send_at) < interval]
    if close:
        shown = _at(close[0].at)
        return Check("program_interval", False, f"same program at {shown}, within the interval")
    return Check(
        "program_interval", True, f"no {program_id} survey within {format_duration(interval)}"
    )


def _account_cap(
    account: Account | None,
    sent: Sequence[dt.datetime],
    send_at: dt.datetime,
    survey: SurveyConfig,
) -> Check:
    cap = survey.account_cap
    if not cap.enabled or account is None:
        return Check("account_cap", True, "no account cap applies")
    near = sum(1 for at in sent if abs(at - send_at) < cap.per)
    detail = f"{near} surveys at the account within {format_duration(cap.per)}, cap {cap.count}"
    return Check("account_cap", near < cap.count, detail)


def _sampling(key: str, sample: float) -> Check:
    if sample >= 100:
        return Check("sampled_out", True, "no sampling")
    bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 10_000 / 100
    return Check("sampled_out", bucket < sample, f"bucket {bucket:.2f} against {sample:g}%")


def _at(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ")
