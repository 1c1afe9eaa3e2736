"""Improvement items in the store: planned from the ranked themes, assigned, moved, closed.

Every change is one `BacklogEvent` row beside the item, so the weekly digest can say what
moved. At most one item per theme is active (open or in progress): planning skips themes that
already have one, and links the answers citing an active item's theme as they come in.
"""

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.analytics.backlog import candidates
from worker.analytics.dataset import Window
from worker.analytics.items import ACTIVE
from worker.analytics.report import build_report
from worker.analytics.themes import Theme
from worker.config import Config
from worker.store.models import (
    BacklogEvent,
    BacklogItem,
    BacklogLink,
    BacklogStatus,
    Response,
)


class BacklogError(ValueError):
    """An item that does not exist, or a change it cannot take; the message names the item."""


def get(session: Session, item_id: int) -> BacklogItem:
    """The item with `item_id`, or BacklogError."""
    item = session.get(BacklogItem, item_id)
    if item is None:
        raise BacklogError(f"no backlog item {item_id}")
    return item


def record(
    session: Session,
    item: BacklogItem,
    action: str,
    *,
    actor: str,
    now: dt.datetime,
    **details: Any,
) -> None:
    """Write one change of `item` to its history."""
    session.add(BacklogEvent(item_id=item.id, at=now, action=action, actor=actor, details=details))


def plan(
    session: Session,
    config: Config,
    themes: Sequence[Theme],
    window: Window,
    *,
    now: dt.datetime,
    actor: str,
) -> list[BacklogItem]:
    """Store an item for each top candidate theme without an active item; link new answers.

    Owner, due date and target come from `analytics.backlog` and `analytics.themes.owners`, as
    for the items `report --backlog` proposes.
    """
    settings = config.analytics
    active = {
        item.theme: item
        for item in session.scalars(select(BacklogItem).where(BacklogItem.status.in_(ACTIVE)))
    }
    created = []
    for theme in candidates(themes)[: settings.backlog.size]:
        if theme.tag in active:
            continue
        due = (
            settings.backlog.structural_due if theme.structural else settings.backlog.quick_fix_due
        )
        item = BacklogItem(
            theme=theme.tag,
            owner=settings.themes.owners.get(theme.tag, settings.backlog.default_owner),
            due_on=(now + due).date(),
            status=BacklogStatus.OPEN,
            baseline=round(theme.detractor_share, 1),
            target=round(max(theme.detractor_share - settings.backlog.target_points, 0.0), 1),
            created_at=now,
            updated_at=now,
        )
        session.add(item)
        session.flush()
        record(session, item, "created", actor=actor, now=now, mentions=theme.mentions)
        active[theme.tag] = item
        created.append(item)
    link_answers(session, list(active.values()), window)
    return created


def plan_from_store(
    session: Session, config: Config, *, now: dt.datetime, actor: str
) -> list[BacklogItem]:
    """`plan` with the themes ranked over `analytics.backlog.plan_window` up to `now`."""
    window = Window(now - config.analytics.backlog.plan_window, now)
    report = build_report(session, config, window, now=now, language="en")
    return plan(session, config, report.themes, window, now=now, actor=actor)


def link_answers(session: Session, items: Collection[BacklogItem], window: Window) -> int:
    """Link every human answer in `window` citing an item's theme; returns the links added."""
    by_theme = {item.theme: item for item in items}
    if not by_theme:
        return 0
    query = select(Response.id, Response.reason_tags).where(
        Response.provisional.is_(False), Response.received_at < window.until
    )
    if window.since is not None:
        query = query.where(Response.received_at >= window.since)
    linked: set[tuple[int, int]] = {
        (item_id, response_id)
        for item_id, response_id in session.execute(
            select(BacklogLink.item_id, BacklogLink.response_id).where(
                BacklogLink.item_id.in_([item.id for item in items])
            )
        )
    }
    added = 0
    for response_id, tags in session.execute(query):
        for tag in dict.fromkeys(tags or ()):
            item = by_theme.get(tag)
            if item is not None and (item.id, response_id) not in linked:
                session.add(BacklogLink(item_id=item.id, response_id=response_id))
                linked.add((item.id, response_id))
                added += 1
    return added


def assign(
    session: Session,
    item_id: int,
    owner: str,
    *,
    due_on: dt.date | None,
    now: dt.datetime,
    actor: str,
) -> BacklogItem:
    """Give the item an owner (and a new due date); an active item only."""
    item = get(session, item_id)
    if item.status not in ACTIVE:
        raise BacklogError(f"backlog item {item_id} is {item.status.value}; reopen it first")
    owner = owner.strip()
    if not owner:
        raise BacklogError("the owner must not be empty")
    details: dict[str, Any] = {"owner": owner, "previous_owner": item.owner}
    item.owner = owner
    if due_on is not None:
        details |= {"due_on": due_on.isoformat(), "previous_due_on": item.due_on.isoformat()}
        item.due_on = due_on
    item.updated_at = now
    record(session, item, "assigned", actor=actor, now=now, **details)
    return item


def set_status(
    session: Session,
    item_id: int,
    status: BacklogStatus,
    *,
    now: dt.datetime,
    actor: str,
    done_on: dt.date | None = None,
) -> BacklogItem:
    """Move the item; done gets a done date (today by default), any other status loses it."""
    item = get(session, item_id)
    if status in ACTIVE and item.status not in ACTIVE:
        refuse_second_active(session, item.theme, item.id)
    previous = item.status
    item.status = status
    item.done_on = (done_on or now.date()) if status is BacklogStatus.DONE else None
    item.updated_at = now
    record(
        session,
        item,
        "status",
        actor=actor,
        now=now,
        status=status.value,
        previous_status=previous.value,
    )
    return item


def refuse_second_active(session: Session, theme: str, item_id: int | None = None) -> None:
    """BacklogError when `theme` has an active item other than `item_id`."""
    query = select(BacklogItem.id).where(BacklogItem.theme == theme, BacklogItem.status.in_(ACTIVE))
    if item_id is not None:
        query = query.where(BacklogItem.id != item_id)
    other = session.scalar(query)
    if other is not None:
        raise BacklogError(
            f"theme '{theme}' already has active backlog item {other}; close it first"
        )
