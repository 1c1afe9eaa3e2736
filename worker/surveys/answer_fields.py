"""The rules every answer meets, however it comes in: the page's form, a signed webhook
document, a CSV import.

One set of rules, so that what the page refuses an import refuses too, and nothing reaches the
store that it cannot hold (PostgreSQL refuses NUL in text and lone surrogates in any encoding;
a column has a length) or that a person reading the answer later would trip over (control
characters, a comment of a megabyte, a score in full-width digits, a date from the future).
Each rule raises `FieldError` naming the field, a short code (the page words its message per
language from it) and the reason in English (imports report it with line and column).
"""

import unicodedata
from datetime import UTC, datetime

from worker.store.models import CRM_ID

MAX_COMMENT = 4_000
"""Characters a comment may have, on every path; the page's textarea says so too."""

EARLIEST_ANSWER = datetime(2003, 12, 1, tzinfo=UTC)
"""No NPS answer predates the survey itself: the question was published in December 2003
(Reichheld, "The One Number You Need to Grow", HBR). An earlier date is a typo (a two-digit
year read as 0025, a day number read as a year), not an answer."""

MAX_EMAIL = 320
"""The longest address RFC 5321 allows (64 + 1 + 255), and the mirror's column size."""

MAX_PROGRAM = 64
"""A survey's program name is stored in a column of this size."""

_ALLOWED_IN_COMMENT = frozenset("\n\t")


class FieldError(ValueError):
    """A field of an answer cannot be taken: `field`, a `code` for the page, a `reason`."""

    def __init__(self, field: str, code: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.code = code
        self.reason = reason


def score(field: str, raw: str, *, decimal_zero: bool = False) -> int:
    """A whole score from 0 to 10 in ASCII digits (`7.0` too with `decimal_zero`: spreadsheets)."""
    text = raw.strip()
    if not text:
        raise FieldError(field, "missing", "no score given")
    whole, dot, zeros = text.partition(".")
    if dot and not (decimal_zero and zeros and set(zeros) == {"0"}):
        whole = ""
    if not (whole.isascii() and whole.isdigit() and len(whole) <= 2 and int(whole) <= 10):
        hint = "; use the digits 0-9" if any(c.isdigit() and not c.isascii() for c in text) else ""
        raise FieldError(
            field, "invalid", f"'{_shown(text)}' is not a whole number from 0 to 10{hint}"
        )
    return int(whole)


def comment(field: str, raw: str | None) -> str | None:
    """The comment trimmed, line ends as `\\n`, within MAX_COMMENT, without control characters."""
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > MAX_COMMENT:
        raise FieldError(
            field, "too_long", f"{len(text)} characters; at most {MAX_COMMENT} are kept"
        )
    _refuse_controls(field, text, allowed=_ALLOWED_IN_COMMENT)
    return text or None


def text(field: str, raw: str | None, max_length: int) -> str | None:
    """A one-line value (address, CRM id, program, tag) trimmed, or None when empty."""
    value = (raw or "").strip()
    if len(value) > max_length:
        raise FieldError(field, "too_long", f"{len(value)} characters; at most {max_length}")
    _refuse_controls(field, value, allowed=frozenset())
    return value or None


def email(field: str, raw: str | None) -> str | None:
    """An address, lower-cased, or None when empty."""
    value = text(field, raw, MAX_EMAIL)
    if value is None:
        return None
    local, at, domain = value.rpartition("@")
    if not (at and local and domain) or any(char.isspace() for char in value):
        raise FieldError(field, "invalid", "not an e-mail address")
    return value.lower()


def crm_id(field: str, raw: str | None) -> str | None:
    """A CRM record id, or None when empty."""
    return text(field, raw, CRM_ID)


def answered_at(field: str, moment: datetime, now: datetime) -> datetime:
    """When the person answered: not before the survey existed, not after `now`."""
    if moment > now:
        raise FieldError(field, "future", f"{moment.isoformat()} is in the future")
    if moment < EARLIEST_ANSWER:
        raise FieldError(
            field,
            "too_early",
            f"{moment.date().isoformat()} is before NPS surveys existed (December 2003)",
        )
    return moment


def _refuse_controls(field: str, value: str, *, allowed: frozenset[str]) -> None:
    """Control characters (NUL included) and lone surrogates cannot be stored or shown."""
    for position, char in enumerate(value, start=1):
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            raise FieldError(
                field,
                "control_characters",
                f"contains the control character U+{ord(char):04X} at character {position}",
            )


def _shown(value: str, limit: int = 20) -> str:
    """A refused value as quoted in a message: short, with control characters escaped."""
    cut = value[:limit] + ("…" if len(value) > limit else "")
    return cut.encode("unicode_escape").decode("ascii") if not cut.isprintable() else cut
