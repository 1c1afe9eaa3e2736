"""Value types shared by the configuration sections, each parsed from the text RevOps writes."""

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator, BeforeValidator, PlainSerializer

from worker.config.errors import invalid

_DURATION = re.compile(
    r"(-)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?"
)
_DURATION_HINT = "use e.g. 30m, 2h, 7d"


def parse_duration(value: Any, *, signed: bool = False) -> dt.timedelta:
    """Turn `30s`, `15m`, `2h`, `7d`, `2w`, `1h30m` (and `-30d` where `signed`) into a timedelta."""
    if isinstance(value, dt.timedelta):
        parsed = value
    else:
        text = value.strip() if isinstance(value, str) else None
        if text and text != _ascii_digits(text):
            raise invalid(
                f"invalid duration '{value}': full-width digits; write '{_ascii_digits(text)}'"
            )
        match = _DURATION.fullmatch(text) if text else None
        if match is None or not any(match.groups()[1:]):
            shown = f"'{value}'" if isinstance(value, str) else repr(value)
            raise invalid(f"invalid duration {shown} ({_DURATION_HINT})")
        sign, weeks, days, hours, minutes, seconds = match.groups()
        parsed = dt.timedelta(
            weeks=int(weeks or 0),
            days=int(days or 0),
            hours=int(hours or 0),
            minutes=int(minutes or 0),
            seconds=int(seconds or 0),
        )
        if sign:
            parsed = -parsed
    if parsed < dt.timedelta(0) and not signed:
        raise invalid(f"duration must not be negative ('{format_duration(parsed)}')")
    return parsed


def _ascii_digits(text: str) -> str:
    """Full-width `90d` (U+FF10-FF5E, what a Japanese input method types) in plain ASCII."""
    return unicodedata.normalize("NFKC", text) if re.search("[\uff01-\uff5e]", text) else text


def format_duration(value: dt.timedelta) -> str:
    """Shortest text form of a duration in the syntax `parse_duration` reads (`1h30m`, `-30d`)."""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + ("".join(parts) or "0s")


def _signed_duration(value: Any) -> dt.timedelta:
    return parse_duration(value, signed=True)


def duration_between(low: str, high: str) -> AfterValidator:
    """Bound a duration to [low, high], both written in duration syntax."""
    lower, upper = parse_duration(low, signed=True), parse_duration(high, signed=True)

    def check(value: dt.timedelta) -> dt.timedelta:
        if not lower <= value <= upper:
            raise invalid(f"'{format_duration(value)}' is out of range {low} to {high}")
        return value

    return AfterValidator(check)


def _positive(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise invalid("duration must be greater than zero")
    return value


_as_text = PlainSerializer(format_duration, return_type=str)

Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration), _as_text]
"""A non-negative duration such as `90d` or `1h30m`."""

PositiveDuration = Annotated[
    dt.timedelta, BeforeValidator(parse_duration), AfterValidator(_positive), _as_text
]
"""A duration greater than zero."""

SignedDuration = Annotated[dt.timedelta, BeforeValidator(_signed_duration), _as_text]
"""A duration that may be negative, for offsets such as `-30d` (30 days before)."""


def pattern(regex: str, what: str, hint: str) -> AfterValidator:
    """Require text to match `regex` whole; the error names `what` and shows `hint`."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise invalid(f"invalid {what} '{value}' ({hint})")
        return value

    return AfterValidator(check)


def _variable_name(value: str) -> str:
    """A secret pasted here instead of a name is refused without being echoed back."""
    if not _VARIABLE.fullmatch(value):
        raise invalid(
            "expected the NAME of an environment variable (e.g. HUBSPOT_ACCESS_TOKEN), not a"
            " secret; the value is not shown. Put the secret in that variable and its name here"
        )
    return value


_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

EnvVarName = Annotated[str, AfterValidator(_variable_name)]
"""The NAME of an environment variable holding a secret; secrets never sit in the file."""

Identifier = Annotated[
    str, pattern(r"[a-z][a-z0-9_]*", "name", "lower-case letters, digits and _, e.g. case_closed")
]
"""A name RevOps gives to a program, tag or segment."""

FieldName = Annotated[
    str, pattern(r"[A-Za-z][A-Za-z0-9_]*", "field name", "a CRM API name, e.g. Status or Foo__c")
]
"""The API name of a CRM field or property."""

LanguageCode = Annotated[
    str, pattern(r"[a-z]{2,3}(-[A-Z][A-Za-z]{1,3})?", "language code", "e.g. en, ja, pt-BR")
]
"""A BCP 47 language tag of the simple kind e-mail templates are keyed by."""

EmailAddress = Annotated[
    str,
    pattern(
        r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+",
        "e-mail address",
        "e.g. nps@example.com",
    ),
]
"""An e-mail address checked for shape (local@domain.tld)."""


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid(f"invalid URL '{value}' (use e.g. https://nps.example.com)")
    if parts.query or parts.fragment:
        raise invalid(f"URL '{value}' must not carry a query or fragment")
    return value.rstrip("/")


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""An absolute http(s) URL without trailing slash, query or fragment."""


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"unknown time zone '{value}' (use an IANA name, e.g. Asia/Tokyo)") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
"""An IANA time zone name such as `UTC` or `Asia/Tokyo`."""


def _time_of_day(value: Any) -> dt.time:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value):
        hours, minutes = (int(part) for part in value.split(":"))
        if hours < 24 and minutes < 60:
            return dt.time(hours, minutes)
    raise invalid(f"invalid time of day {value!r} (use HH:MM, e.g. 21:00)")


TimeOfDay = Annotated[
    dt.time,
    BeforeValidator(_time_of_day),
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str),
]
"""A wall-clock time `HH:MM`, interpreted in whichever time zone the section says."""


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron_weekdays(field: str) -> str:
    """A crontab day-of-week field (0 or 7 = Sunday) in names, which APScheduler reads right.

    APScheduler 3 numbers weekdays from Monday = 0, so `from_crontab("0 10 * * 3")` would fire
    on Thursday; names mean the same to both.
    """
    if field == "*" or not any(char.isdigit() for char in field):
        return field
    days: list[str] = []
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        else:
            low, _, high = span.partition("-")
            first = int(low)
            last = int(high) if high else (6 if step_text else first)
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step > 0):
            raise ValueError(f"day of week '{part}' is not 0-7 (0 and 7 are Sunday)")
        days.extend(_CRON_DAYS[day] for day in range(first, last + 1, step))
    return ",".join(dict.fromkeys(days))


def crontab(expression: str, time_zone: str) -> CronTrigger:
    """The trigger of a standard five-field crontab line, weekdays numbered as cron does."""
    fields = expression.split()
    if len(fields) == 5 and fields[4]:
        try:
            fields[4] = _cron_weekdays(fields[4])
        except ValueError as error:
            raise ValueError(str(error)) from None
    return CronTrigger.from_crontab(" ".join(fields), timezone=ZoneInfo(time_zone))


def check_cron(expression: str, time_zone: str) -> None:
    """Raise ValueError unless `expression` is a five-field crontab line APScheduler accepts."""
    try:
        crontab(expression, time_zone)
    except ValueError as error:
        raise ValueError(
            f"invalid cron expression '{expression}' ({error}; use e.g. '0 9 1 */3 *')"
        ) from None
