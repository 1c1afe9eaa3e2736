"""HubSpot's timestamp formats: ISO 8601 with milliseconds and `Z`, or epoch milliseconds."""

from datetime import UTC, date, datetime, time


def iso_ms(moment: datetime) -> str:
    """`2024-05-01T12:00:00.000Z`, the form HubSpot returns for datetimes."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_date(day: date) -> str:
    """`2024-05-01`, the form HubSpot returns for date properties."""
    return day.isoformat()


def parse_instant(raw: str) -> datetime:
    """An aware datetime from epoch milliseconds or an ISO 8601 string (date-only is midnight UTC).

    Raises ValueError when `raw` is neither.
    """
    text = raw.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(0, tzinfo=UTC))
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, as search filters compare dates."""
    return int(moment.timestamp() * 1000)
