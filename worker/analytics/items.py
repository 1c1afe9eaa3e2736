"""The improvement backlog as stored, read for reports, digests and exports.

Writes live in `worker.backlog.items`; this module only reads, so the report can show the
backlog without depending on how items are planned.
"""

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from worker.analytics.dataset import Window
from worker.store.models import BacklogEvent, BacklogItem, BacklogLink, BacklogStatus

ACTIVE = (BacklogStatus.OPEN, BacklogStatus.IN_PROGRESS)
"""Statuses of an item being worked on; a theme has at most one such item."""


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item as lists, reports and exports show it, with its number of linked answers."""

    id: int
    theme: str
    owner: str
    due_on: dt.date
    status: BacklogStatus
    done_on: dt.date | None
    baseline: float | None
    target: float | None
    note: str | None
    answers: int

    def overdue(self, today: dt.date) -> bool:
        """Still active after its due date."""
        return self.status in ACTIVE and self.due_on < today


def views(session: Session, statuses: Collection[BacklogStatus] = ()) -> list[ItemView]:
    """Items (all, or those in `statuses`), active first, then by due date and id."""
    counts = dict(
        session.execute(
            select(BacklogLink.item_id, func.count()).group_by(BacklogLink.item_id)
        ).all()
    )
    query = select(BacklogItem)
    if statuses:
        query = query.where(BacklogItem.status.in_(list(statuses)))
    found = [
        ItemView(
            id=item.id,
            theme=item.theme,
            owner=item.owner,
            due_on=item.due_on,
            status=item.status,
            done_on=item.done_on,
            baseline=item.baseline,
            target=item.target,
            note=item.note,
            answers=counts.get(item.id, 0),
        )
        for item in session.scalars(query)
    ]
    return sorted(found, key=lambda v: (v.status not in ACTIVE, v.due_on, v.id))


@dataclass(frozen=True, slots=True)
class Change:
    """One change of an item, as the digest lists it."""

    item_id: int
    theme: str
    at: dt.datetime
    action: str
    details: dict[str, Any]


def changes(session: Session, window: Window) -> list[Change]:
    """Changes made in `window`, oldest first."""
    query = (
        select(BacklogEvent, BacklogItem.theme)
        .join(BacklogItem, BacklogItem.id == BacklogEvent.item_id)
        .where(BacklogEvent.at < window.until)
        .order_by(BacklogEvent.at, BacklogEvent.id)
    )
    if window.since is not None:
        query = query.where(BacklogEvent.at >= window.since)
    return [
        Change(event.item_id, theme, event.at, event.action, dict(event.details))
        for event, theme in session.execute(query).all()
    ]
