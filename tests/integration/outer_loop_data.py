"""Small, hand-made answer histories for the outer-loop tests: accounts, contacts, answers."""

import datetime as dt
import itertools
from collections.abc import Sequence

from sqlalchemy.orm import Session

from worker.config import Config, parse_config
from worker.domain import Category
from worker.store.models import (
    Account,
    Contact,
    Crm,
    FollowUp,
    FollowUpStatus,
    Response,
    ResponseSource,
    Survey,
    SurveyChannel,
    SurveyState,
)

NOW = dt.datetime(2026, 3, 30, 9, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


def config(
    extra: str = "",
    *,
    directory: str = "/tmp/unused-mail",  # noqa: S108 - never written
    min_sample: int = 5,
) -> Config:
    """A Salesforce config with the sandbox-free defaults and `extra` YAML appended."""
    text = (
        "crm:\n  kind: salesforce\n"
        "survey:\n  base_url: https://nps.example.com\n"
        "  sender: {address: nps@acme.example, name: Acme CS}\n"
        f"  mail: {{transport: directory, directory: {{path: {directory}}}}}\n"
        f"segments:\n  min_sample: {min_sample}\n" + extra
    )
    return parse_config(text, "config.yaml", env={})


def account(session: Session, name: str, **fields: object) -> Account:
    """A mirrored account."""
    row = Account(
        crm=Crm.SALESFORCE,
        crm_id=f"001{next(_ids):015d}",
        name=name,
        fields={"segments": {}, **fields},
        modified_at=NOW,
        synced_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def contact(
    session: Session,
    owner: Account | None,
    email: str | None,
    *,
    language: str = "en",
    first_name: str = "Alex",
    last_name: str = "Doe",
    opted_out: bool = False,
    deleted: bool = False,
) -> Contact:
    """A mirrored contact of `owner`."""
    row = Contact(
        crm=Crm.SALESFORCE,
        crm_id=f"003{next(_ids):015d}",
        email=email,
        first_name=first_name,
        last_name=last_name,
        account_id=owner.id if owner else None,
        account_crm_id=owner.crm_id if owner else None,
        language=language,
        opted_out=opted_out,
        deleted=deleted,
        fields={"segments": {}},
        modified_at=NOW,
        synced_at=NOW,
    )
    session.add(row)
    session.flush()
    return row


def answer(
    session: Session,
    who: Contact,
    score: int,
    tags: Sequence[str] = (),
    *,
    at: dt.datetime,
    comment: str | None = None,
    program: str = "support_case_closed",
    followup: bool = False,
) -> Response:
    """A human answer by `who` (and a closed follow-up when asked)."""
    number = next(_ids)
    survey = Survey(
        program=program,
        contact_id=who.id,
        token_id=f"t{number}",
        state=SurveyState.ANSWERED,
        language=who.language or "en",
        channel=SurveyChannel.EMAIL,
        planned_at=at - dt.timedelta(days=1),
        scheduled_for=at - dt.timedelta(days=1),
        sent_at=at - dt.timedelta(days=1),
        answered_at=at,
    )
    session.add(survey)
    session.flush()
    response = Response(
        survey_id=survey.id,
        score=score,
        category=Category.of_score(score),
        comment=comment,
        reason_tags=list(tags),
        provisional=False,
        source=ResponseSource.WEB,
        received_at=at,
        confirmed_at=at,
    )
    session.add(response)
    session.flush()
    if followup:
        session.add(
            FollowUp(
                response_id=response.id,
                dedup_key=f"followup:{response.id}",
                crm=Crm.SALESFORCE,
                crm_task_id=f"00T{number:015d}",
                owner_crm_id="005000000000001AAA",
                status=FollowUpStatus.OPEN,
                due_at=at + dt.timedelta(hours=24),
                created_at=at,
            )
        )
        session.flush()
    return response
