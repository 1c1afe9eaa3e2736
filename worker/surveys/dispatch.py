"""Send what is due: invitations, reminders, and the expiry of unanswered surveys.

A send to the outside world (e-mail, webhook) is claimed and committed ONE MESSAGE AT A TIME:
the survey is marked `sent` (or `reminded`) with state_reason `sending` and that is committed
before the message is handed to the transport; the outcome is committed right after. So a
crash (SIGKILL, power loss) leaves at most one message whose fate is unknown: handed over or
not, nobody recorded which (DESIGN.md promise 10). Such a send is resolved once it is older
than `survey.delivery.grace` (longer than any live hand-over can take):

- `after_crash: resend` (the default): it is sent once more, with the same Message-ID and
  webhook Idempotency-Key (both derive from the token, the kind and the number of the send),
  so a receiver that deduplicates drops it if the first copy did arrive; state_reason
  `sending again` while that is in flight. A crash that cuts a re-send off is a crash like
  any other: its send is re-sent once more, up to MAX_RESENDS times for one send (a message
  that kills the worker whenever it is sent must not keep it in a crash loop); after that it
  is reported (`delivery unknown`).
- `after_crash: report`: it is never sent again, only reported (`delivery unknown`).

`status` is unhealthy while any open survey's delivery is unknown (`unknown_deliveries`).

Failures the transport reports are settled at once: `failed` with the reason, or, when the
message certainly did not leave (relay down, 4xx before data), back to `scheduled` for a retry
until the survey would expire. Channels that only write to the database (`crm_field`: the
cycle's outbox) deliver inside the claiming transaction, so exactly once.

Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL so several replicas share the work without
sending anything twice; SQLite has one writer at a time (transactions begin IMMEDIATE).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session, object_session, sessionmaker

from worker.config.survey import SurveyConfig
from worker.store.models import (
    Contact,
    CrmEvent,
    Suppression,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.surveys.channels import Channel, DeliveryFailed
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.quiet import contact_zone, next_allowed
from worker.surveys.render import pick_language

log = structlog.get_logger(__name__)

SENDING = "sending"
"""state_reason while a send is in the transport's hands; left behind only by a crash."""
RESENDING = "sending again"
"""state_reason while a send whose first hand-over a crash cut off is sent once more."""
UNKNOWN = "delivery unknown"
"""state_reason of a send whose fate stays unknown: reported, never sent again."""
HANDING_OVER = (SENDING, RESENDING)

MAX_RESENDS = 3
"""Re-sends of one send after crashes before it is only reported (`delivery unknown`)."""

RETRY_DELAY = timedelta(minutes=15)
"""Wait before retrying a send the transport certainly did not take."""

OPEN = (SurveyState.SCHEDULED, SurveyState.SENT, SurveyState.REMINDED)
_STARTED = (SurveyState.SENT, SurveyState.REMINDED)


@dataclass
class DispatchStats:
    """What one dispatch run did, for logs and `status`."""

    sent: int = 0
    reminded: int = 0
    suppressed: int = 0
    expired: int = 0
    failed: int = 0
    deferred: int = 0
    resent: int = 0
    reported: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def count(self, reason: str) -> None:
        """Tally why surveys were suppressed, failed or deferred."""
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


@dataclass(frozen=True, slots=True)
class _Claimed:
    """A send committed as started, with what to restore if it certainly did not happen."""

    delivery: Delivery
    channel: Channel
    previous_reminded_at: datetime | None
    again: bool = False
    """A re-send of a send whose fate a crash left unknown."""


def dispatch_due(
    session_factory: sessionmaker[Session],
    config: SurveyConfig,
    channels: Mapping[SurveyChannel, Channel],
    now: datetime,
    *,
    limit: int = 1000,
    batch_size: int = 50,
    clock: Callable[[], datetime] | None = None,
) -> DispatchStats:
    """Expire, resolve sends a crash cut off, then send due invitations and reminders.

    At most `limit` sends in all; each external send is claimed and committed on its own,
    stamped with the moment of its claim read from `clock` (default: `now` throughout). A
    run of many sends lasts long: a send claimed late in it stamped with the run's start
    would look older than it is, and another replica's `resolve_unknown` could take it, still
    in the transport's hands, for one a crash cut off and send it again.
    """
    moment = clock or (lambda: now)
    stats = DispatchStats()
    stats.expired = expire_due(session_factory, now)
    resolve_unknown(session_factory, config, channels, moment, stats)
    for kind in SendKind:
        after_id = 0
        while stats.sent + stats.reminded < limit:
            size = min(batch_size, limit - stats.sent - stats.reminded)
            claimed_at = moment()
            with session_factory() as session, session.begin():
                claimed, after_id = _claim(
                    session,
                    config,
                    channels,
                    kind,
                    claimed_at,
                    size=size,
                    after_id=after_id,
                    stats=stats,
                )
            if claimed is not None and not _send(session_factory, claimed, claimed_at, stats):
                break
            if after_id < 0:
                break
    log.info(
        "dispatch_done",
        sent=stats.sent,
        reminded=stats.reminded,
        suppressed=stats.suppressed,
        expired=stats.expired,
        failed=stats.failed,
        deferred=stats.deferred,
        resent=stats.resent,
        reported=stats.reported,
    )
    return stats


def expire_due(session_factory: sessionmaker[Session], now: datetime) -> int:
    """Unanswered surveys past `expires_at` become `expired`; returns how many."""
    with session_factory() as session, session.begin():
        result = session.execute(
            update(Survey)
            .where(Survey.state.in_(OPEN), Survey.expires_at <= now, Survey.answered_at.is_(None))
            .values(state=SurveyState.EXPIRED, state_reason="not_answered")
        )
    return int(getattr(result, "rowcount", 0) or 0)


def started_before(moment: datetime) -> ColumnElement[bool]:
    """Surveys whose current send began before `moment` (the invitation's or the reminder's)."""
    return or_(
        and_(Survey.state == SurveyState.SENT, Survey.sent_at < moment),
        and_(Survey.state == SurveyState.REMINDED, Survey.reminded_at < moment),
    )


def unknown_deliveries(config: SurveyConfig, now: datetime) -> ColumnElement[bool]:
    """Open surveys whose last send has no recorded outcome and can no longer be in flight.

    A hand-over older than `config.handover_limit` was cut off (the process died); one the
    worker gave up on is `delivery unknown`. `status` is unhealthy while any exists.
    """
    return and_(
        Survey.state.in_(_STARTED),
        or_(
            Survey.state_reason == UNKNOWN,
            and_(
                Survey.state_reason.in_(HANDING_OVER), started_before(now - config.handover_limit)
            ),
        ),
    )


def resolve_unknown(
    session_factory: sessionmaker[Session],
    config: SurveyConfig,
    channels: Mapping[SurveyChannel, Channel],
    clock: Callable[[], datetime],
    stats: DispatchStats,
) -> None:
    """Sends a crash cut off more than the grace period ago: re-send once, or report."""
    while True:
        now = clock()
        with session_factory() as session, session.begin():
            row = session.execute(
                select(Survey, Contact)
                .join(Contact, Contact.id == Survey.contact_id)
                .where(
                    Survey.state_reason.in_(HANDING_OVER),
                    started_before(now - config.delivery.grace),
                )
                .order_by(Survey.id)
                .limit(1)
                .with_for_update(skip_locked=True, of=Survey)
            ).first()
            if row is None:
                return
            survey, contact = row
            channel = channels.get(survey.channel)
            if channel is None:
                _report(survey, "no channel", stats)
                continue
            if config.delivery.after_crash == "report":
                _report(survey, "not re-sent (survey.delivery.after_crash: report)", stats)
                continue
            if survey.resends >= MAX_RESENDS:
                _report(survey, f"cut off by a crash {survey.resends + 1} times", stats)
                continue
            claim = _resend(survey, contact, channel, config, now)
        if not _send(session_factory, claim, now, stats):
            return


def _report(survey: Survey, why: str, stats: DispatchStats) -> None:
    """Give up on knowing whether the send arrived: keep it visible, never send it again."""
    survey.state_reason = UNKNOWN
    stats.reported += 1
    log.warning("delivery_unknown", survey_id=survey.id, state=survey.state.value, why=why)


def _resend(
    survey: Survey, contact: Contact, channel: Channel, config: SurveyConfig, now: datetime
) -> _Claimed:
    """Mark the unknown send as being sent again; the same send (kind, number) as before."""
    if survey.state == SurveyState.SENT:
        kind, number = SendKind.INVITATION, 0
        survey.sent_at = now
    else:
        kind, number = SendKind.REMINDER, survey.reminder_count
        survey.reminded_at = now
    survey.state_reason = RESENDING
    survey.resends += 1
    delivery = _delivery(survey, contact, kind, number, config)
    log.warning("delivery_resent", survey_id=survey.id, kind=kind.value, number=number)
    return _Claimed(delivery, channel, survey.reminded_at, again=True)


def _due(
    kind: SendKind, config: SurveyConfig, channels: Iterable[Channel], now: datetime
) -> Select[Survey, Contact]:
    """Surveys due for `kind`; a deferred invitation leaves this set (its time moves on)."""
    query = select(Survey, Contact).join(Contact, Contact.id == Survey.contact_id)
    if kind is SendKind.INVITATION:
        query = query.where(Survey.state == SurveyState.SCHEDULED, Survey.scheduled_for <= now)
        return query.order_by(Survey.scheduled_for, Survey.id)
    reminding = [channel.kind for channel in channels if channel.sends_reminders]
    last_send = Survey.reminded_at.is_(None) & (Survey.sent_at <= now - config.reminders.after)
    return query.where(
        Survey.state.in_((SurveyState.SENT, SurveyState.REMINDED)),
        Survey.channel.in_(reminding),
        Survey.answered_at.is_(None),
        Survey.reminder_count < config.reminders.count,
        Survey.expires_at > now,
        or_(Survey.state_reason.is_(None), Survey.state_reason.not_in(HANDING_OVER)),
        or_(last_send, Survey.reminded_at <= now - config.reminders.after),
    ).order_by(Survey.id)


def _claim(
    session: Session,
    config: SurveyConfig,
    channels: Mapping[SurveyChannel, Channel],
    kind: SendKind,
    now: datetime,
    *,
    size: int,
    after_id: int,
    stats: DispatchStats,
) -> tuple[_Claimed | None, int]:
    """Lock up to `size` due surveys; settle those that must not be sent; start at most ONE
    send to the outside world (sends into the database are delivered right here).

    Returns the started outside send, if any, and the id to continue after (reminders in
    quiet hours stay due, so the next batch starts past them), or -1 when nothing more is due.
    """
    query = _due(kind, config, channels.values(), now).limit(size)
    if kind is SendKind.REMINDER:
        query = query.where(Survey.id > after_id)
    rows = session.execute(query.with_for_update(skip_locked=True, of=Survey)).all()
    blocked = _suppressed(session, [contact for _, contact in rows])
    last_id = after_id
    for survey, contact in rows:
        last_id = survey.id
        reason = blocked.get(contact.id)
        channel = channels.get(survey.channel)
        zone = contact_zone(contact.time_zone, config.quiet_hours)
        allowed = next_allowed(config.quiet_hours, zone, now)
        if reason is not None:
            survey.state, survey.state_reason = SurveyState.SUPPRESSED, reason
            stats.suppressed += 1
            stats.count(reason)
        elif channel is None:
            survey.state, survey.state_reason = SurveyState.FAILED, "no_channel"
            stats.failed += 1
            stats.count("no_channel")
        elif allowed > now:
            if kind is SendKind.INVITATION:
                survey.scheduled_for = allowed
            stats.deferred += 1
            stats.count("quiet_hours")
        else:
            claimed = _start(
                session, survey, contact, channel, kind=kind, config=config, now=now, stats=stats
            )
            if not channel.in_transaction:
                return claimed, last_id
    return None, (last_id if len(rows) == size else -1)


def _start(
    session: Session,
    survey: Survey,
    contact: Contact,
    channel: Channel,
    *,
    kind: SendKind,
    config: SurveyConfig,
    now: datetime,
    stats: DispatchStats,
) -> _Claimed:
    """Mark one survey as being sent; an in-transaction channel delivers right here."""
    previous_reminded_at = survey.reminded_at
    survey.resends = 0
    if kind is SendKind.INVITATION:
        survey.state, survey.sent_at = SurveyState.SENT, now
        survey.expires_at = survey.expires_at or now + config.expiry
        number = 0
    else:
        survey.state, survey.reminded_at = SurveyState.REMINDED, now
        survey.reminder_count += 1
        number = survey.reminder_count
    survey.state_reason = None if channel.in_transaction else SENDING
    delivery = _delivery(survey, contact, kind, number, config)
    if channel.in_transaction:
        try:
            with session.begin_nested():
                channel.deliver(session, delivery, now)
        except DeliveryFailed as error:
            survey.state, survey.state_reason = SurveyState.FAILED, error.reason[:255]
            stats.failed += 1
            stats.count("delivery_failed")
        else:
            _tally_sent(stats, kind)
    return _Claimed(delivery, channel, previous_reminded_at)


def _delivery(
    survey: Survey, contact: Contact, kind: SendKind, number: int, config: SurveyConfig
) -> Delivery:
    if survey.expires_at is None:
        raise ValueError(f"survey {survey.id} has no expiry")
    moment = _moment(survey)
    return Delivery(
        survey_id=survey.id,
        token_id=survey.token_id,
        program=survey.program,
        kind=kind,
        number=number,
        language=pick_language(
            survey.language or contact.language, config.languages, config.default_language
        ),
        expires_at=survey.expires_at,
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        time_zone=contact.time_zone,
        crm=contact.crm.value,
        crm_id=contact.crm_id,
        touchpoint=moment.get("touchpoint"),
        moment_title=moment.get("title"),
    )


def _moment(survey: Survey) -> dict[str, str]:
    """The moment planning noted on the survey's event (touchpoint, record title), if any."""
    session = object_session(survey)
    if session is None or survey.crm_event_id is None:
        return {}
    event = session.get(CrmEvent, survey.crm_event_id)
    found = (event.payload or {}).get("moment") if event is not None else None
    return {key: str(value) for key, value in (found or {}).items() if value}


def _suppressed(session: Session, contacts: list[Contact]) -> dict[int, str]:
    """Why each contact that must not get mail right now must not: checked just before sending."""
    hashes = {
        contact.id: Suppression.hash_email(contact.email) for contact in contacts if contact.email
    }
    query = select(Suppression.email_hash, Suppression.reason).where(
        Suppression.email_hash.in_(set(hashes.values()))
    )
    listed = dict(session.execute(query).all()) if hashes else {}
    reasons: dict[int, str] = {}
    for contact in contacts:
        if contact.deleted:
            reasons[contact.id] = "contact_deleted"
        elif contact.opted_out:
            reasons[contact.id] = "opted_out"
        elif not contact.email:
            reasons[contact.id] = "no_email"
        elif hashes[contact.id] in listed:
            reasons[contact.id] = str(listed[hashes[contact.id]].value)
    return reasons


def _send(
    session_factory: sessionmaker[Session], claim: _Claimed, now: datetime, stats: DispatchStats
) -> bool:
    """Hand over one committed send and commit its outcome; False when the channel is down."""
    delivery = claim.delivery
    try:
        with session_factory() as session:
            claim.channel.deliver(session, delivery, now)
    except DeliveryFailed as error:
        if claim.again:
            _settle_resend_failure(session_factory, claim, error, stats)
        else:
            _settle_failure(session_factory, claim, error, now, stats)
        return not error.retryable
    _settle(session_factory, delivery.survey_id, state_reason=None)
    if claim.again:
        stats.resent += 1
    else:
        _tally_sent(stats, delivery.kind)
    return True


def _settle_resend_failure(
    session_factory: sessionmaker[Session],
    claim: _Claimed,
    error: DeliveryFailed,
    stats: DispatchStats,
) -> None:
    """A re-send that failed: certainly not sent (retry after another grace), or reported."""
    delivery = claim.delivery
    log.warning(
        "delivery_failed",
        survey_id=delivery.survey_id,
        kind=delivery.kind.value,
        reason=error.reason,
        retryable=error.retryable,
        resend=True,
    )
    if error.retryable:
        # Only the first copy's fate is unknown, as before: try again one grace period on.
        _settle(session_factory, delivery.survey_id, state_reason=SENDING)
        stats.deferred += 1
        stats.count("transport_unavailable")
        return
    _settle(session_factory, delivery.survey_id, state_reason=UNKNOWN)
    stats.reported += 1
    log.warning("delivery_unknown", survey_id=delivery.survey_id, why=error.reason[:255])


def _settle_failure(
    session_factory: sessionmaker[Session],
    claim: _Claimed,
    error: DeliveryFailed,
    now: datetime,
    stats: DispatchStats,
) -> None:
    delivery = claim.delivery
    log.warning(
        "delivery_failed",
        survey_id=delivery.survey_id,
        kind=delivery.kind.value,
        reason=error.reason,
        retryable=error.retryable,
    )
    retry_at = now + RETRY_DELAY
    if not error.retryable or retry_at >= delivery.expires_at:
        if delivery.kind is SendKind.INVITATION:
            values: dict[str, object] = {"state": SurveyState.FAILED}
        else:
            values = {"state_reason": f"reminder failed: {error.reason}"[:255]}
        _settle(
            session_factory, delivery.survey_id, **{"state_reason": error.reason[:255], **values}
        )
        stats.failed += 1
        stats.count("delivery_failed")
        return
    if delivery.kind is SendKind.INVITATION:
        _settle(
            session_factory,
            delivery.survey_id,
            state=SurveyState.SCHEDULED,
            state_reason=f"retry: {error.reason}"[:255],
            sent_at=None,
            scheduled_for=retry_at,
        )
    else:
        state = SurveyState.SENT if delivery.number == 1 else SurveyState.REMINDED
        _settle(
            session_factory,
            delivery.survey_id,
            state=state,
            state_reason=f"retry: {error.reason}"[:255],
            reminder_count=delivery.number - 1,
            reminded_at=claim.previous_reminded_at,
        )
    stats.deferred += 1
    stats.count("transport_unavailable")


def _settle(session_factory: sessionmaker[Session], survey_id: int, **values: object) -> None:
    """Commit the outcome of a send, unless the survey moved on meanwhile (answered, expired)."""
    with session_factory() as session, session.begin():
        session.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.state.in_(_STARTED))
            .values(**values)
        )


def _tally_sent(stats: DispatchStats, kind: SendKind) -> None:
    if kind is SendKind.INVITATION:
        stats.sent += 1
    else:
        stats.reminded += 1
