""" "You said, we did": closing an item tells the customers who complained, once, in their
language; nobody opted out, unsubscribed, erased or only praising. Judged from the mail folder."""

import datetime as dt
import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tests.integration.outer_loop_data import NOW, account, answer, config, contact
from worker.backlog.command import close_item
from worker.backlog.items import plan_from_store
from worker.backlog.said_did import tell_customers
from worker.store.models import Suppression, SuppressionReason
from worker.surveys.mail import DirectoryMailer
from worker.surveys.tokens import Purpose, TokenSigner

SECRET = "s" * 40


def _mails(folder: Path) -> list[EmailMessage]:
    return [
        email.message_from_bytes(p.read_bytes(), policy=default, _class=EmailMessage)
        for p in sorted(folder.glob("*.eml"))
    ]


def _body(message: EmailMessage, kind: str) -> str:
    for part in message.walk():
        if part.get_content_type() == kind:
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no {kind} part")


def test_closing_tells_each_complaining_customer_once(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Two complainers (EN, JA; one complained twice) get one mail each in their language with
    an unsubscribe link; praise, opt-out, unsubscribed, deleted and address-less contacts get
    none; telling again sends nothing more."""
    folder = tmp_path / "mail"
    settings = config(directory=str(folder))
    at = NOW - dt.timedelta(days=3)
    with sessions.begin() as session:
        acme = account(session, "Acme")
        en = contact(session, acme, "ann@acme.example", first_name="Ann")
        ja = contact(session, acme, "taro@acme.example", language="ja", last_name="山田")
        for who in (en, ja, en):
            answer(session, who, 3, ["support"], at=at)
        fan = contact(session, acme, "fan@acme.example")
        answer(session, fan, 10, ["support"], at=at)
        for kind in ("opted", "unsubscribed", "deleted", "none"):
            who = contact(
                session,
                acme,
                None if kind == "none" else f"{kind}@acme.example",
                opted_out=kind == "opted",
                deleted=kind == "deleted",
            )
            answer(session, who, 2, ["support"], at=at)
        session.add(
            Suppression(
                email_hash=Suppression.hash_email("UNSUBSCRIBED@acme.example "),
                reason=SuppressionReason.UNSUBSCRIBED,
                source="web",
                created_at=at,
            )
        )
        (item,) = plan_from_store(session, settings, now=NOW, actor="t")
        item_id = item.id
    env = {"NPS_TOKEN_SECRET": SECRET}
    lines = close_item(
        sessions,
        settings,
        item_id,
        note="Replies within four hours.",
        dropped=False,
        notify=True,
        now=NOW,
        actor="pm",
        env=env,
    )
    assert lines[-1] == "told 2 customers (not sent: 0)"
    mails = {str(m["To"]): m for m in _mails(folder)}
    assert set(mails) == {"ann@acme.example", "taro@acme.example"}
    english, japanese = mails["ann@acme.example"], mails["taro@acme.example"]
    assert english["Content-Language"] == "en"
    assert "Support" in str(english["Subject"])
    assert "Hi Ann," in _body(english, "text/plain")
    assert "Replies within four hours." in _body(english, "text/html")
    assert japanese["Content-Language"] == "ja"
    assert "サポート" in str(japanese["Subject"])
    assert "山田 様" in _body(japanese, "text/plain")
    stop = str(english["List-Unsubscribe"]).strip("<>")
    assert stop.startswith("https://nps.example.com/u/")
    claims = TokenSigner(SECRET).verify(stop.rsplit("/", 1)[1], Purpose.UNSUBSCRIBE, NOW)
    assert claims.token_id.startswith("t")
    again = tell_customers(
        sessions,
        settings,
        item_id,
        transport=DirectoryMailer(settings.survey.mail.directory),
        signer=TokenSigner(SECRET),
        theme_label=lambda tag, _language: tag,
        now=NOW,
    )
    assert (again.sent, again.failed) == (0, 0)
    assert len(_mails(folder)) == 2
