"""What the chaos run sees from outside the worker: mail, people, the CRM, the store's claims.

The SMTP capture keeps every message handed to it; simulated people read it and answer
through the web endpoint; the sandbox (in its own process) summarises its records at the end;
the `Ledger` reads which sends the store says were made. `verify` turns these into the
numbers of benchmarks/chaos.py's table: every `dup_*` and `lost_*` must be 0.
"""

import contextlib
import email
import itertools
import queue
import random
import socket
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import requests
from aiosmtpd.controller import Controller
from sqlalchemy import select

from worker.config import load_config
from worker.demo.comments import COMMENTS
from worker.demo.respondents import BROWSER, FORM_TOKEN, SCORE_LINK
from worker.sandbox.server import Sandbox
from worker.store.engine import make_engine
from worker.store.models import OutboxEntry, OutboxState, Response, Survey, SurveyChannel
from worker.store.models import SurveyState as State
from worker.surveys.delivery import Delivery, SendKind
from worker.surveys.dispatch import HANDING_OVER
from worker.surveys.render import message_id
from worker.surveys.tokens import Purpose, TokenRejected, TokenSigner

DEDUP_FIELD = "NPS_Dedup_Key__c"
LAST_SCORE = "NPS_Last_Score__c"
ANSWER_RATE = 0.5
COMMENT_RATE = 0.6
ATTEMPTS = 30
"""A person tries this often (a second apart) to answer while the endpoint is down."""


# --- the sandbox child's summary -----------------------------------------------------------


def crm_state(sandbox: Sandbox) -> dict[str, Any]:
    """Child process: what the CRM holds at the end (contacts, the worker's tasks), the faults."""
    contacts = {
        record["Id"]: [str(record.get("Email") or "").lower(), record.get(LAST_SCORE)]
        for record in sandbox.salesforce.records("Contact")
    }
    tasks = [
        [record.get("WhoId"), str(record[DEDUP_FIELD])]
        for record in sandbox.salesforce.records("Task")
        if record.get(DEDUP_FIELD)
    ]
    faults = Counter(entry.fault for entry in sandbox.log.entries() if entry.fault)
    return {
        "contacts": contacts,
        "tasks": tasks,
        "faults": dict(faults),
        "requests": len(sandbox.log),
    }


# --- mail and people -----------------------------------------------------------------------


class MailCapture:
    """An SMTP server that keeps every message handed to it (duplicates too), with a door
    (port) of its own for each process slot, so a trap catches that slot's sends only.

    `trap` arms a one-shot call made inside the next DATA through a slot's door, after the
    message is kept and before the server answers 250: a kill there leaves the sender not
    knowing it arrived. Each door has its own thread, so a trap that waits for its victim to
    die never holds up another replica's mail.
    """

    def __init__(self, slots: Sequence[str]) -> None:
        self.messages: list[Message] = []
        self.inbox: queue.Queue[Message] = queue.Queue()
        self._traps: dict[str, Callable[[], None] | None] = dict.fromkeys(slots)
        self._lock = threading.Lock()
        self._doors = {
            slot: Controller(_Door(self, slot), hostname="127.0.0.1", port=free_port())
            for slot in slots
        }

    def port(self, slot: str) -> int:
        """Where the process of `slot` sends mail."""
        return int(self._doors[slot].port)

    def trap(self, slot: str, action: Callable[[], None] | None) -> None:
        """Arm (or with None disarm) the call made in the next DATA from `slot`."""
        with self._lock:
            self._traps[slot] = action

    def received_ids(self) -> set[str]:
        """The Message-IDs received so far."""
        with self._lock:
            return {str(message["Message-ID"]) for message in self.messages}

    def keep(self, slot: str, content: bytes) -> None:
        """Keep a message, put it in the people's inbox, spring the slot's trap."""
        message = email.message_from_bytes(content)
        with self._lock:
            self.messages.append(message)
            action, self._traps[slot] = self._traps[slot], None
        self.inbox.put(message)
        if action is not None:
            action()

    def __enter__(self) -> "MailCapture":
        for door in self._doors.values():
            door.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        for door in self._doors.values():
            door.stop()


@dataclass(frozen=True)
class _Door:
    """The aiosmtpd handler of one slot's port."""

    capture: MailCapture
    slot: str

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        """Hand the message to the capture (which may spring a trap), then answer 250."""
        self.capture.keep(self.slot, envelope.content)
        return "250 OK"


@dataclass
class Acknowledged:
    """An answer the web app thanked for (200)."""

    token_id: str
    score: int
    address: str


class People:
    """Simulated people reading captured mail and answering some of it through the web app.

    An answer that does not get its thank-you page (the endpoint is down, a 503) is tried
    again a second later, as a person would reload, up to ATTEMPTS times.
    """

    def __init__(self, capture: MailCapture, signer: TokenSigner, seed: int) -> None:
        self._capture = capture
        self._signer = signer
        self._random = random.Random(f"people:{seed}")  # noqa: S311 - a simulation
        self._http = requests.Session()
        self._answered: set[str] = set()
        self._retry: list[tuple[float, int, Message]] = []
        self.acknowledged: list[Acknowledged] = []
        self.retries = 0
        self.gave_up = 0
        self.failures: Counter[str] = Counter()
        """Why answer attempts failed: an HTTP status, or the connection error's name."""
        self.busy = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="people", daemon=True)

    def start(self) -> None:
        """Answer mail as it arrives, in a thread."""
        self._thread.start()

    def settle(self, timeout: float = 120.0) -> None:
        """Wait until every message so far has been read (or given up on)."""
        deadline = time.monotonic() + timeout
        while (not self._capture.inbox.empty() or self._retry or self.busy.is_set()) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop reading."""
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            due = [entry for entry in self._retry if entry[0] <= time.monotonic()]
            if due:
                self._retry.remove(due[0])
                _, attempt, message = due[0]
            else:
                try:
                    message = self._capture.inbox.get(timeout=0.1)
                except queue.Empty:
                    continue
                attempt = 0
            self.busy.set()
            try:
                answered = self._read(message, first=attempt == 0)
            except requests.RequestException as error:
                self.failures[type(error).__name__] += 1
                answered = False
            finally:
                self.busy.clear()
            if answered is False:
                if attempt + 1 < ATTEMPTS:
                    self.retries += 1
                    self._retry.append((time.monotonic() + 1.0, attempt + 1, message))
                else:
                    self.gave_up += 1

    def _read(self, message: Message, *, first: bool) -> bool | None:  # noqa: PLR0911 - one exit per reason
        """Answer one message; None when the person does not (or need not) answer it."""
        links = {int(score): url for url, score in SCORE_LINK.findall(_plain_text(message))}
        if len(links) != 11 or (first and self._random.random() > ANSWER_RATE):
            return None
        token = links[0].split("?")[0].rsplit("/", 1)[-1]
        sent = parsedate_to_datetime(str(message["Date"]))
        try:
            token_id = self._signer.verify(token, Purpose.ANSWER, sent).token_id
        except TokenRejected:
            return None
        if token_id in self._answered:
            return None
        score = _score(token_id)
        shown = self._http.get(links[score], headers={"User-Agent": BROWSER}, timeout=30)
        found = FORM_TOKEN.search(shown.text)
        if shown.status_code == 410:
            return None
        if shown.status_code != 200 or found is None:
            self.failures[f"page {shown.status_code}"] += 1
            return False
        mood = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        language = "ja" if str(message.get("Content-Language", "")).startswith("ja") else "en"
        form = {"score": str(score), "form": found.group(1)}
        comments = COMMENTS[language][mood]
        if int(token_id.encode().hex(), 16) % 10 < COMMENT_RATE * 10:
            form["comment"] = comments[int(token_id.encode().hex(), 16) % len(comments)]
        posted = self._http.post(
            links[0].split("?")[0], data=form, headers={"User-Agent": BROWSER}, timeout=30
        )
        if posted.status_code != 200:
            self.failures[f"answer {posted.status_code}"] += 1
            return False
        self._answered.add(token_id)
        self.acknowledged.append(Acknowledged(token_id, score, str(message["To"]).lower()))
        return True


def _score(token_id: str) -> int:
    """The score a person gives a survey: fixed per survey, so a retry sends the same answer."""
    return (0, 2, 4, 5, 6, 7, 8, 9, 9, 10, 10)[int(token_id.encode().hex(), 16) % 11]


def _plain_text(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload.decode(part.get_content_charset() or "utf-8", "replace")
    return ""


# --- what the worker says it sent ----------------------------------------------------------


class Ledger:
    """The Message-IDs of every invitation and reminder the store says went out."""

    def __init__(self, database: str, config_path: Path) -> None:
        self._database = database
        self._survey = load_config(config_path, env={}).survey
        self.handover_limit = self._survey.handover_limit
        """The longest a live send can be in the transport's hands (the worker's own bound)."""

    def marked_sent(self) -> dict[str, datetime]:
        """Message-ID -> when its send began, for every send the worker recorded as made."""
        with store_engine(self._database) as engine, engine.connect() as connection:
            rows = connection.execute(
                select(
                    Survey.id,
                    Survey.token_id,
                    Survey.state,
                    Survey.sent_at,
                    Survey.reminded_at,
                    Survey.reminder_count,
                    Survey.expires_at,
                ).where(Survey.channel == SurveyChannel.EMAIL, Survey.state != State.FAILED)
            ).all()
        sends: dict[str, datetime] = {}
        for row in rows:
            if row.sent_at is None:
                continue
            sends[self._id(row, SendKind.INVITATION, 0)] = row.sent_at
            for number in range(1, row.reminder_count + 1):
                sends[self._id(row, SendKind.REMINDER, number)] = row.reminded_at or row.sent_at
        return sends

    def handing_over(self) -> set[tuple[str, int]]:
        """The sends the store shows in the transport's hands (or cut off): (Message-ID, how
        many times it was re-sent), so a re-send that a second crash cuts off is a new one."""
        with store_engine(self._database) as engine, engine.connect() as connection:
            rows = connection.execute(
                select(
                    Survey.id,
                    Survey.token_id,
                    Survey.state,
                    Survey.reminder_count,
                    Survey.expires_at,
                    Survey.resends,
                ).where(Survey.state_reason.in_(HANDING_OVER))
            ).all()
        return {
            (
                self._id(row, SendKind.INVITATION, 0)
                if row.state == State.SENT
                else self._id(row, SendKind.REMINDER, row.reminder_count),
                row.resends,
            )
            for row in rows
            if row.state in (State.SENT, State.REMINDED)
        }

    def _id(self, row: Any, kind: SendKind, number: int) -> str:
        send = Delivery(
            survey_id=row.id,
            token_id=row.token_id,
            program="",
            kind=kind,
            number=number,
            language="en",
            expires_at=row.expires_at,
            email=None,
            first_name=None,
            last_name=None,
            time_zone=None,
            crm="",
            crm_id="",
        )
        return message_id(send, self._survey)


@dataclass
class AfterKills:
    """What the outside saw right after each kill, and every message either count held."""

    missing: list[int] = field(default_factory=list)
    """Messages marked sent that never arrived, new since the previous kill."""
    unknown: list[int] = field(default_factory=list)
    """Sends the store shows cut off mid hand-over, new since the previous kill."""
    ever: Counter[str] = field(default_factory=Counter)
    """Per Message-ID, how many kills left a send of it unknown (missing or cut off): each
    such send may be repeated once by a re-send."""


# --- checking the promises from outside ----------------------------------------------------


def verify(
    database: str,
    crm: dict[str, Any],
    *,
    mails: list[Message],
    ledger: Ledger,
    kills: "AfterKills",
    acknowledged: list[Acknowledged],
    signer: TokenSigner,
    min_interval: timedelta,
    grace: timedelta,
    check_ins: frozenset[str] = frozenset(),
) -> dict[str, int]:
    """The numbers of the summary; every `dup_*`, `lost_*`, `pending_*`, `failed_*` must be 0.

    `check_ins` names the recovery programs, whose one check-in after a closed follow-up may
    come inside the minimum interval (`rules.eligibility`); a second one may not.
    """
    numbers: dict[str, int] = {}
    marked = ledger.marked_sent()
    received = Counter(str(message["Message-ID"]) for message in mails)
    numbers["messages marked sent"] = len(marked)
    numbers["mails received"] = len(mails)
    numbers["not arrived after a kill (max)"] = max(kills.missing, default=0)
    numbers["unknown to the worker after a kill (max)"] = max(kills.unknown, default=0)
    numbers["unknown to the worker after kills (sum)"] = sum(kills.unknown)
    numbers["lost_kills_with_2_or_more_unknown"] = sum(
        1
        for missing, unknown in zip(kills.missing, kills.unknown, strict=True)
        if max(missing, unknown) > 1
    )
    numbers["lost_messages_after_grace"] = len(set(marked) - set(received))
    resent, doubled = repeats(mails, kills.ever, grace)
    numbers["re-sent after a crash, same Message-ID"] = resent
    numbers["dup_mails_one_message_id"] = len(doubled)
    with store_engine(database) as engine, engine.connect() as connection:
        surveys = connection.execute(
            select(
                Survey.program,
                Survey.crm_event_id,
                Survey.contact_id,
                Survey.sent_at,
                Survey.token_id,
            )
        ).all()
        responses = connection.execute(
            select(Response.score, Survey.token_id)
            .join(Survey, Survey.id == Response.survey_id)
            .where(Response.provisional.is_(False))
        ).all()
        outbox = Counter(
            str(state) for (state,) in connection.execute(select(OutboxEntry.state)).all()
        )
    numbers["dup_surveys_per_program_event"] = sum(
        count - 1
        for count in Counter(
            (row.program, row.crm_event_id) for row in surveys if row.crm_event_id is not None
        ).values()
    )
    check_in_tokens = {row.token_id for row in surveys if row.program in check_ins}
    numbers["dup_invitations_in_mail"] = _mail_duplicates(
        mails, signer, min_interval, check_in_tokens
    )
    by_contact: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    for row in surveys:
        if row.sent_at is not None:
            by_contact[row.contact_id].append((row.sent_at, row.program in check_ins))
    numbers["dup_surveys_in_min_interval"] = sum(
        _too_close(times, min_interval) for times in by_contact.values()
    )
    stored = {row.token_id: row.score for row in responses}
    numbers["answers acknowledged"] = len(acknowledged)
    numbers["lost_answers_store"] = sum(
        1 for answer in acknowledged if stored.get(answer.token_id) != answer.score
    )
    numbers.update(_crm_numbers(crm, acknowledged))
    numbers["pending_writes"] = (
        outbox[OutboxState.PENDING.value] + outbox[OutboxState.IN_FLIGHT.value]
    )
    numbers["failed_writes"] = outbox[OutboxState.FAILED.value]
    numbers["writes done"] = outbox[OutboxState.DONE.value]
    return numbers


def _crm_numbers(crm: dict[str, Any], acknowledged: list[Acknowledged]) -> dict[str, int]:
    """Tasks, notes and scores in the CRM, by address, against what people were thanked for."""
    address_of = {crm_id: values[0] for crm_id, values in crm["contacts"].items()}
    scores: dict[str, set[Any]] = defaultdict(set)
    for values in crm["contacts"].values():
        scores[values[0]].add(values[1])
    followups: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    for who, key in crm["tasks"]:
        address = address_of.get(who, f"unknown contact {who}")
        if key.startswith("followup:") and ":escalation:" not in key:
            followups[address] += 1
        elif key.startswith("note:"):
            notes[address] += 1
    answers: dict[str, list[Acknowledged]] = defaultdict(list)
    for answer in acknowledged:
        answers[answer.address].append(answer)
    detractors = {a: sum(1 for x in given if x.score <= 6) for a, given in answers.items()}
    numbers = {
        "follow-up tasks in the CRM": sum(followups.values()),
        "response notes in the CRM": sum(notes.values()),
        "dup_followup_tasks_per_contact": sum(
            max(0, count - max(detractors.get(address, 0), 1))
            for address, count in followups.items()
        ),
        "lost_followup_tasks": sum(
            max(0, wanted - followups[address]) for address, wanted in detractors.items()
        ),
        "dup_notes_per_contact": sum(
            max(0, count - max(len(answers.get(address, [])), 1))
            for address, count in notes.items()
        ),
        "lost_answers_crm": sum(
            1
            for address, given in answers.items()
            if notes[address] < len(given) or given[-1].score not in scores.get(address, set())
        ),
    }
    return numbers


def repeats(
    mails: list[Message], unknown: Counter[str], grace: timedelta
) -> tuple[int, dict[str, list[datetime]]]:
    """Message-IDs received more than once: (re-sends after a crash, true duplicates).

    Each kill that left a send of a Message-ID unknown allows one more copy of it (its
    re-send), rendered at least the grace period after the copy before; anything beyond that
    is a duplicate, returned with the Date of every copy (for the run's report).
    """
    dates: dict[str, list[datetime]] = defaultdict(list)
    for message in mails:
        dates[str(message["Message-ID"])].append(parsedate_to_datetime(str(message["Date"])))
    resent = 0
    doubled: dict[str, list[datetime]] = {}
    for message_id_, when in dates.items():
        if len(when) < 2:
            continue
        copies = sorted(when)
        spaced = all(later - earlier >= grace for earlier, later in itertools.pairwise(copies))
        if spaced and len(copies) - 1 <= unknown[message_id_]:
            resent += len(copies) - 1
        else:
            doubled[message_id_] = copies
    return resent, doubled


def _too_close(sends: list[tuple[datetime, bool]], min_interval: timedelta) -> int:
    """Sends to one person within the minimum interval of the one before: each counts, except
    a check-in (flagged True) when no other check-in went within the interval before it."""
    close = 0
    last_check_in: datetime | None = None
    previous: datetime | None = None
    for at, check_in in sorted(sends):
        excused = check_in and (last_check_in is None or at - last_check_in >= min_interval)
        if previous is not None and at - previous < min_interval and not excused:
            close += 1
        if check_in:
            last_check_in = at
        previous = at
    return close


def _mail_duplicates(
    mails: list[Message], signer: TokenSigner, min_interval: timedelta, check_ins: set[str]
) -> int:
    """Two invitations of different surveys to one address within the minimum interval (a
    recovery check-in, the store's `check_ins` tokens, passes once)."""
    first_seen: dict[str, datetime] = {}
    address_of: dict[str, str] = {}
    for message in mails:
        found = SCORE_LINK.search(_plain_text(message))
        if found is None:
            continue
        token = found.group(1).rsplit("/", 1)[-1]
        at = parsedate_to_datetime(str(message["Date"]))
        try:
            token_id = signer.verify(token, Purpose.ANSWER, at).token_id
        except TokenRejected:
            continue
        first_seen.setdefault(token_id, at)
        address_of[token_id] = str(message["To"]).lower()
    by_address: dict[str, list[tuple[datetime, bool]]] = defaultdict(list)
    for token_id, at in first_seen.items():
        by_address[address_of[token_id]].append((at, token_id in check_ins))
    return sum(_too_close(times, min_interval) for times in by_address.values())


@contextlib.contextmanager
def store_engine(url: str) -> Iterator[Any]:
    """An engine on the run's store for the block, disposed after."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
