"""Simulated people answering the demo's survey e-mails through the real web endpoint.

Each new `.eml` in the mail folder is read like a mail client would: the score buttons' links
are taken from the message. Some mailboxes sit behind a link scanner that opens several score
links at once (the worker must not count that); some people answer, pick reason chips and write
a comment on the page; a few unsubscribe with one click. Scores follow each account's mood, so
NPS differs by account as it does in life. Everything goes over HTTP to the response app.
"""

import email
import hashlib
import random
import re
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

import requests

from worker.demo.comments import COMMENTS

SCORE_LINK = re.compile(r"(https?://\S+/s/[A-Za-z0-9._-]+)\?score=(\d+)")
HONEYPOT = re.compile(r'href="(https?://[^"]+\?score=hp)"')
FORM_TOKEN = re.compile(r'name="form" value="([^"]+)"')
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126 Safari/537.36"
SCANNER = "Mozilla/5.0 (compatible; Mimecast-URL-Protect)"
ANSWER_RATE = 0.4
"""Share of people who answer a given mail (invitation or reminder) when they have not yet."""
SCANNED_MAILBOX_SHARE = 0.15
UNSUBSCRIBE_RATE = 0.02
COMMENT_RATE = 0.7


@dataclass
class Tally:
    """What the simulated people did."""

    mails: int = 0
    answered: int = 0
    scanner_clicks: int = 0
    unsubscribed: int = 0
    by_score: dict[int, int] = field(default_factory=dict)


class Respondents:
    """Reads new mail and answers some of it, deterministically for a seed."""

    def __init__(self, mail_dir: Path, seed: int) -> None:
        self._mail_dir = mail_dir
        self._random = random.Random(seed)  # noqa: S311 (a simulation, not a secret)
        self._seen: set[str] = set()
        self._answered: set[str] = set()
        self._http = requests.Session()
        # Each click comes from a mail client, not a page kept open: a fresh connection each
        # time, so no request races the server closing an idle keep-alive connection.
        self._http.headers["Connection"] = "close"
        self.tally = Tally()

    def read_new_mail(self) -> None:
        """Open every message not opened yet, in the order they were written."""
        if not self._mail_dir.is_dir():
            return
        for path in sorted(self._mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
            if path.name in self._seen:
                continue
            self._seen.add(path.name)
            self.tally.mails += 1
            self._open(email.message_from_bytes(path.read_bytes()))

    def _open(self, message: Message) -> None:
        text = _part(message, "text/plain")
        links = {int(score): url for url, score in SCORE_LINK.findall(text)}
        if len(links) != 11:
            return
        page = links[0].split("?")[0]
        person = str(message["To"])
        if self._mailbox_scanned(person):
            self._scan(links, HONEYPOT.findall(_part(message, "text/html")))
        if page in self._answered or self._random.random() > ANSWER_RATE:
            return
        if self._random.random() < UNSUBSCRIBE_RATE:
            self._unsubscribe(message)
            return
        score = self._score(person)
        language = "ja" if str(message.get("Content-Language", "")).startswith("ja") else "en"
        self._answer(page, links[score], score, language)
        self._answered.add(page)  # one answer per survey; a check-in later is a new survey

    def _mailbox_scanned(self, person: str) -> bool:
        digest = hashlib.sha256(person.encode()).digest()[0]
        return digest < 256 * SCANNED_MAILBOX_SHARE

    def _scan(self, links: dict[int, str], hidden: list[str]) -> None:
        """A mail security scanner follows every link within a second, hidden ones too."""
        for url in (*links.values(), *hidden):
            self._http.get(url, headers={"User-Agent": SCANNER}, timeout=10)
            self.tally.scanner_clicks += 1

    def _score(self, person: str) -> int:
        """A score around the account's mood (by e-mail domain), with personal spread."""
        domain = person.rsplit("@", 1)[-1]
        mood = 4 + hashlib.sha256(domain.encode()).digest()[0] % 6
        return max(0, min(10, round(self._random.gauss(mood + 1.5, 2.2))))

    def _answer(self, page: str, link: str, score: int, language: str) -> None:
        """Click the score in the mail, then pick chips, comment and submit on the page."""
        shown = self._http.get(link, headers={"User-Agent": BROWSER}, timeout=10)
        token = FORM_TOKEN.search(shown.text)
        if shown.status_code != 200 or token is None:
            return
        mood = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        form: dict[str, str | list[str]] = {"score": str(score), "form": token.group(1)}
        if self._random.random() < COMMENT_RATE:
            form["comment"] = self._random.choice(COMMENTS[language][mood])
        posted = self._http.post(page, data=form, headers={"User-Agent": BROWSER}, timeout=10)
        if posted.status_code == 200:
            self.tally.answered += 1
            self.tally.by_score[score] = self.tally.by_score.get(score, 0) + 1

    def _unsubscribe(self, message: Message) -> None:
        """The mail client's one-click unsubscribe (RFC 8058)."""
        header = str(message.get("List-Unsubscribe", ""))
        url = next((part.strip("<> ") for part in header.split(",") if "http" in part), None)
        if url is None:
            return
        answer = self._http.post(url, data={"List-Unsubscribe": "One-Click"}, timeout=10)
        if answer.status_code < 300:
            self.tally.unsubscribed += 1


def _part(message: Message, content_type: str) -> str:
    for part in message.walk():
        if part.get_content_type() == content_type:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""
