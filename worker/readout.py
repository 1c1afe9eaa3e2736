"""Plain-text pieces shared by the commands that show stored state to an operator.

`explain`, `status` and `sync --dry-run` print to a terminal that may be shared or pasted into a
ticket, so personal data is shown only as much as recognising it needs.
"""

import datetime as dt

CLIP = 40
"""Characters of a free-text value shown before it is cut."""


def mask_email(email: str | None) -> str:
    """`j***@example.com`: enough to recognise an address one knows, not to read it."""
    if not email:
        return "(no e-mail)"
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def when(moment: dt.datetime | None) -> str:
    """A moment in UTC to the minute, or `-` when it has not happened."""
    return "-" if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ")


def clip(value: object, width: int = CLIP) -> str:
    """A value as it reads in a one-line listing: addresses masked, long text cut."""
    if isinstance(value, str):
        if "@" in value and " " not in value.strip():
            return mask_email(value.strip())
        text = " ".join(value.split())
        return repr(text if len(text) <= width else text[: width - 1] + "…")
    return str(value)
