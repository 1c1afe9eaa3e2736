"""Mail transports: .eml files written atomically, and SMTP against a real in-process server."""

import logging
import socket
import ssl
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from worker.config.survey import DirectoryTransport, SmtpTransport
from worker.surveys.mail import DirectoryMailer, MailError, SmtpMailer

# aiosmtpd narrates every SMTP exchange at INFO from its own thread, outside pytest's capture.
logging.getLogger("mail.log").setLevel(logging.WARNING)

ENV = {"SMTP_USER": "mailer", "SMTP_PASS": "correct horse"}


def _message(to: str = "hanako@example.jp") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "nps@example.com"
    message["To"] = to
    message["Subject"] = "アンケート"
    message["Message-ID"] = "<nps.abc123@example.com>"
    message.set_content("本文")
    return message


class Recorder:
    """aiosmtpd handler keeping what it received; refuses addresses at refused.example."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.endswith("@refused.example"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        b"mailer",
        b"correct horse",
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    """A throwaway certificate authority the client trusts and the server's cert comes from."""
    return trustme.CA()


@pytest.fixture
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    """A client context trusting only the test CA."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(params=["starttls", "implicit", "none"])
def smtp(
    request: pytest.FixtureRequest, ca: trustme.CA
) -> Iterator[tuple[SmtpTransport, Recorder]]:
    """A running SMTP server speaking the TLS mode of the parameter, and matching settings."""
    recorder = Recorder()
    port = _free_port()
    tls = request.param
    # aiosmtpd does not count implicit TLS as TLS for AUTH; STARTTLS is where that check matters.
    options: dict[str, Any] = {
        "authenticator": _authenticate,
        "auth_require_tls": tls == "starttls",
    }
    if tls == "starttls":
        options |= {"tls_context": _server_context(ca), "require_starttls": True}
    elif tls == "implicit":
        options |= {"ssl_context": _server_context(ca)}
    controller = Controller(recorder, hostname="127.0.0.1", port=port, **options)
    controller.start()
    settings = SmtpTransport(
        host="127.0.0.1", port=port, tls=tls, username_env="SMTP_USER", password_env="SMTP_PASS"
    )
    yield settings, recorder
    controller.stop()


class TestSmtp:
    """Sending through a relay in every TLS mode, with login, and how refusals are classed."""

    def test_delivers_with_login(
        self, smtp: tuple[SmtpTransport, Recorder], client_context: ssl.SSLContext
    ) -> None:
        """The relay receives the message unchanged, for the To address."""
        settings, recorder = smtp
        SmtpMailer(settings, ENV, client_context).send(_message())
        ((recipients, data),) = recorder.received
        assert recipients == ["hanako@example.jp"]
        received = message_from_bytes(data, policy=default)
        assert received["Message-ID"] == "<nps.abc123@example.com>"
        assert received.get_content().rstrip() == "本文"

    def test_refused_recipient_is_final(
        self, smtp: tuple[SmtpTransport, Recorder], client_context: ssl.SSLContext
    ) -> None:
        """A 5xx for the recipient is not retried."""
        settings, recorder = smtp
        with pytest.raises(MailError) as raised:
            SmtpMailer(settings, ENV, client_context).send(_message("x@refused.example"))
        assert raised.value.retryable is False
        assert "550" in raised.value.reason
        assert recorder.received == []

    def test_wrong_password_is_final(
        self, smtp: tuple[SmtpTransport, Recorder], client_context: ssl.SSLContext
    ) -> None:
        """A refused login needs a person, not a retry."""
        settings, _ = smtp
        env = {**ENV, "SMTP_PASS": "wrong"}
        with pytest.raises(MailError, match="login refused") as raised:
            SmtpMailer(settings, env, client_context).send(_message())
        assert raised.value.retryable is False


def test_untrusted_certificate_is_refused(ca: trustme.CA) -> None:
    """STARTTLS against a certificate the client does not trust fails before any data is sent."""
    recorder = Recorder()
    port = _free_port()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=port, tls_context=_server_context(ca)
    )
    controller.start()
    try:
        settings = SmtpTransport(host="127.0.0.1", port=port, tls="starttls")
        with pytest.raises(MailError, match="session setup failed") as raised:
            SmtpMailer(settings, {}).send(_message())
    finally:
        controller.stop()
    assert raised.value.retryable is True
    assert recorder.received == []


def test_relay_down_is_retryable() -> None:
    """Nothing listening: the message certainly did not leave, so a retry is safe."""
    settings = SmtpTransport(host="127.0.0.1", port=_free_port(), tls="none", timeout="2s")
    with pytest.raises(MailError, match="cannot connect") as raised:
        SmtpMailer(settings, {}).send(_message())
    assert raised.value.retryable is True


class TestDirectory:
    """The demo transport writes one .eml file per Message-ID."""

    def test_writes_eml_named_by_message_id(self, tmp_path: Path) -> None:
        """The file parses back to the message; no temporary file is left behind."""
        mailer = DirectoryMailer(DirectoryTransport(path=str(tmp_path / "mail")))
        mailer.send(_message())
        mailer.send(_message())
        files = list((tmp_path / "mail").iterdir())
        assert [file.name for file in files] == ["nps.abc123@example.com.eml"]
        parsed = message_from_bytes(files[0].read_bytes(), policy=default)
        assert parsed["Subject"] == "アンケート"

    def test_unwritable_folder_is_retryable(self, tmp_path: Path) -> None:
        """A folder that cannot be created is reported, not ignored."""
        blocker = tmp_path / "file"
        blocker.write_text("")
        mailer = DirectoryMailer(DirectoryTransport(path=str(blocker / "mail")))
        with pytest.raises(MailError, match="cannot write"):
            mailer.send(_message())
