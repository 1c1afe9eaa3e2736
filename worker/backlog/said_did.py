""" "You said, we did": when an item is done, tell the customers who complained about its theme.

Who: the contacts behind the item's linked answers that did not praise the theme, still in
the mirror with an address, not opted out in the CRM, not unsubscribed or forgotten here
(suppressions), and not told about this item before. Each is told once: the notice row is
committed before the message is handed over, so a crash can lose one message, never send two.
In the contact's language, with a one-click unsubscribe link like the surveys'.
"""

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.analytics.polarity import Polarity, polarity
from worker.config import Config
from worker.domain import Category
from worker.mailout import compose
from worker.store.models import (
    BacklogItem,
    BacklogLink,
    BacklogNotice,
    Contact,
    Response,
    Suppression,
    Survey,
)
from worker.surveys.links import unsubscribe_url
from worker.surveys.mail import MailError, MailTransport
from worker.surveys.render import pick_language
from worker.surveys.tokens import Purpose, TokenSigner

log = structlog.get_logger(__name__)

UNSUBSCRIBE_LIFETIME = dt.timedelta(days=365)
LANGUAGES = ("en", "ja")
"""Languages the built-in templates exist in; other contacts are written to in English."""

_templates = Environment(
    loader=PackageLoader("worker.backlog", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default=False),
    undefined=StrictUndefined,
)


@dataclass
class Told:
    """What closing an item sent: messages handed over, and those the transport refused."""

    sent: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class Recipient:
    """A contact to tell, with the survey token their unsubscribe link is signed for."""

    contact_id: int
    email: str
    first_name: str | None
    last_name: str | None
    language: str
    token_id: str


def recipients(session: Session, config: Config, item: BacklogItem) -> list[Recipient]:
    """The contacts to tell about `item`, each once, oldest complaint first."""
    rows = session.execute(
        select(
            Contact, Response.category, Response.reason_polarity, Survey.token_id, Survey.language
        )
        .join(Survey, Survey.contact_id == Contact.id)
        .join(Response, Response.survey_id == Survey.id)
        .join(BacklogLink, BacklogLink.response_id == Response.id)
        .where(BacklogLink.item_id == item.id, Response.provisional.is_(False))
        .order_by(Response.received_at, Response.id)
    ).all()
    told = set(
        session.scalars(select(BacklogNotice.contact_id).where(BacklogNotice.item_id == item.id))
    )
    suppressed = set(session.scalars(select(Suppression.email_hash)))
    survey = config.survey
    found: dict[int, Recipient] = {}
    for contact, category, stances, token_id, survey_language in rows:
        if polarity(Category(category), (stances or {}).get(item.theme)) is Polarity.PRAISE:
            continue
        if contact.id in told or contact.id in found or not _reachable(contact, suppressed):
            continue
        assert contact.email is not None, "checked by _reachable"
        found[contact.id] = Recipient(
            contact_id=contact.id,
            email=contact.email,
            first_name=contact.first_name,
            last_name=contact.last_name,
            language=pick_language(
                contact.language or survey_language,
                LANGUAGES,
                survey.default_language if survey.default_language in LANGUAGES else "en",
            ),
            token_id=token_id,
        )
    return list(found.values())


def _reachable(contact: Contact, suppressed: set[str]) -> bool:
    return bool(
        contact.email
        and contact.email.strip()
        and not contact.deleted
        and not contact.opted_out
        and Suppression.hash_email(contact.email) not in suppressed
    )


def tell_customers(
    sessions: sessionmaker[Session],
    config: Config,
    item_id: int,
    *,
    transport: MailTransport,
    signer: TokenSigner,
    theme_label: Callable[[str, str], str],
    now: dt.datetime,
) -> Told:
    """E-mail every recipient of a done item once; `theme_label(tag, language)` names the theme."""
    told = Told()
    with sessions() as session:
        item = session.get(BacklogItem, item_id)
        if item is None:
            return told
        theme, note = item.theme, item.note
        people = recipients(session, config, item)
    for person in people:
        with sessions.begin() as session:
            session.add(BacklogNotice(item_id=item_id, contact_id=person.contact_id, sent_at=now))
        message = _message(
            config,
            person,
            theme=theme_label(theme, person.language),
            note=note,
            item_id=item_id,
            signer=signer,
            now=now,
        )
        try:
            transport.send(message)
        except MailError as error:
            told.failed += 1
            log.warning("said_did_not_sent", item=item_id, reason=error.reason)
            continue
        told.sent += 1
    log.info("said_did_sent", item=item_id, sent=told.sent, failed=told.failed)
    return told


def _message(
    config: Config,
    person: Recipient,
    *,
    theme: str,
    note: str | None,
    item_id: int,
    signer: TokenSigner,
    now: dt.datetime,
) -> EmailMessage:
    survey = config.survey
    token = signer.issue(person.token_id, Purpose.UNSUBSCRIBE, now + UNSUBSCRIBE_LIFETIME)
    stop = unsubscribe_url(survey.base_url, token)
    context = {
        "lang": person.language,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "theme": theme,
        "note": note,
        "company": survey.company_name,
        "sender_name": survey.sender.name,
        "unsubscribe_url": stop,
    }
    subject = _templates.get_template(f"{person.language}/closed.subject").render(context)
    context["subject"] = subject
    key = hashlib.sha256(f"{item_id}:{person.contact_id}".encode()).hexdigest()[:24]
    return compose(
        survey,
        to=person.email,
        subject=subject,
        text=_templates.get_template(f"{person.language}/closed.txt").render(context),
        html=_templates.get_template(f"{person.language}/closed.html").render(context),
        message_key=f"nps.said-did.{key}",
        language=person.language,
        now=now,
        unsubscribe_url=stop,
    )
