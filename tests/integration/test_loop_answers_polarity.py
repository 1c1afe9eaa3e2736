"""Handling an answer keeps each reason tag's polarity and writes it beside the tags.

The contact's CRM fields NPS_Praise_Tags__c / NPS_Complaint_Tags__c (nps_praise_tags /
nps_complaint_tags) are filled from the answer's comment, in the write queued for the CRM.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from worker.config import parse_config
from worker.domain import Category
from worker.loop.answers import handle_answers
from worker.store.models import (
    Contact,
    Crm,
    OutboxEntry,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)
from worker.sync.base import UserProfile
from worker.sync.link import link

NOW = datetime(2026, 5, 4, 12, tzinfo=UTC)
COMMENT = "The app itself is rock solid, but support never replied to our ticket."


class FakeClient:
    """A CRM that is never called: the answer step only queues writes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def managers(self) -> dict[str, str]:
        return {}

    def users(self) -> dict[str, UserProfile]:
        return {}

    def task_statuses(self, task_ids: Sequence[str]) -> list[object]:
        return []


def _answer(sessions: sessionmaker[Session], kind: str, comment: str | None, score: int) -> int:
    with sessions.begin() as session:
        contact = Contact(
            crm=Crm(kind),
            crm_id="003A",
            email="a@example.com",
            opted_out=False,
            owner_crm_id="005OWNER",
            fields={},
            modified_at=NOW,
            deleted=False,
            synced_at=NOW,
        )
        session.add(contact)
        session.flush()
        survey = Survey(
            program="support_case_closed",
            contact_id=contact.id,
            token_id="tok",
            state=SurveyState.ANSWERED,
            language="en",
            channel=SurveyChannel.EMAIL,
            planned_at=NOW - timedelta(days=2),
            scheduled_for=NOW - timedelta(days=2),
            sent_at=NOW - timedelta(days=2),
            expires_at=NOW + timedelta(days=12),
            reminder_count=0,
        )
        session.add(survey)
        session.flush()
        response = Response(
            survey_id=survey.id,
            score=score,
            category=Category.of_score(score),
            comment=comment,
            provisional=False,
            source=ResponseSource.WEB,
            received_at=NOW - timedelta(hours=1),
            version=1,
            handled_version=0,
        )
        session.add(response)
        session.flush()
        return response.id


@pytest.mark.parametrize(
    ("kind", "praise", "complaint"),
    [
        pytest.param("salesforce", "NPS_Praise_Tags__c", "NPS_Complaint_Tags__c", id="salesforce"),
        pytest.param("hubspot", "nps_praise_tags", "nps_complaint_tags", id="hubspot"),
    ],
)
def test_polarity_is_kept_and_written_beside_the_tags(
    sessions: sessionmaker[Session], kind: str, praise: str, complaint: str
) -> None:
    """A detractor praising stability and complaining of support: quality is written as
    praised, support as complained of, and the timeline note says which is which."""
    config = parse_config(f"crm: {{kind: {kind}}}\n", "config.yaml", env={})
    response_id = _answer(sessions, kind, COMMENT, score=4)
    handle_answers(sessions, config, link(config, FakeClient(kind)), NOW, {})  # type: ignore[arg-type]
    with sessions() as session:
        response = session.get_one(Response, response_id)
        assert response.reason_tags == ["quality", "support"]
        assert response.reason_polarity == {"quality": "praise", "support": "complaint"}
        queued = list(session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)))
        writes = [entry.fields for entry in queued if entry.object != "note"]
        notes = [entry.fields["body"] for entry in queued if entry.object == "note"]
    assert any(fields.get(praise) == "quality" for fields in writes), writes
    assert any(fields.get(complaint) == "support" for fields in writes), writes
    assert any(
        "Reasons: Quality / incidents (praise), Support (complaint)" in body for body in notes
    ), notes


def test_a_chip_without_a_comment_takes_the_scores_polarity(
    sessions: sessionmaker[Session],
) -> None:
    """A promoter's chip with no comment is praise."""
    config = parse_config("crm: {kind: salesforce}\n", "config.yaml", env={})
    response_id = _answer(sessions, "salesforce", None, score=10)
    with sessions.begin() as session:
        session.get_one(Response, response_id).chosen_tags = ["onboarding"]
    handle_answers(sessions, config, link(config, FakeClient("salesforce")), NOW, {})  # type: ignore[arg-type]
    with sessions() as session:
        assert session.get_one(Response, response_id).reason_polarity == {"onboarding": "praise"}
