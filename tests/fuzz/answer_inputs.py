"""Answer fuzz inputs behind valid credentials, and the checks, for every way an answer comes in.

Unlike `web_inputs` (requests without a valid form token or signature), these get past the
door: the answer form with the page's own form token, a webhook document with a valid
signature, a CSV file given to the import. The properties, on SQLite and PostgreSQL:
- never a 5xx and never an exception: bad input is a 4xx naming the field, or an issue naming
  the file's line and column;
- what is stored is what was sent (score, comment as trimmed, tags), and nothing a rule
  refuses (a control character, a score that is not 0-10 in ASCII digits) reaches the store;
- a refused request changes nothing.
Shared by tests/integration/test_fuzz_answers.py (CI) and `benchmarks/fuzz.py`.
"""

import csv
import io
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.web_support import HOOKS_SECRET, Harness, Link
from worker.config import Config
from worker.store.models import Contact, Response, ResponseSource
from worker.surveys.import_command import import_command
from worker.surveys.web.hooks import signature

ADDRESS = "fuzz.person@example.com"
SPECIAL = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\r",
    "\r\n",
    "\t",
    "\ufeff",
    "\u202e",
    "\uff19",
    "\u0669",
    "10",
    "0",
    "11",
    "-1",
    "7.0",
    "7.5",
    " 9 ",
    "1e1",
    '=HYPERLINK("x")',
    "x" * 4_001,
    "満足" * 2_001,
    "'; DROP TABLE responses; --",
    '"quoted, with comma"',
]
"""Values that have broken parsers and stores before."""

words = st.one_of(st.text(max_size=40), st.sampled_from(SPECIAL))
"""A field's value: any text, or one of the known troublemakers."""


@dataclass(frozen=True)
class Mirrored:
    """The contact every fuzzed answer may name (others name nobody)."""

    email: str
    crm_id: str


def mirrored(sessions: sessionmaker[Session]) -> Mirrored:
    """The mirrored contact of the harness's survey of ADDRESS."""
    with sessions() as session:
        contact = session.scalars(select(Contact).where(Contact.email == ADDRESS)).one()
        return Mirrored(ADDRESS, contact.crm_id)


def _control_free(text: str | None) -> bool:
    return text is None or all(
        char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs") for char in text
    )


def _stored_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Response)) or 0


# --- the answer form, with the page's own form token --------------------------------------


def form_fields(tags: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    """A posted answer form: score, chosen tags and comment, each valid or not."""
    score = st.one_of(st.integers(0, 10).map(str), words)
    chosen = st.lists(st.one_of(st.sampled_from(tags), words), max_size=4)
    return st.fixed_dictionaries(
        {"score": score, "tags": chosen, "comment": words},
        optional={"form_extra": words},
    )


def check_form(web: Harness, link: Link, fields: Mapping[str, Any]) -> None:
    """Post the form with a fresh form token: 200 stores exactly it, 4xx changes nothing."""
    token = web.open(link)
    before = web.response(link)
    answer = web.post(link, dict(fields), token)
    assert answer.status_code < 500, (fields, answer.status_code)
    after = web.response(link)
    if answer.status_code != 200:
        assert (after and after.version) == (before and before.version), fields
        return
    assert after is not None
    assert not after.provisional
    assert after.score == int(str(fields["score"]).strip()), fields
    sent = str(fields["comment"]).replace("\r\n", "\n").replace("\r", "\n").strip()
    assert after.comment == (sent or None), fields
    assert _control_free(after.comment)
    assert set(after.chosen_tags) == set(fields["tags"]), fields


# --- the webhook, with a valid signature ---------------------------------------------------


def hook_documents(who: Mirrored, now: datetime) -> st.SearchStrategy[Any]:
    """A JSON batch of answers (fields valid or not), or a document of another shape."""
    day = st.integers(-4000, 30).map(lambda days: (now - timedelta(days=days)).date().isoformat())
    value = st.one_of(
        words,
        st.integers(-5, 15),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
        st.none(),
        st.lists(words, max_size=3),
        st.just({"nested": "object"}),
        st.just("broken \ud800 half"),
    )
    item = st.fixed_dictionaries(
        {},
        optional={
            "email": st.one_of(st.just(who.email), value),
            "crm_id": st.one_of(st.just(who.crm_id), value),
            "date": st.one_of(day, value),
            "score": st.one_of(st.integers(0, 10), value),
            "comment": value,
            "tags": value,
            "program": value,
        },
    )
    batch = st.lists(st.one_of(item, value), max_size=5).map(lambda items: {"answers": items})
    return st.one_of(batch, value, st.dictionaries(words, value, max_size=3))


def check_hook(web: Harness, document: Any) -> None:
    """A signed document: 200 imports only well-formed answers; 4xx imports nothing."""
    before = _stored_count(web.sessions)
    body = json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass")
    timestamp = str(int(web.clock.now.timestamp()))
    answer = web.client.post(
        "/hooks/answers",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-NPS-Timestamp": timestamp,
            "X-NPS-Signature": signature(HOOKS_SECRET.encode(), timestamp, body),
        },
    )
    assert answer.status_code < 500, (document, answer.status_code, answer.text)
    after = _stored_count(web.sessions)
    if answer.status_code != 200:
        assert after == before, document
        assert "error" in answer.json()
        return
    imported = answer.json()["imported"]
    assert after == before + imported, document
    _assert_stored_answers_are_clean(web.sessions, ResponseSource.WEBHOOK)


# --- the CSV import -----------------------------------------------------------------------

HEADERS = ["email", "crm_id", "date", "score", "comment", "program", "tags", "スコア", "回答日"]


def csv_files(who: Mirrored, now: datetime) -> st.SearchStrategy[bytes]:
    """A CSV export: a header of known and unknown columns, rows of valid or broken cells."""
    day = st.integers(-4000, 30).map(lambda days: (now - timedelta(days=days)).strftime("%Y/%m/%d"))
    cell = st.one_of(
        words, st.just(who.email), st.just(who.crm_id), day, st.integers(0, 10).map(str)
    )
    header = st.lists(st.one_of(st.sampled_from(HEADERS), words), min_size=1, max_size=7)
    rows = st.lists(st.lists(cell, max_size=8), max_size=6)
    well_formed = st.builds(_csv_text, header, rows)
    raw = st.text(max_size=300)
    return st.tuples(
        st.one_of(well_formed, raw), st.sampled_from(["utf-8", "utf-8-sig", "cp932"])
    ).map(lambda pair: _encode(*pair))


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _encode(text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def check_import(
    config: Config, sessions: sessionmaker[Session], folder: Path, data: bytes, now: datetime
) -> None:
    """`import`'s work on the file: no exception; every issue located; what is stored is clean."""
    path = folder / "answers.csv"
    path.write_bytes(data)
    before = _stored_count(sessions)
    result = import_command(config, path, dry_run=False, now=now)
    after = _stored_count(sessions)
    assert after == before + result.imported, data
    for issue in result.issues:
        assert str(issue).startswith(f"{path}:{issue.line}"), issue
        assert issue.line >= 1, issue
    _assert_stored_answers_are_clean(sessions, ResponseSource.IMPORT)


def _assert_stored_answers_are_clean(
    sessions: sessionmaker[Session], source: ResponseSource
) -> None:
    with sessions() as session:
        rows = session.execute(
            select(Response.score, Response.comment).where(Response.source == source)
        ).all()
    for score, comment in rows:
        assert 0 <= score <= 10
        assert _control_free(comment), comment
        assert comment is None or len(comment) <= 4_000
