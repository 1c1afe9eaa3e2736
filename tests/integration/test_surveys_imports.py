"""Imports: flexible CSV headers and encodings, located bad rows, matching, deduplication."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.store.models import (
    Contact,
    Crm,
    Response,
    ResponseSource,
    ResponseVersion,
    Survey,
    SurveyState,
)
from worker.surveys.imports import import_answers, read_csv

NOW = datetime(2025, 7, 1, tzinfo=UTC)
TAGS = {"support": "support", "サポート": "support", "usability": "usability"}


def _contacts(session: Session) -> None:
    for number, email in enumerate(("ken@example.jp", "amy@example.com"), start=1):
        session.add(
            Contact(
                crm=Crm.HUBSPOT,
                crm_id=str(500 + number),
                email=email,
                language="ja" if email.endswith(".jp") else "en",
                modified_at=NOW,
                synced_at=NOW,
            )
        )
    session.flush()


@pytest.mark.parametrize(
    ("encoding", "header"),
    [
        pytest.param("utf-8", "E-Mail,Date,NPS,Comment,Tags", id="utf8-aliases"),
        pytest.param("utf-8-sig", "email,answered_at,score,comment,tags", id="utf8-bom"),
        pytest.param("cp932", "メールアドレス,回答日,スコア,コメント,タグ", id="cp932-japanese"),
    ],
)
def test_reads_exports(tmp_path: Path, encoding: str, header: str) -> None:
    """UTF-8 with or without BOM and Shift_JIS, with English or Japanese headers."""
    path = tmp_path / "answers.csv"
    text = f"{header}\r\nKen@Example.jp,2025/06/30 14:05,9,対応が早い,サポート\r\n"
    path.write_bytes(text.encode(encoding))
    rows, issues = read_csv(path, TAGS, now=NOW)
    assert issues == []
    (row,) = rows
    assert (row.email, row.score, row.comment, row.tags, row.line) == (
        "ken@example.jp",
        9,
        "対応が早い",
        ("support",),
        2,
    )
    assert row.answered_at == datetime(2025, 6, 30, 14, 5, tzinfo=UTC)


def test_bad_rows_are_located(tmp_path: Path) -> None:
    """Each bad row names file, line, column and reason; good rows still come through."""
    path = tmp_path / "a.csv"
    path.write_text(
        "crm_id,date,score,tags\n"
        "501,2025-06-01,11,\n"
        "502,yesterday,5,\n"
        "\n"
        "502,2025-06-01T10:00:00+09:00,5,pricing\n"
        ",2025-06-01,5,\n"
        "502,2025-06-02,10,usability\n",
        encoding="utf-8",
    )
    rows, issues = read_csv(path, TAGS, now=NOW)
    assert [str(issue) for issue in issues] == [
        f"{path}:2:3: score: '11' is not a whole number from 0 to 10",
        f"{path}:3:2: date: 'yesterday' is not a date (use e.g. 2025-06-30 or 2025/06/30 14:05)",
        f"{path}:5:4: tags: unknown reason tag 'pricing'",
        f"{path}:6:1: crm_id: needs an e-mail or a CRM id",
    ]
    assert [(row.crm_id, row.line) for row in rows] == [("502", 7)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"name,when\nx,y\n", "missing column email or crm_id, date, score", id="header"
        ),
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"email,date,score\n\xff\xfe\xfa,x,1\n", "not readable", id="encoding"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, message: str) -> None:
    """A file that cannot be read at all says why, at the line it failed."""
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    rows, issues = read_csv(path, now=NOW)
    assert rows == []
    (issue,) = issues
    assert message in issue.message


def test_import_matches_and_deduplicates(session: Session, tmp_path: Path) -> None:
    """Matched rows become answered surveys; unmatched are reported; a re-import adds nothing."""
    _contacts(session)
    path = tmp_path / "a.csv"
    path.write_text(
        "email,crm_id,date,score,comment,program\n"
        "ken@example.jp,,2025-06-30,3,遅い,support_case_closed\n"
        ",502,2025-06-29,10,,\n"
        "nobody@example.com,,2025-06-29,7,,\n"
        "ken@example.jp,,2025-06-30,3,遅い,support_case_closed\n",
        encoding="utf-8",
    )
    rows, issues = read_csv(path, now=NOW)
    assert issues == []
    first = import_answers(session, rows, NOW, ResponseSource.IMPORT, where=str(path))
    assert (first.imported, first.duplicates) == (2, 1)
    assert [str(issue) for issue in first.issues] == [
        f"{path}:4: email: no mirrored contact has this e-mail address"
    ]
    again = import_answers(session, rows, NOW, ResponseSource.IMPORT, where=str(path))
    assert (again.imported, again.duplicates) == (0, 3)
    answers = session.execute(
        select(Survey, Response).join(Response).order_by(Response.score)
    ).all()
    assert [(r.score, r.category.value, r.source, s.state, s.program) for s, r in answers] == [
        (3, "detractor", ResponseSource.IMPORT, SurveyState.ANSWERED, "support_case_closed"),
        (10, "promoter", ResponseSource.IMPORT, SurveyState.ANSWERED, "import"),
    ]
    assert answers[0][0].language == "ja"
    versions = session.scalars(select(ResponseVersion.version)).all()
    assert versions == [1, 1]


def test_future_dates_are_refused(tmp_path: Path) -> None:
    """An answer dated after now is a mistake in the file, not an answer."""
    path = tmp_path / "a.csv"
    path.write_text("email,date,score\namy@example.com,2025-08-01,9\n", encoding="utf-8")
    rows, issues = read_csv(path, now=NOW)
    assert rows == []
    assert [str(issue) for issue in issues] == [
        f"{path}:2:2: date: 2025-08-01T00:00:00+00:00 is in the future"
    ]
