"""Account roll-ups: true NPS (promoters % minus detractors %, never an average of scores).

Each contact counts once, with their latest answer inside the trailing window; the trend is the
difference with the window before. A roll-up equal to what the CRM holds is not written
(promise 6), so a quiet day costs no API calls.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.analytics.nps import Tally, estimate
from worker.domain import AccountRollup, Category
from worker.store.models import Account, Contact, Response, Survey
from worker.sync.link import CrmLink
from worker.sync.outbox import enqueue_update

Answer = tuple[int, Category, dt.datetime]
"""(contact id, category, received at) of one final answer."""


@dataclass(frozen=True, slots=True)
class Latest(Tally):
    """Each contact's latest answer within one window, counted by category."""

    last_at: dt.datetime | None = None

    @property
    def count(self) -> int:
        """Contacts counted."""
        return self.n

    @property
    def nps(self) -> float | None:
        """Promoters % minus detractors %, one decimal; None without answers."""
        found = estimate(self)
        return None if found is None else round(found.nps, 1)


def tally(answers: list[Answer], start: dt.datetime, end: dt.datetime) -> Latest:
    """Count each contact's latest answer received in [start, end)."""
    latest: dict[int, tuple[dt.datetime, Category]] = {}
    for contact_id, category, at in answers:
        if start <= at < end and (contact_id not in latest or at > latest[contact_id][0]):
            latest[contact_id] = (at, category)
    counts = defaultdict(int, dict.fromkeys(Category, 0))
    for _, category in latest.values():
        counts[category] += 1
    return Latest(
        promoters=counts[Category.PROMOTER],
        passives=counts[Category.PASSIVE],
        detractors=counts[Category.DETRACTOR],
        last_at=max((at for at, _ in latest.values()), default=None),
    )


def rollup_of(answers: list[Answer], now: dt.datetime, window: dt.timedelta) -> AccountRollup:
    """The account's roll-up now, with its trend against the previous window."""
    current = tally(answers, now - window, now + dt.timedelta(microseconds=1))
    previous = tally(answers, now - 2 * window, now - window)
    trend = None
    if current.nps is not None and previous.nps is not None:
        trend = round(current.nps - previous.nps, 1)
    return AccountRollup(
        nps_score=current.nps,
        response_count=current.count,
        promoters=current.promoters,
        passives=current.passives,
        detractors=current.detractors,
        last_response_at=current.last_at,
        nps_trend=trend,
    )


def write_rollups(
    sessions: sessionmaker[Session],
    link: CrmLink,
    now: dt.datetime,
    window: dt.timedelta,
    account_ids: set[int] | None = None,
) -> int:
    """Queue roll-ups of accounts with answers in the last two windows; how many changed.

    The cycle passes the accounts whose answers it just handled; the daily job passes None
    (every account), so windows that slid past old answers are written too.
    """
    if account_ids is not None and not account_ids:
        return 0
    queued = 0
    with sessions.begin() as session:
        found = _answers_by_account(session, link.name, now - 2 * window, account_ids)
        for account, answers in found:
            update = link.account_update(
                account.crm_id,
                rollup_of(answers, now, window),
                (account.fields or {}).get("crm_values", {}),
                f"rollup:{account.id}:{now.isoformat()}",
            )
            if update is not None:
                queued += enqueue_update(session, link.name, update, essential=False, now=now)
    return queued


def _answers_by_account(
    session: Session, crm: str, since: dt.datetime, account_ids: set[int] | None
) -> list[tuple[Account, list[Answer]]]:
    query = (
        select(Account, Contact.id, Response.category, Response.received_at)
        .join(Contact, Contact.account_id == Account.id)
        .join(Survey, Survey.contact_id == Contact.id)
        .join(Response, Response.survey_id == Survey.id)
        .where(
            Account.crm == crm,
            Account.deleted.is_(False),
            Response.provisional.is_(False),
            Response.received_at >= since,
        )
        .order_by(Account.id)
    )
    if account_ids is not None:
        query = query.where(Account.id.in_(account_ids))
    rows = session.execute(query)
    grouped: dict[int, tuple[Account, list[Answer]]] = {}
    for account, contact_id, category, received_at in rows:
        grouped.setdefault(account.id, (account, []))[1].append((contact_id, category, received_at))
    return list(grouped.values())
