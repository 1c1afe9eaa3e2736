"""Quiet hours at send time: no mail in the person's night (or weekend), in their time zone.

The plan already schedules invitations outside quiet hours; dispatch checks again because a
send can run late (the worker was down) and because reminders are timed here.
"""

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.config.survey import QuietHours

WEEKEND = (5, 6)
"""Saturday and Sunday, as `datetime.weekday()` numbers them."""


def contact_zone(time_zone: str | None, quiet: QuietHours) -> tzinfo:
    """The contact's own zone, or the configured default when unknown or unrecognised."""
    try:
        return ZoneInfo(time_zone) if time_zone else ZoneInfo(quiet.default_time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(quiet.default_time_zone)


def is_quiet(quiet: QuietHours, local: datetime) -> bool:
    """Whether `local` (a time in the contact's zone) falls in the quiet window."""
    if not quiet.enabled:
        return False
    if quiet.weekdays_only and local.weekday() in WEEKEND:
        return True
    if local.date() in quiet.holidays:
        return True
    moment = local.time()
    if quiet.start < quiet.end:
        return quiet.start <= moment < quiet.end
    return moment >= quiet.start or moment < quiet.end


def next_allowed(quiet: QuietHours, zone: tzinfo, now: datetime) -> datetime:
    """`now` if sending is allowed then, else the end of the quiet time it falls in (UTC)."""
    local = now.astimezone(zone)
    while is_quiet(quiet, local):
        end = datetime.combine(local.date(), quiet.end, zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), quiet.end, zone)
        local = end
    return local.astimezone(UTC)
