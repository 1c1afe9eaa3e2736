"""Field values between Salesforce JSON and Python: formatting for responses, coercion of writes.

Formats follow the REST API Developer Guide ("Valid Date and DateTime Formats",
intro_valid_date_formats.htm): dates as `YYYY-MM-DD`, datetimes returned as
`YYYY-MM-DDThh:mm:ss.sss+0000` and accepted with `Z`, `+hh:mm` or `+hhmm` offsets.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from worker.sandbox.salesforce.errors import FieldRejected, RecordError
from worker.sandbox.salesforce.schema import FieldDef

# Salesforce's email check is looser than RFC 5322; this matches what it accepts in practice.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_STRING_LIKE = frozenset({"string", "email", "picklist", "textarea", "url", "combobox"})


def format_datetime(moment: datetime) -> str:
    """A datetime the way the REST API returns it: UTC, milliseconds, `+0000`."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def to_json(value: Any) -> Any:
    """A stored value as it appears in a REST response body."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def parse_datetime(text: str) -> datetime | None:
    """A datetime written in any format Salesforce accepts, or None when it is not one."""
    normalized = text.strip()
    if normalized.endswith(("Z", "z")):
        normalized = normalized[:-1] + "+00:00"
    normalized = _COMPACT_OFFSET.sub(r"\1:\2", normalized)
    try:
        parsed = datetime.fromisoformat(normalized)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_date(text: str) -> date | None:
    """A `YYYY-MM-DD` date, or None when the text is not one."""
    if not _DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def coerce(field: FieldDef, raw: Any) -> Any:
    """The stored value for a write of `raw` into `field`; raises FieldRejected when refused."""
    if raw is None or (raw == "" and field.type in _STRING_LIKE):
        return False if field.type == "boolean" else None
    if field.type in _STRING_LIKE:
        return _coerce_text(field, raw)
    coercer = _COERCERS.get(field.type)
    if coercer is None:
        raise _wrong_type(field, raw)
    return coercer(field, raw)


def _coerce_id(field: FieldDef, raw: Any) -> str:
    if not isinstance(raw, str):
        raise _wrong_type(field, raw)
    return raw


def _coerce_date(field: FieldDef, raw: Any) -> date:
    parsed = parse_date(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise _wrong_type(field, raw)
    return parsed


def _coerce_datetime(field: FieldDef, raw: Any) -> datetime:
    parsed = parse_datetime(raw) if isinstance(raw, str) else None
    if parsed is None:
        raise _wrong_type(field, raw)
    return parsed


def _coerce_text(field: FieldDef, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _wrong_type(field, raw)
    text = str(raw)
    if field.length and len(text) > field.length:
        raise FieldRejected(
            RecordError(
                "STRING_TOO_LONG",
                f"{field.label}: data value too large: {text[:30]} (max length={field.length})",
                (field.name,),
            )
        )
    if field.type == "email" and not _EMAIL.match(text):
        raise FieldRejected(
            RecordError(
                "INVALID_EMAIL_ADDRESS",
                f"{field.label}: invalid email address: {text}",
                (field.name,),
            )
        )
    if field.type == "picklist" and field.restricted and text not in field.picklist:
        raise _bad_picklist(field, text)
    return text


def _coerce_boolean(field: FieldDef, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise _wrong_type(field, raw)


def _coerce_number(field: FieldDef, raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _wrong_type(field, raw)
    try:
        number = Decimal(str(raw))
    except InvalidOperation as exc:
        raise _wrong_type(field, raw) from exc
    if not number.is_finite():
        raise _wrong_type(field, raw)
    rounded = number.quantize(Decimal(1).scaleb(-field.scale), rounding=ROUND_HALF_UP)
    integer_digits = len(str(abs(int(rounded)))) if int(rounded) else 0
    if field.precision and integer_digits > field.precision - field.scale:
        raise FieldRejected(
            RecordError(
                "NUMBER_OUTSIDE_VALID_RANGE",
                f"{field.label}: value outside of valid range on numeric field: {raw}",
                (field.name,),
            )
        )
    return float(rounded)


def _wrong_type(field: FieldDef, raw: Any) -> FieldRejected:
    return FieldRejected(
        RecordError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{field.label}: value not of required type: {raw}",
            (field.name,),
        )
    )


def _bad_picklist(field: FieldDef, value: str) -> FieldRejected:
    return FieldRejected(
        RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{field.label}: bad value for restricted picklist field: {value}",
            (field.name,),
        )
    )


_COERCERS: dict[str, Callable[[FieldDef, Any], Any]] = {
    "id": _coerce_id,
    "reference": _coerce_id,
    "boolean": _coerce_boolean,
    "double": _coerce_number,
    "currency": _coerce_number,
    "percent": _coerce_number,
    "int": _coerce_number,
    "date": _coerce_date,
    "datetime": _coerce_datetime,
}
