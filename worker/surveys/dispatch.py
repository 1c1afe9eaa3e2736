"""Send what is due: invitations, reminders, and the expiry of unanswered surveys.

Delivery is AT MOST ONCE for channels that reach the outside world (e-mail, webhook): a survey
is claimed and marked `sent` (state_reason `sending`) and that is committed BEFORE the message
is handed to the transport. A crash between the commit and the hand-over leaves the survey
`sent`/`sending` and it is never sent again: one lost e-mail is acceptable, two e-mails to a
person for one survey are not. After the hand-over the outcome is committed: `sending` cleared,
or `failed` with the reason, or, when the transport says the message certainly did not leave
(relay down, 4xx before data), back to `scheduled` for a retry until the survey would expire.
Channels that only write to the database (`crm_field`: the cycle's outbox) deliver inside the
claiming transaction, so exactly once.

Claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL so several replicas share the work without
sending anything twice; SQLite has one writer process and ignores the clause.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from worker.config.survey import SurveyConfig
from worker.store.models import Contact, Suppression, Survey, SurveyChannel, SurveyState
from worker.surveys.channels import Channel, DeliveryFailed
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.quiet import contact_zone, next_allowed
from worker.surveys.render import pick_language

log = structlog.get_logger(__name__)

SENDING = "sending"
"""state_reason while a send is handed over; left behind only by a crash (maybe not sent)."""

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


def dispatch_due(
    session_factory: sessionmaker[Session],
    config: SurveyConfig,
    channels: Mapping[SurveyChannel, Channel],
    now: datetime,
    *,
    limit: int = 1000,
    batch_size: int = 50,
) -> DispatchStats:
    """Expire, then send due invitations and reminders, at most `limit` sends in all."""
    stats = DispatchStats()
    stats.expired = expire_due(session_factory, now)
    for kind in SendKind:
        after_id = 0
        while stats.sent + stats.reminded < limit:
            size = min(batch_size, limit - stats.sent - stats.reminded)
            with session_factory() as session, session.begin():
                claimed, after_id = _claim(
                    session, config, channels, kind, now, size=size, after_id=after_id, stats=stats
                )
            if not _send(session_factory, claimed, now, stats) or after_id < 0:
                break
    log.info(
        "dispatch_done",
        sent=stats.sent,
        reminded=stats.reminded,
        suppressed=stats.suppressed,
        expired=stats.expired,
        failed=stats.failed,
        deferred=stats.deferred,
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
) -> tuple[list[_Claimed], int]:
    """Lock up to `size` due surveys, settle those that must not be sent, mark the rest started.

    Returns the started sends and the id to continue after (reminders in quiet hours stay due,
    so the next batch starts past them), or -1 when nothing more is due.
    """
    query = _due(kind, config, channels.values(), now).limit(size)
    if kind is SendKind.REMINDER:
        query = query.where(Survey.id > after_id)
    rows = session.execute(query.with_for_update(skip_locked=True, of=Survey)).all()
    blocked = _suppressed(session, [contact for _, contact in rows])
    claimed: list[_Claimed] = []
    for survey, contact in rows:
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
            started = _start(
                session, survey, contact, channel, kind=kind, config=config, now=now, stats=stats
            )
            claimed.append(started)
    last_survey: Survey | None = rows[-1][0] if len(rows) == size else None
    return claimed, (last_survey.id if last_survey is not None else -1)


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
    )


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
    session_factory: sessionmaker[Session],
    claimed: list[_Claimed],
    now: datetime,
    stats: DispatchStats,
) -> bool:
    """Hand over each committed send and commit its outcome; False when the channel is down.

    After a retryable failure the rest of the batch is put back untried: the transport is
    likely down for them too, and waiting on its timeout for each would stall the run.
    """
    pending = [claim for claim in claimed if not claim.channel.in_transaction]
    for index, claim in enumerate(pending):
        delivery = claim.delivery
        try:
            with session_factory() as session:
                claim.channel.deliver(session, delivery, now)
        except DeliveryFailed as error:
            _settle_failure(session_factory, claim, error, now, stats)
            if error.retryable:
                for rest in pending[index + 1 :]:
                    _settle_failure(session_factory, rest, error, now, stats)
                return False
            continue
        _settle(session_factory, delivery.survey_id, state_reason=None)
        _tally_sent(stats, delivery.kind)
    return True


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
