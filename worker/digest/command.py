"""`nps-worker digest`: preview the review pack as HTML files, or send the one that is due."""

import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from worker.config import Config
from worker.digest.render import render_html
from worker.digest.send import build_all, send_due
from worker.notify.sender import Chats
from worker.runtime import open_store
from worker.surveys.mail import make_transport

CHAT_FLUSH_SECONDS = 60.0
"""How long the command waits for chat posts still being retried before it exits."""


class DigestUsageError(ValueError):
    """`--send` while the digest is not enabled, or an output folder that cannot be written."""


def preview(config: Config, out: Path, *, now: dt.datetime) -> list[Path]:
    """Write the digest of the period ending now as `digest-<language>.html` in `out`."""
    store = open_store(config)
    try:
        with store.sessions() as session:
            digests = build_all(session, config, until=now, languages=("en", "ja"))
    finally:
        store.engine.dispose()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DigestUsageError(f"{out}: cannot create the folder ({error.strerror})") from None
    written = []
    for language, digest in digests.items():
        path = out / f"digest-{language}.html"
        path.write_text(render_html(digest), encoding="utf-8")
        written.append(path)
    return written


def send(config: Config, *, now: dt.datetime, env: Mapping[str, str] | None = None) -> str:
    """Send the latest scheduled digest not sent yet; one line saying what happened."""
    if not config.digest.enabled:
        raise DigestUsageError("digest.enabled is false: nothing is scheduled to send")
    store = open_store(config)
    chats = Chats(config.notify, env) if config.notify.webhooks() else None
    try:
        sent = send_due(
            store.sessions,
            config,
            now=now,
            transport=make_transport(config.survey.mail, env),
            chats=chats,
        )
    finally:
        if chats is not None:
            chats.sender.close(CHAT_FLUSH_SECONDS)
        store.engine.dispose()
    if sent is None:
        return "no digest due: the latest scheduled one was already sent"
    posted = ""
    if chats is not None:
        delivered = chats.sender.delivered
        ok, failed = sum(delivered.sent.values()), sum(delivered.failed.values())
        posted = f", chats posted: {ok} (failed {failed})"
    return (
        f"digest for {sent.scheduled_for:%Y-%m-%d %H:%M} UTC: {sent.mails} e-mails sent"
        f" ({sent.failed} failed), {sent.planned} backlog items planned{posted}"
    )
