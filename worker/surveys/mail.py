"""Mail transports behind one interface: an SMTP relay, or .eml files in a folder.

A transport either hands the message over or raises `MailError`, saying whether the message
certainly did not leave (`retryable`: connection refused, 4xx before the data was accepted)
so dispatch may try again later without risking a second e-mail to the person.
"""

import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Mapping
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import structlog

from worker.config.credentials import read_secret
from worker.config.survey import DirectoryTransport, MailConfig, SmtpTransport

log = structlog.get_logger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")


class MailError(Exception):
    """A message was not handed over; `retryable` when it certainly was not delivered."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class MailTransport(Protocol):
    """Hands a finished message to whatever delivers it."""

    def send(self, message: EmailMessage) -> None:
        """Hand `message` over, or raise MailError."""


class SmtpMailer:
    """Sends through an SMTP relay, one connection per message, TLS as configured."""

    def __init__(
        self,
        settings: SmtpTransport,
        env: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._settings = settings
        self._context = ssl_context or ssl.create_default_context()
        self._login: tuple[str, str] | None = None
        if settings.username_env and settings.password_env:
            self._login = (
                read_secret(settings.username_env, env).get_secret_value(),
                read_secret(settings.password_env, env).get_secret_value(),
            )

    def send(self, message: EmailMessage) -> None:
        """Deliver `message` to the relay; a refusal before DATA is retryable, after it is not."""
        settings = self._settings
        timeout = settings.timeout.total_seconds()
        try:
            client: smtplib.SMTP
            if settings.tls == "implicit":
                client = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=timeout, context=self._context
                )
            else:
                client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"cannot connect: {type(error).__name__}", retryable=True) from None
        with client:
            try:
                if settings.tls == "starttls":
                    client.starttls(context=self._context)
                if self._login is not None:
                    client.login(*self._login)
            except smtplib.SMTPAuthenticationError as error:
                raise MailError(f"login refused: {error.smtp_code}", retryable=False) from None
            except (OSError, smtplib.SMTPException) as error:
                reason = f"session setup failed: {type(error).__name__}"
                raise MailError(reason, retryable=True) from None
            _transfer(client, message)
        log.info("mail_sent", transport="smtp", message_id=message["Message-ID"])


def _transfer(client: smtplib.SMTP, message: EmailMessage) -> None:
    """MAIL/RCPT/DATA; only refusals answered before the data was accepted are retryable."""
    try:
        refused = client.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = sorted({code for code, _ in error.recipients.values()})
        retryable = all(400 <= code < 500 for code in codes)
        raise MailError(f"recipient refused: {codes}", retryable=retryable) from None
    except smtplib.SMTPSenderRefused as error:
        retryable = 400 <= error.smtp_code < 500
        raise MailError(f"sender refused: {error.smtp_code}", retryable=retryable) from None
    except smtplib.SMTPDataError as error:
        # Refused at DATA: the relay did not take the message, so nothing was delivered.
        retryable = 400 <= error.smtp_code < 500
        raise MailError(f"data refused: {error.smtp_code}", retryable=retryable) from None
    except (OSError, smtplib.SMTPException) as error:
        # Cut off mid-transfer: the relay may have the message; never resend it.
        raise MailError(f"transfer interrupted: {type(error).__name__}", retryable=False) from None
    if refused:
        codes = sorted({code for code, _ in refused.values()})
        raise MailError(f"recipient refused: {codes}", retryable=False)


class DirectoryMailer:
    """Writes each message to `<message-id>.eml` in a folder, atomically (temp file + rename)."""

    def __init__(self, settings: DirectoryTransport) -> None:
        self._folder = Path(settings.path)

    def send(self, message: EmailMessage) -> None:
        """Write `message`; a second write of the same Message-ID replaces the first."""
        message_id = str(message["Message-ID"] or "").strip("<> ")
        if not message_id:
            raise MailError("message has no Message-ID", retryable=False)
        target = self._folder / f"{_UNSAFE.sub('_', message_id)}.eml"
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(dir=self._folder, prefix=".", suffix=".tmp")
        except OSError as error:
            raise MailError(f"cannot write: {error.strerror}", retryable=True) from None
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(message.as_bytes())
                temp.flush()
                os.fsync(temp.fileno())
            Path(temp_name).replace(target)
        except OSError as error:
            Path(temp_name).unlink(missing_ok=True)
            raise MailError(f"cannot write: {error.strerror}", retryable=True) from None
        log.info("mail_sent", transport="directory", message_id=message["Message-ID"])


def make_transport(
    mail: MailConfig,
    env: Mapping[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> MailTransport:
    """The transport `mail.transport` names, with its secrets read from `env`."""
    if mail.transport == "smtp":
        return SmtpMailer(mail.smtp, env, ssl_context)
    return DirectoryMailer(mail.directory)
