"""Local-time arithmetic: quiet hours, business days and business-hour SLAs, all pure."""

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from worker.config.followup import BusinessHours
from worker.config.survey import QuietHours

_SATURDAY = 5
_MAX_DAYS = 60


def zone(name: str | None, default: str) -> ZoneInfo:
    """The contact's IANA zone, or `default` when it is missing or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def _sending_day(day: dt.date, quiet: QuietHours) -> bool:
    return not (quiet.weekdays_only and day.weekday() >= _SATURDAY) and day not in quiet.holidays


def _quiet(moment: dt.time, quiet: QuietHours) -> bool:
    if not quiet.enabled:
        return False
    if quiet.start > quiet.end:
        return moment >= quiet.start or moment < quiet.end
    return quiet.start <= moment < quiet.end


def next_send_time(at: dt.datetime, tz: ZoneInfo, quiet: QuietHours) -> dt.datetime:
    """The earliest moment at or after `at` outside quiet hours, on a sending day, in `tz`."""
    local = at.astimezone(tz)
    opening = quiet.end if quiet.enabled else dt.time(0)
    for _ in range(_MAX_DAYS):
        if not _sending_day(local.date(), quiet):
            local = dt.datetime.combine(local.date() + dt.timedelta(days=1), opening, tzinfo=tz)
            continue
        if not _quiet(local.time(), quiet):
            return local.astimezone(dt.UTC)
        day = local.date()
        if quiet.start > quiet.end and local.time() >= quiet.start:
            day += dt.timedelta(days=1)
        local = dt.datetime.combine(day, quiet.end, tzinfo=tz)
    raise ValueError("no sending time within 60 days: check quiet_hours and holidays")


def add_business_hours(start: dt.datetime, span: dt.timedelta, hours: BusinessHours) -> dt.datetime:
    """`start` plus `span` counted in working hours only (SLA clocks that stop at night)."""
    tz = ZoneInfo(hours.time_zone)
    local = start.astimezone(tz)
    left = span
    for _ in range(int(span / dt.timedelta(hours=1)) + _MAX_DAYS * 2):
        day = local.date()
        opens = dt.datetime.combine(day, hours.start, tzinfo=tz)
        closes = dt.datetime.combine(day, hours.end, tzinfo=tz)
        working = not (hours.weekdays_only and day.weekday() >= _SATURDAY)
        if working and local < closes:
            local = max(local, opens)
            if local + left <= closes:
                return (local + left).astimezone(dt.UTC)
            left -= closes - local
        local = dt.datetime.combine(day + dt.timedelta(days=1), hours.start, tzinfo=tz)
    raise ValueError("business-hour SLA did not resolve")
