"""A named lease one replica holds at a time (the scheduler), taken over when the holder dies.

The holder renews the lease well before it expires; a replica that stops renewing (killed,
partitioned) loses it once `expires_at` passes, and another replica's next attempt takes it.
Acquisition is one conditional UPDATE (or an INSERT of a missing row), so two replicas racing
on PostgreSQL or SQLite can never both win.
"""

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from worker.store.models import Lease

SCHEDULER = "scheduler"


def acquire(
    sessions: sessionmaker[Session], name: str, holder: str, *, now: datetime, ttl: timedelta
) -> bool:
    """Take or renew lease `name` for `holder` until now + ttl; True when `holder` holds it."""
    with sessions.begin() as session:
        result = session.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at <= now))
            .values(holder=holder, acquired_at=now, expires_at=now + ttl)
        )
        if cast(CursorResult[Any], result).rowcount:
            return True
        if session.get(Lease, name) is not None:
            return False
    try:
        with sessions.begin() as session:
            session.add(Lease(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
    except IntegrityError:  # another replica inserted the row first
        return False
    return True


def release(sessions: sessionmaker[Session], name: str, holder: str, *, now: datetime) -> None:
    """Give the lease up at once (clean shutdown), so another replica need not wait out the ttl."""
    with sessions.begin() as session:
        session.execute(
            update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=now)
        )


def holder_of(sessions: sessionmaker[Session], name: str, *, now: datetime) -> str | None:
    """Who holds the lease now, if anyone (for `status`)."""
    held = holding(sessions, name, now=now)
    return held[0] if held else None


def holding(
    sessions: sessionmaker[Session], name: str, *, now: datetime
) -> tuple[str, datetime] | None:
    """(holder, until when) of the lease now, or None when nobody holds it."""
    with sessions() as session:
        lease = session.get(Lease, name)
        if lease is None or lease.expires_at <= now:
            return None
        return lease.holder, lease.expires_at
