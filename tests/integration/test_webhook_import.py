"""Signed webhook imports end to end: the verified JSON batch lands as answers, once."""

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.integration.web_support import HOOKS_SECRET, Harness
from worker.store.models import Response, ResponseSource
from worker.surveys.web.hooks import signature
from worker.surveys.webhook_import import webhook_importer


def _post(web: Harness, document: Any) -> Any:
    body = json.dumps(document).encode()
    timestamp = str(int(web.clock.now.timestamp()))
    return web.client.post(
        "/hooks/answers",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-NPS-Timestamp": timestamp,
            "X-NPS-Signature": signature(HOOKS_SECRET.encode(), timestamp, body),
        },
    )


def test_a_batch_is_imported_once_and_unmatched_items_are_named(
    sessions: sessionmaker[Session],
) -> None:
    """Matched answers are imported once; an address nobody has is named in the reply."""
    probe = Harness(sessions)
    probe.survey(email="ann@example.com")
    web = Harness(sessions, import_handler=webhook_importer(sessions, probe.config))
    batch = {
        "answers": [
            {
                "email": "ann@example.com",
                "date": "2026-02-20",
                "score": 3,
                "comment": "Slow",
                "tags": ["quality"],
            },
            {"email": "nobody@example.com", "date": "2026-02-21", "score": 8},
        ]
    }

    first = _post(web, batch)
    again = _post(web, batch)

    assert first.status_code == 200
    assert first.json()["imported"] == 1
    assert first.json()["refused"] == [
        "webhook:2: email: no mirrored contact has this e-mail address"
    ]
    assert again.json()["imported"] == 0
    assert again.json()["duplicates"] == 1
    with sessions() as session:
        rows = session.scalars(
            select(Response).where(Response.source == ResponseSource.WEBHOOK)
        ).all()
        assert [(row.score, row.comment, row.provisional) for row in rows] == [(3, "Slow", False)]
        assert session.scalar(select(func.count()).select_from(Response)) == 1


def test_a_batch_with_a_malformed_item_is_refused_whole(sessions: sessionmaker[Session]) -> None:
    """422 naming each bad item and field; the good item waits for the corrected batch."""
    probe = Harness(sessions)
    probe.survey(email="ann@example.com")
    web = Harness(sessions, import_handler=webhook_importer(sessions, probe.config))
    good = {"email": "ann@example.com", "date": "2026-02-20", "score": 3}
    batch = {
        "answers": [
            good,
            {"email": "ann@example.com", "date": "2026-02-21", "score": 11},
            "not an object",
            {"email": "ann@example.com", "date": "2026-02-21", "score": True},
        ]
    }

    refused = _post(web, batch)

    assert refused.status_code == 422
    assert refused.json()["refused"] == [
        "webhook:2: score: '11' is not a whole number from 0 to 10",
        "webhook:3: an answer is a JSON object",
        "webhook:4: score: a bool is not a value of this field",
    ]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Response)) == 0
    assert _post(web, {"answers": [good]}).json()["imported"] == 1


def test_a_document_without_answers_is_a_4xx(sessions: sessionmaker[Session]) -> None:
    web = Harness(sessions)
    web = Harness(sessions, import_handler=webhook_importer(sessions, web.config))
    assert _post(web, {"rows": []}).status_code == 422
