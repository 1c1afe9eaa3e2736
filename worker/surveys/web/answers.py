"""Answers in the store: provisional clicks, confirmed answers, their versions, unsubscribes.

Every function works inside the caller's transaction and never commits, so the web app can
commit before it says "thanks" (promise 4) and the cycle can finalize inside its own.
Writers call `lock_survey` first: on PostgreSQL it row-locks the survey (SELECT … FOR UPDATE),
so two writers of one survey take turns and the second reads what the first committed. On
SQLite a writing transaction holds the database write lock from its start (BEGIN IMMEDIATE, see
`worker.store.engine`), so the same read is already the locked one.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from worker.config import Config
from worker.domain import Category
from worker.store.models import (
    Contact,
    Response,
    ResponseSource,
    ResponseVersion,
    Suppression,
    SuppressionReason,
    Survey,
    SurveyState,
)
from worker.surveys.web.scanners import BURST_WINDOW, click_evidence, may_become_final

FINALIZED = "finalized"
"""Signal of a version the cycle made final from a click, not a person's submit."""

CLOSED_STATES = frozenset({SurveyState.EXPIRED, SurveyState.SUPPRESSED, SurveyState.FAILED})
"""Surveys in these states take no answers, whatever their token says."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What a person submitted on the page (already validated)."""

    score: int
    chosen_tags: tuple[str, ...]
    comment: str | None


class Outcome(StrEnum):
    """What recording an answer did, for the metrics and the logs."""

    ANSWERED = "answered"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    PROVISIONAL = "provisional"
    HONEYPOT = "honeypot"
    STALE = "stale"
    """Refused: the person saved another answer after the posted page was shown."""


def find_survey(session: Session, token_id: str) -> Survey | None:
    """The survey a verified token names, or None."""
    return session.scalars(select(Survey).where(Survey.token_id == token_id)).one_or_none()


def lock_survey(session: Session, token_id: str) -> Survey | None:
    """The survey a token names, locked for writing until the transaction ends (one statement)."""
    return session.scalars(
        select(Survey)
        .where(Survey.token_id == token_id)
        .with_for_update(of=Survey)
        .execution_options(populate_existing=True)
    ).one_or_none()


def is_open(survey: Survey, now: datetime) -> bool:
    """Whether the survey still takes answers at `now`."""
    if survey.state in CLOSED_STATES:
        return False
    return survey.expires_at is None or now < survey.expires_at


def response_of(session: Session, survey: Survey) -> Response | None:
    """The survey's one response, if any."""
    return session.scalars(select(Response).where(Response.survey_id == survey.id)).one_or_none()


def record_click(
    session: Session, survey: Survey, score: int, user_agent: str | None, now: datetime
) -> Outcome:
    """Record a score clicked in the e-mail as provisional, with the scanner evidence it showed.

    A confirmed answer is never overwritten by a click: only a POST from the page changes it.
    """
    response = response_of(session, survey)
    if response is not None and not response.provisional:
        return Outcome.UNCHANGED
    recent: list[int] = []
    if response is not None:
        recent = list(
            session.scalars(
                select(ResponseVersion.score).where(
                    ResponseVersion.response_id == response.id,
                    ResponseVersion.provisional.is_(True),
                    ResponseVersion.received_at >= now - BURST_WINDOW,
                )
            )
        )
    delivered = max((t for t in (survey.sent_at, survey.reminded_at) if t), default=None)
    evidence = click_evidence(user_agent, delivered, score, recent, now)
    signals = evidence.as_signals()
    click = Answer(score, (), None)
    _set_answer(session, survey, response, click, provisional=True, signals=signals, now=now)
    return Outcome.PROVISIONAL


def record_answer(
    session: Session,
    survey: Survey,
    answer: Answer,
    now: datetime,
    source: ResponseSource = ResponseSource.WEB,
    *,
    shown_version: int | None = None,
) -> Outcome:
    """Record a person's answer as final; a later one updates it, each version kept.

    `shown_version` is the answer version the posted page showed: when the person saved
    another answer since, the post is an old form sent again (a replay, a stale tab) and is
    refused as `STALE`, unless it says what is stored already.
    """
    response = response_of(session, survey)
    if (
        response is not None
        and not response.provisional
        and (response.score, tuple(response.chosen_tags), response.comment)
        == (answer.score, answer.chosen_tags, answer.comment)
    ):
        return Outcome.UNCHANGED
    if shown_version is not None and _saved_since(session, response, shown_version):
        return Outcome.STALE
    outcome = Outcome.ANSWERED if response is None or response.provisional else Outcome.UPDATED
    _set_answer(
        session, survey, response, answer, provisional=False, signals={}, now=now, source=source
    )
    return outcome


def _saved_since(session: Session, response: Response | None, version: int) -> bool:
    """Whether a person saved an answer after `version`: clicks, and clicks the cycle made
    final, do not count (a scanner's fetch must not lock the person out of their own form)."""
    if response is None or response.version <= version:
        return False
    later = session.scalars(
        select(ResponseVersion.signals).where(
            ResponseVersion.response_id == response.id,
            ResponseVersion.version > version,
            ResponseVersion.provisional.is_(False),
        )
    )
    return any(FINALIZED not in signals for signals in later)


def _set_answer(
    session: Session,
    survey: Survey,
    response: Response | None,
    answer: Answer,
    *,
    provisional: bool,
    signals: dict[str, object],
    now: datetime,
    source: ResponseSource = ResponseSource.WEB,
    received_at: datetime | None = None,
) -> Response:
    """Write `answer` as the response's next version, and the survey as answered when final.

    `received_at` is when the person gave the answer, when that is not `now` (a click made
    final later keeps the time of the click).
    """
    answered_at = received_at or now
    if response is None:
        response = Response(survey_id=survey.id, version=0, handled_version=0, reason_tags=[])
        session.add(response)
    response.version += 1
    response.score = answer.score
    response.category = Category.of_score(answer.score)
    response.chosen_tags = list(answer.chosen_tags)
    response.comment = answer.comment
    response.provisional = provisional
    response.source = source
    response.received_at = answered_at
    if not provisional:
        response.confirmed_at = now
        survey.state = SurveyState.ANSWERED
        survey.answered_at = survey.answered_at or answered_at
    session.flush()
    session.add(
        ResponseVersion(
            response_id=response.id,
            version=response.version,
            score=answer.score,
            comment=answer.comment,
            chosen_tags=list(answer.chosen_tags),
            provisional=provisional,
            source=source,
            received_at=answered_at,
            signals=signals,
        )
    )
    return response


def mark_script_ran(session: Session, survey: Survey, version: int) -> bool:
    """Note that the page showing provisional `version` ran its script: a browser, not a fetch."""
    row = session.scalars(
        select(ResponseVersion)
        .join(Response, Response.id == ResponseVersion.response_id)
        .where(Response.survey_id == survey.id, ResponseVersion.version == version)
    ).one_or_none()
    if row is None or not row.provisional:
        return False
    row.signals["script_ran"] = True
    return True


def mark_scanner_seen(session: Session, survey: Survey, now: datetime) -> None:
    """Note that a scanner opened this survey's links (it followed the honeypot)."""
    survey.scanner_seen_at = survey.scanner_seen_at or now


def finalize_provisional(session: Session, config: Config, now: datetime) -> int:
    """Make final the provisional scores older than `survey.provisional_after` that look human.

    Called by the cycle inside its transaction (the caller commits); returns how many became
    final. The answer keeps the time of the click (what the CRM shows as answered), while
    `confirmed_at` says when it became final (the follow-up SLA runs from then). A score that
    looked like a scanner's stays provisional for good: only the person's own submit on the
    page can make it count.
    """
    due = session.execute(
        select(Response, Survey, ResponseVersion)
        .join(Survey, Survey.id == Response.survey_id)
        .join(
            ResponseVersion,
            (ResponseVersion.response_id == Response.id)
            & (ResponseVersion.version == Response.version),
        )
        .where(
            Response.provisional.is_(True),
            Response.received_at <= now - config.survey.provisional_after,
        )
        .with_for_update(of=Response, skip_locked=True)
    ).all()
    finalized = 0
    for response, survey, latest in due:
        if not may_become_final(dict(latest.signals), survey.scanner_seen_at is not None):
            continue
        answer = Answer(response.score, tuple(response.chosen_tags), response.comment)
        signals: dict[str, object] = {FINALIZED: "unconfirmed"}
        _set_answer(
            session,
            survey,
            response,
            answer,
            provisional=False,
            signals=signals,
            now=now,
            received_at=response.received_at,
        )
        finalized += 1
    return finalized


def unsubscribe(session: Session, survey: Survey, now: datetime) -> bool:
    """Suppress the survey's contact's address; False when it was suppressed already."""
    contact = session.get(Contact, survey.contact_id)
    if contact is None or not contact.email:
        return False
    email_hash = Suppression.hash_email(contact.email)
    exists = session.scalars(
        select(Suppression.id).where(Suppression.email_hash == email_hash)
    ).first()
    if exists is not None:
        return False
    session.add(
        Suppression(
            email_hash=email_hash,
            reason=SuppressionReason.UNSUBSCRIBED,
            source="web",
            created_at=now,
        )
    )
    session.flush()
    return True
