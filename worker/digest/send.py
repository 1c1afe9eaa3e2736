"""Sending the review pack: once per scheduled time, to every address in its language, and a
summary to the chats.

The run is claimed first (a `digest_runs` row keyed by the scheduled time, committed before any
mail leaves), so a restart, a second replica or a manual `digest --send` never sends the same
week twice; a crash mid-way loses the rest of that week's mails rather than repeating them.
"""

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from worker.analytics.i18n import Language
from worker.backlog.items import plan_from_store
from worker.config import Config
from worker.config.values import crontab
from worker.digest.content import Digest, build_digest
from worker.digest.render import chat_message, render_html, render_text, subject
from worker.mailout import compose
from worker.notify.sender import Chats
from worker.store.models import DigestRun
from worker.surveys.mail import MailError, MailTransport

log = structlog.get_logger(__name__)

_MAX_FIRES = 10_000


@dataclass
class Sent:
    """What one digest run did."""

    scheduled_for: dt.datetime
    mails: int = 0
    failed: int = 0
    chats: list[str] = field(default_factory=list)
    planned: int = 0


def latest_due(config: Config, *, after: dt.datetime, now: dt.datetime) -> dt.datetime | None:
    """The latest time in (`after`, `now`] the digest's cron names, in UTC; None if none."""
    cron = crontab(config.digest.cron, config.digest.time_zone)
    latest = None
    fire = cron.get_next_fire_time(None, after + dt.timedelta(seconds=1))
    for _ in range(_MAX_FIRES):
        if fire is None or fire > now:
            break
        latest = fire
        fire = cron.get_next_fire_time(fire, fire + dt.timedelta(seconds=1))
    return None if latest is None else latest.astimezone(dt.UTC)


def build_all(
    session: Session, config: Config, *, until: dt.datetime, languages: Iterable[Language]
) -> dict[Language, Digest]:
    """The digest in each of `languages`."""
    return {
        language: build_digest(session, config, until=until, language=language)
        for language in dict.fromkeys(languages)
    }


def send_digest(
    sessions: sessionmaker[Session],
    config: Config,
    *,
    scheduled_for: dt.datetime,
    now: dt.datetime,
    transport: MailTransport,
    chats: Chats | None,
) -> Sent | None:
    """Plan the backlog, then e-mail and post the digest for `scheduled_for`; None when that
    time's digest was already sent."""
    try:
        with sessions.begin() as session:
            session.add(DigestRun(scheduled_for=scheduled_for, sent_at=now, stats={}))
    except IntegrityError:
        log.info("digest_already_sent", scheduled_for=scheduled_for.isoformat())
        return None
    sent = Sent(scheduled_for)
    settings = config.digest
    if settings.plan_backlog:
        with sessions.begin() as session:
            sent.planned = len(plan_from_store(session, config, now=now, actor="digest"))
    languages = [_language(r.language) for r in settings.to] + [settings.chat_language]
    with sessions() as session:
        digests = build_all(session, config, until=now, languages=languages)
    for recipient in settings.to:
        digest = digests[_language(recipient.language)]
        key = hashlib.sha256(recipient.address.lower().encode()).hexdigest()[:16]
        message = compose(
            config.survey,
            to=recipient.address,
            subject=subject(digest),
            text=render_text(digest),
            html=render_html(digest),
            message_key=f"nps.digest.{scheduled_for:%Y%m%d%H%M}.{digest.language}.{key}",
            language=digest.language,
            now=now,
        )
        try:
            transport.send(message)
        except MailError as error:
            sent.failed += 1
            log.warning("digest_not_sent", reason=error.reason)
            continue
        sent.mails += 1
    if chats is not None:
        sent.chats = chats.send(chat_message(digests[settings.chat_language]))
    with sessions.begin() as session:
        run = session.scalar(select(DigestRun).where(DigestRun.scheduled_for == scheduled_for))
        if run is not None:
            run.stats = {
                "mails": sent.mails,
                "failed": sent.failed,
                "chats": sent.chats,
                "planned": sent.planned,
            }
    log.info(
        "digest_sent",
        scheduled_for=scheduled_for.isoformat(),
        mails=sent.mails,
        failed=sent.failed,
        chats=len(sent.chats),
        planned=sent.planned,
    )
    return sent


def send_due(
    sessions: sessionmaker[Session],
    config: Config,
    *,
    now: dt.datetime,
    after: dt.datetime | None = None,
    transport: MailTransport,
    chats: Chats | None,
) -> Sent | None:
    """Send the latest scheduled digest not sent yet, if one fell due after `after` (default:
    one period ago, so a worker that was down catches up once, not week by week)."""
    start = after or now - config.digest.period
    with sessions() as session:
        last = session.scalar(
            select(DigestRun.scheduled_for).order_by(DigestRun.scheduled_for.desc())
        )
    if last is not None:
        start = max(start, last)
    due = latest_due(config, after=start, now=now)
    if due is None:
        return None
    return send_digest(
        sessions, config, scheduled_for=due, now=now, transport=transport, chats=chats
    )


def _language(code: str) -> Language:
    return "ja" if code.lower().startswith("ja") else "en"
