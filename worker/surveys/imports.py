"""Answers collected elsewhere (a CSV export, a signed webhook) brought into the store, once.

Each answer is matched to a mirrored contact by CRM id or e-mail and stored as an answered
Survey with its Response (source `import` or `webhook`) and first ResponseVersion. A stable
`import_key` (contact, date, score, source) makes a second import of the same answer a no-op.
Bad rows are reported with file:line:column and a reason; the good rows are still imported.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from worker.domain import Category
from worker.store.models import (
    Contact,
    Response,
    ResponseSource,
    ResponseVersion,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.surveys import answer_fields
from worker.surveys.answer_fields import FieldError
from worker.surveys.tokens import new_token_id

ENCODINGS = ("utf-8-sig", "cp932")
"""Tried in order: UTF-8 (with or without BOM), then Shift_JIS as Japanese Excel saves it."""

ALIASES: Mapping[str, tuple[str, ...]] = {
    "email": ("email", "e mail", "mail", "email address", "メール", "メールアドレス"),
    "crm_id": ("crm id", "contact id", "record id", "id", "hs object id", "salesforce id"),
    "date": (
        "date",
        "answered at",
        "response date",
        "submitted at",
        "timestamp",
        "回答日",
        "回答日時",
        "日付",
    ),
    "score": ("score", "nps", "nps score", "rating", "スコア", "点数"),
    "comment": ("comment", "comments", "feedback", "コメント"),
    "program": ("program", "プログラム"),
    "touchpoint": ("touchpoint", "タッチポイント"),
    "tags": ("tags", "reason tags", "reasons", "タグ", "理由"),
}
"""Accepted header names per field, compared case-insensitively with `-`, `_` read as spaces."""

_DATE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", re.ASCII
)
MAX_DATE = 40
"""Longer than any date format read here; a longer cell is not a date."""
MAX_TAGS = 1_000
"""The reason tags of one answer, as one cell."""
_TAG_SPLIT = re.compile(r"[;,、|]")
_CHANNEL = {
    ResponseSource.IMPORT: SurveyChannel.EMAIL,
    ResponseSource.WEBHOOK: SurveyChannel.WEBHOOK,
}
"""Imported answers were collected by e-mail surveys elsewhere; webhook ones by that tool."""


@dataclass(frozen=True, slots=True)
class RowIssue:
    """Why one row (or the header) was not imported, and where it is."""

    where: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        place = (
            f"{self.where}:{self.line}:{self.column}"
            if self.column
            else f"{self.where}:{self.line}"
        )
        return f"{place}: {self.message}"


@dataclass(frozen=True, slots=True)
class AnswerRow:
    """One answer to import; `line` says where it came from, for reporting."""

    line: int
    email: str | None
    crm_id: str | None
    answered_at: datetime
    score: int
    comment: str | None = None
    program: str | None = None
    tags: tuple[str, ...] = ()


@dataclass
class ImportResult:
    """What an import did: counts, and every row that was not imported with the reason."""

    imported: int = 0
    duplicates: int = 0
    issues: list[RowIssue] = field(default_factory=list)


def _normal(header: str) -> str:
    return " ".join(re.sub(r"[-_]", " ", header.strip().lstrip("\ufeff").lower()).split())


def header_map(headers: Iterable[str]) -> dict[str, int]:
    """Field name -> column index (0-based) for the headers recognised; first match wins."""
    lookup = {alias: name for name, aliases in ALIASES.items() for alias in aliases}
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        name = lookup.get(_normal(header))
        if name is not None and name not in found:
            found[name] = index
    return found


def decode(data: bytes, where: str) -> tuple[str, RowIssue | None]:
    """The text of `data` in the first encoding that reads it whole, or a located issue."""
    try:
        return data.decode(ENCODINGS[0]), None
    except UnicodeDecodeError as error:
        first_bad = error.start
    try:
        return data.decode(ENCODINGS[1]), None
    except UnicodeDecodeError:
        line = data.count(b"\n", 0, first_bad) + 1
        message = f"not readable as {' or '.join(ENCODINGS)}; save the file as UTF-8"
        return "", RowIssue(where, line, 0, message)


def read_csv(
    path: Path, tag_ids: Mapping[str, str] | None = None, *, now: datetime
) -> tuple[list[AnswerRow], list[RowIssue]]:
    """Parse a CSV export into answers and the issues of the rows that could not be read."""
    text, issue = decode(path.read_bytes(), str(path))
    if issue is not None:
        return [], [issue]
    return parse_csv(text, str(path), tag_ids or {}, now=now)


def parse_csv(
    text: str, where: str, tag_ids: Mapping[str, str], *, now: datetime
) -> tuple[list[AnswerRow], list[RowIssue]]:
    """Parse CSV text; `where` names the source in issues, `now` bounds the dates."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration:
        return [], [RowIssue(where, 1, 0, "the file is empty")]
    except csv.Error as error:
        return [], [RowIssue(where, 1, 0, f"unreadable CSV: {error}")]
    columns = header_map(headers)
    missing = [name for name in ("date", "score") if name not in columns]
    if "email" not in columns and "crm_id" not in columns:
        missing.insert(0, "email or crm_id")
    if missing:
        shown = ", ".join(headers)
        return [], [RowIssue(where, 1, 0, f"missing column {', '.join(missing)} (found: {shown})")]
    rows: list[AnswerRow] = []
    issues: list[RowIssue] = []
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            issues.append(RowIssue(where, reader.line_num, 0, f"unreadable CSV: {error}"))
            break
        start, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        values = {
            name: record[index] if index < len(record) else "" for name, index in columns.items()
        }
        parsed = parse_record(
            values, where=where, line=start, now=now, columns=columns, tag_ids=tag_ids
        )
        if isinstance(parsed, AnswerRow):
            rows.append(parsed)
        else:
            issues.append(parsed)
    return rows, issues


def parse_record(
    values: Mapping[str, str | None],
    *,
    where: str,
    line: int,
    now: datetime,
    columns: Mapping[str, int] | None = None,
    tag_ids: Mapping[str, str] | None = None,
) -> AnswerRow | RowIssue:
    """One answer from field values (CSV row or webhook item), or the issue with it.

    Every field meets the rules the answer page applies (`worker.surveys.answer_fields`);
    the date must lie between the first NPS survey and `now`. `tag_ids` maps lower-cased tag
    ids and labels to tag ids; without it tags are kept as given.
    """

    def issue(name: str, message: str) -> RowIssue:
        column = (columns or {}).get(name)
        return RowIssue(where, line, column + 1 if column is not None else 0, f"{name}: {message}")

    try:
        email = answer_fields.email("email", values.get("email"))
        crm_id = answer_fields.crm_id("crm_id", values.get("crm_id"))
        if email is None and crm_id is None:
            return issue("email" if "email" in values else "crm_id", "needs an e-mail or a CRM id")
        score = answer_fields.score("score", values.get("score") or "", decimal_zero=True)
        date_text = answer_fields.text("date", values.get("date"), MAX_DATE) or ""
        parsed = parse_date(date_text)
        if parsed is None:
            return issue(
                "date",
                f"'{date_text}' is not a date (use e.g. 2025-06-30 or 2025/06/30 14:05)",
            )
        answered_at = answer_fields.answered_at("date", parsed, now)
        comment = answer_fields.comment("comment", values.get("comment"))
        program = answer_fields.text(
            "program", values.get("program"), answer_fields.MAX_PROGRAM
        ) or answer_fields.text("touchpoint", values.get("touchpoint"), answer_fields.MAX_PROGRAM)
        tags: list[str] = []
        for raw in _TAG_SPLIT.split(answer_fields.text("tags", values.get("tags"), MAX_TAGS) or ""):
            tag = raw.strip()
            if not tag:
                continue
            known = tag_ids.get(tag.lower()) if tag_ids else tag
            if known is None:
                return issue("tags", f"unknown reason tag '{tag}'")
            tags.append(known)
    except FieldError as error:
        return issue(error.field, error.reason)
    return AnswerRow(
        line=line,
        email=email,
        crm_id=crm_id,
        answered_at=answered_at,
        score=score,
        comment=comment,
        program=program,
        tags=tuple(dict.fromkeys(tags)),
    )


def parse_date(value: str) -> datetime | None:
    """An aware datetime from ISO 8601 or `YYYY/MM/DD[ HH:MM[:SS]]`; naive values are UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        match = _DATE.fullmatch(value)
        if match is None:
            return None
        year, month, day, hour, minute, second = (int(p) for p in match.groups(default="0"))
        try:
            parsed = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def import_key(contact: Contact, row: AnswerRow, source: ResponseSource) -> str:
    """The dedup key of an imported answer: the same answer imported again gets the same key."""
    seed = f"{contact.crm}:{contact.crm_id}|{row.answered_at.isoformat()}|{row.score}|{source}"
    return f"{source.value}:{hashlib.sha256(seed.encode()).hexdigest()}"


def import_answers(
    session: Session,
    rows: Iterable[AnswerRow],
    now: datetime,
    source: ResponseSource,
    *,
    where: str = "import",
    default_language: str = "en",
    follow_up: bool = True,
) -> ImportResult:
    """Store each new answer in `rows`; duplicates are counted, unmatched rows reported.

    `follow_up` False stores history: analytics and contact fields, no task. True opens the
    tasks the rules ask for, their SLA counted from `now` (never overdue at creation).

    Runs in the caller's transaction (the caller commits); each row in a savepoint, so a
    concurrent import of the same answer counts as a duplicate instead of failing the batch.
    """
    result = ImportResult()
    for row in rows:
        contact = _match(session, row, where, result)
        if contact is None:
            continue
        key = import_key(contact, row, source)
        if session.scalar(select(Response.id).where(Response.import_key == key)) is not None:
            result.duplicates += 1
            continue
        try:
            with session.begin_nested():
                _store(
                    session,
                    contact,
                    row,
                    source,
                    key=key,
                    default_language=default_language,
                    follow_up_from=now if follow_up else None,
                )
        except IntegrityError:
            if session.scalar(select(Response.id).where(Response.import_key == key)) is None:
                raise  # the store refused the row for another reason: not a duplicate
            result.duplicates += 1
            continue
        result.imported += 1
    return result


def _match(session: Session, row: AnswerRow, where: str, result: ImportResult) -> Contact | None:
    if row.crm_id is not None:
        query = select(Contact).where(Contact.crm_id == row.crm_id, Contact.deleted.is_(False))
        what = f"CRM id '{row.crm_id}'"
    else:
        email = (row.email or "").lower()
        query = select(Contact).where(
            func.lower(Contact.email) == email, Contact.deleted.is_(False)
        )
        what = "e-mail address"
    found = session.scalars(query.limit(2)).all()
    if len(found) == 1:
        return found[0]
    column = "crm_id" if row.crm_id is not None else "email"
    message = "no mirrored contact has this" if not found else "several mirrored contacts have this"
    result.issues.append(RowIssue(where, row.line, 0, f"{column}: {message} {what}"))
    return None


def _store(
    session: Session,
    contact: Contact,
    row: AnswerRow,
    source: ResponseSource,
    *,
    key: str,
    default_language: str,
    follow_up_from: datetime | None,
) -> None:
    survey = Survey(
        program=row.program or "import",
        contact_id=contact.id,
        token_id=new_token_id(),
        state=SurveyState.ANSWERED,
        language=contact.language or default_language,
        channel=_CHANNEL[source],
        planned_at=row.answered_at,
        scheduled_for=row.answered_at,
        answered_at=row.answered_at,
        reminder_count=0,
    )
    session.add(survey)
    session.flush()
    response = Response(
        survey_id=survey.id,
        score=row.score,
        category=Category.of_score(row.score),
        comment=row.comment,
        reason_tags=[],
        chosen_tags=list(row.tags),
        provisional=False,
        source=source,
        received_at=row.answered_at,
        # The SLA counts from when the worker could first act on the answer: the import.
        confirmed_at=max(row.answered_at, follow_up_from or row.answered_at),
        import_key=key,
        version=1,
        handled_version=0,
        followup_wanted=follow_up_from is not None,
    )
    session.add(response)
    session.flush()
    session.add(
        ResponseVersion(
            response_id=response.id,
            version=1,
            score=row.score,
            comment=row.comment,
            chosen_tags=list(row.tags),
            provisional=False,
            source=source,
            received_at=row.answered_at,
            signals={},
        )
    )
    session.flush()
