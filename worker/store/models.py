"""SQLAlchemy models of the worker's state: CRM mirror, surveys, answers, follow-ups, outbox."""

import hashlib
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.ext.mutable import MutableDict, MutableList
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from worker.domain import Category
from worker.store.types import Identifier, UTCDateTime, json_document

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
"""Constraint names identical on SQLite and PostgreSQL, so migrations can name them."""

CRM_ID = 64
"""Room for Salesforce 18-character ids and HubSpot numeric ids alike."""


class Crm(StrEnum):
    """The CRM a record lives in."""

    SALESFORCE = "salesforce"
    HUBSPOT = "hubspot"


class SurveyState(StrEnum):
    """Where a survey is in its life: planned, then scheduled, sent, and answered or ended."""

    PLANNED = "planned"
    SCHEDULED = "scheduled"
    SENT = "sent"
    REMINDED = "reminded"
    ANSWERED = "answered"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


class SurveyChannel(StrEnum):
    """How a survey reaches the customer."""

    EMAIL = "email"
    CRM = "crm"
    WEBHOOK = "webhook"


class ResponseSource(StrEnum):
    """Where an answer came from."""

    WEB = "web"
    IMPORT = "import"
    WEBHOOK = "webhook"


class FollowUpStatus(StrEnum):
    """State of the loop-closing task: pending until the CRM task exists, then open to closed."""

    PENDING = "pending"
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class OutboxState(StrEnum):
    """Progress of one queued CRM write."""

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DONE = "done"
    FAILED = "failed"


class SuppressionReason(StrEnum):
    """Why an address must not be surveyed."""

    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FORGOTTEN = "forgotten"
    MANUAL = "manual"


def _enum(enum_class: type[StrEnum], column: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint named after the column."""
    return Enum(
        enum_class,
        name=column,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )


def _json_object() -> Any:
    """A JSON object column whose in-place key changes are tracked by the session."""
    return MutableDict.as_mutable(json_document())


def _json_list() -> Any:
    """A JSON array column whose in-place changes are tracked by the session."""
    return MutableList.as_mutable(json_document())


class Base(DeclarativeBase):
    """Declarative base sharing one MetaData with the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Account(Base):
    """Mirror of a CRM account (Salesforce Account, HubSpot company).

    An answer belongs to the account its contact belongs to now: a contact that moves takes its
    answers along, and both accounts' roll-ups are recomputed (``rollup_due_at``).
    """

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("crm", "crm_id"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    crm_id: Mapped[str] = mapped_column(String(CRM_ID))
    name: Mapped[str | None] = mapped_column(String(255))
    owner_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    fields: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    modified_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime]
    rollup_due_at: Mapped[datetime | None] = mapped_column(index=True)
    """Set with an answer (or a contact's move) that changes the roll-up; cleared when queued."""


class Contact(Base):
    """Mirror of a CRM contact, with what eligibility and write-backs need to know locally.

    ``fields`` holds the mapped segment fields and the last-known CRM values of the fields the
    worker writes back, so equal values are not written again. ``email`` is stored lower-cased
    by convention so lookups by address can use the index.
    """

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("crm", "crm_id"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    crm_id: Mapped[str] = mapped_column(String(CRM_ID))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    first_name: Mapped[str | None] = mapped_column(String(255))
    last_name: Mapped[str | None] = mapped_column(String(255))
    account_id: Mapped[int | None] = mapped_column(
        Identifier, ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    account_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID), index=True)
    owner_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    language: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    fields: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    modified_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime]


class TriggerRecord(Base):
    """Mirror of a record a program triggers on (case, ticket, deal, custom object).

    ``values`` holds the mapped trigger fields as last pulled; comparing a new pull with it
    tells which conditions just became true (``changed_to``).
    """

    __tablename__ = "trigger_records"
    __table_args__ = (UniqueConstraint("crm", "object", "crm_id"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    object: Mapped[str] = mapped_column(String(64))
    crm_id: Mapped[str] = mapped_column(String(CRM_ID))
    values: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    contact_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID), index=True)
    account_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID), index=True)
    modified_at: Mapped[datetime]
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    synced_at: Mapped[datetime]


class CrmEvent(Base):
    """A trigger-worthy change seen in the CRM; ``dedup_key`` makes each one fire once."""

    __tablename__ = "crm_events"
    __table_args__ = (Index(None, "crm", "object", "record_crm_id"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    object: Mapped[str] = mapped_column(String(64))
    record_crm_id: Mapped[str] = mapped_column(String(CRM_ID))
    kind: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    contact_id: Mapped[int | None] = mapped_column(
        Identifier, ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(
        Identifier, ForeignKey("accounts.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime]
    program: Mapped[str | None] = mapped_column(String(64))
    fire_at: Mapped[datetime | None]
    planned_at: Mapped[datetime | None] = mapped_column(index=True)


class Survey(Base):
    """One survey of one contact for one program; (program, crm_event_id) fires at most once."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("program", "crm_event_id"),
        Index(None, "contact_id", "sent_at"),
        Index(None, "state", "scheduled_for"),
        Index(None, "state", "sent_at"),
        Index(None, "state", "expires_at"),
        CheckConstraint("reminder_count >= 0", name="reminder_count_not_negative"),
        CheckConstraint("resends >= 0", name="resends_not_negative"),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    program: Mapped[str] = mapped_column(String(64))
    contact_id: Mapped[int] = mapped_column(Identifier, ForeignKey("contacts.id"))
    crm_event_id: Mapped[int | None] = mapped_column(Identifier, ForeignKey("crm_events.id"))
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[SurveyState] = mapped_column(_enum(SurveyState, "state"))
    state_reason: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[SurveyChannel] = mapped_column(_enum(SurveyChannel, "channel"))
    planned_at: Mapped[datetime]
    scheduled_for: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    reminder_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    expires_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    scanner_seen_at: Mapped[datetime | None]
    """When a link scanner was first seen opening this survey's links (e.g. the honeypot)."""
    resends: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    """How often the current send was sent again because a crash left its fate unknown."""


class Response(Base):
    """The answer to a survey; a provisional one (scanner click) is replaced by a human one.

    ``version`` grows with every change of the answer (each kept in ``response_versions``);
    the cycle handles a response again while ``version > handled_version``. ``chosen_tags``
    are the chips the person picked, ``reason_tags`` the final set the cycle writes, and
    ``reason_polarity`` maps each of them to "praise" or "complaint" (empty for answers
    handled before polarity was kept).
    """

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 10", name="score_range"),
        CheckConstraint(
            "(category = 'detractor' AND score <= 6)"
            " OR (category = 'passive' AND score IN (7, 8))"
            " OR (category = 'promoter' AND score >= 9)",
            name="category_matches_score",
        ),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    survey_id: Mapped[int] = mapped_column(Identifier, ForeignKey("surveys.id"), unique=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    category: Mapped[Category] = mapped_column(_enum(Category, "category"))
    comment: Mapped[str | None] = mapped_column(Text)
    reason_tags: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[ResponseSource] = mapped_column(_enum(ResponseSource, "source"))
    received_at: Mapped[datetime] = mapped_column(index=True)
    confirmed_at: Mapped[datetime | None]
    import_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    version: Mapped[int] = mapped_column(default=1)
    handled_version: Mapped[int] = mapped_column(default=0)
    chosen_tags: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    comment_summary: Mapped[str | None] = mapped_column(Text)
    reason_polarity: Mapped[dict[str, str]] = mapped_column(_json_object(), default=dict)
    followup_wanted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False for history brought in by `import` without `--follow-up`: no task, no ask."""


class ResponseVersion(Base):
    """One version of an answer, kept for audit; ``signals`` holds the link-scanner evidence.

    ``signals`` never holds a raw IP address or the user agent string, only their classes.
    """

    __tablename__ = "response_versions"
    __table_args__ = (
        UniqueConstraint("response_id", "version"),
        CheckConstraint("score BETWEEN 0 AND 10", name="score_range"),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    response_id: Mapped[int] = mapped_column(Identifier, ForeignKey("responses.id"))
    version: Mapped[int]
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    chosen_tags: Mapped[list[str]] = mapped_column(_json_list(), default=list)
    provisional: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[ResponseSource] = mapped_column(_enum(ResponseSource, "source"))
    received_at: Mapped[datetime]
    signals: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)


class FollowUp(Base):
    """The CRM task that closes the loop on one response, with its SLA and escalation."""

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("crm", "crm_task_id"),
        Index(None, "status", "due_at"),
        CheckConstraint("escalation_level >= 0", name="escalation_level_not_negative"),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    response_id: Mapped[int] = mapped_column(Identifier, ForeignKey("responses.id"), unique=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    crm_task_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    owner_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    status: Mapped[FollowUpStatus] = mapped_column(_enum(FollowUpStatus, "status"))
    due_at: Mapped[datetime]
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    escalated_at: Mapped[datetime | None]
    escalation_fallback: Mapped[str | None] = mapped_column(String(32))
    outcomes: Mapped[dict[str, Any] | None] = mapped_column(_json_object())
    """What the rep wrote on the task's outcome lines, by step ("1" apology … "5" fix)."""
    """Who the last escalation reached instead of the person its tier names: `fallback_manager`,
    `account_owner`, or `nobody` (an unowned escalation); NULL when that person was found."""
    first_contact_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class OutboxEntry(Base):
    """A pending CRM write, drained in batches with retries; ``dedup_key`` queues it once.

    While a row is ``in_flight``, ``next_attempt_at`` is when its claim lapses, so rows of a
    crashed drainer become claimable again through the same (state, next_attempt_at) index.
    A record's rows are found through ``record_crm_id``: an update merges into its record's
    pending one, looked up for every answer while a cycle's writes wait to be drained.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "state", "next_attempt_at"),
        Index(None, "record_crm_id", "object"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    object: Mapped[str] = mapped_column(String(64))
    record_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    op: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    essential: Mapped[bool] = mapped_column(Boolean, default=True)
    followup_id: Mapped[int | None] = mapped_column(
        Identifier, ForeignKey("followups.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[OutboxState] = mapped_column(_enum(OutboxState, "state"))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    result_crm_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]


class ChatAlert(Base):
    """An alert for one chat (Slack, Teams), kept until it is posted or given up.

    ``state`` is pending, sent or failed; ``dedup_key`` (event + chat) queues it once.
    ``message`` holds the title, lines and link as the chat will show them.
    """

    __tablename__ = "chat_alerts"
    __table_args__ = (Index(None, "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    chat: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    message: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    post_id: Mapped[str | None] = mapped_column(String(36))
    """The message it went out in (several alerts share one when batched)."""


class SyncCursor(Base):
    """Incremental-pull watermark per CRM object; ``last_id`` breaks ties within one timestamp."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("crm", "object"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    object: Mapped[str] = mapped_column(String(64))
    watermark: Mapped[datetime]
    last_id: Mapped[str | None] = mapped_column(String(CRM_ID))
    updated_at: Mapped[datetime]
    fields: Mapped[list[str] | None] = mapped_column(json_document(), nullable=True)
    """The fields the pull asked for (None: not recorded); a field missing here has never
    been read, so the next pull reads the whole object again."""


class DeletionCheck(Base):
    """When one object's deletions were last read in full, and the last reconcile by id.

    A CRM that forgets deletions after a while (Salesforce's recycle bin) cannot be asked for
    those older than its horizon: past it, the mirror is compared with the CRM's live ids.
    """

    __tablename__ = "deletion_checks"
    __table_args__ = (UniqueConstraint("crm", "object"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[Crm] = mapped_column(_enum(Crm, "crm"))
    object: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[datetime]
    reconciled_at: Mapped[datetime | None]
    reconciled: Mapped[int | None]


class Suppression(Base):
    """An address that must never be surveyed, kept as a hash so it survives a GDPR forget."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    email_hash: Mapped[str] = mapped_column(String(64), unique=True)
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason, "reason"))
    source: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]

    @staticmethod
    def hash_email(email: str) -> str:
        """The key an address is suppressed under: SHA-256 of the trimmed, lower-cased address."""
        return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


class AuditEntry(Base):
    """Who did what to personal data; ``subject`` names a record, never the person's data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)


class Lease(Base):
    """A named lease that one replica holds until ``expires_at`` (e.g. running the scheduler)."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class DecisionOutcome(StrEnum):
    """What planning decided for one contact and one event."""

    SEND = "send"
    DEFER = "defer"
    REFUSE = "refuse"


class SurveyDecision(Base):
    """Why a contact was or was not surveyed for an event: every check, for `explain`.

    One row per (event, contact), updated while the outcome is `defer` and final after.
    """

    __tablename__ = "survey_decisions"
    __table_args__ = (
        UniqueConstraint("crm_event_id", "contact_id"),
        Index(None, "contact_id", "decided_at"),
    )

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    program: Mapped[str] = mapped_column(String(64))
    crm_event_id: Mapped[int] = mapped_column(Identifier, ForeignKey("crm_events.id"))
    contact_id: Mapped[int | None] = mapped_column(
        Identifier, ForeignKey("contacts.id", ondelete="SET NULL")
    )
    outcome: Mapped[DecisionOutcome] = mapped_column(_enum(DecisionOutcome, "outcome"))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    checks: Mapped[list[Any]] = mapped_column(_json_list(), default=list)
    survey_id: Mapped[int | None] = mapped_column(Identifier, ForeignKey("surveys.id"))
    decided_at: Mapped[datetime]


class ProgramRun(Base):
    """When a scheduled program last fired, so each period fires once (relationship NPS)."""

    __tablename__ = "program_runs"

    program: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_fire_at: Mapped[datetime]


class CycleRun(Base):
    """One cycle step run per CRM, for `status`: when, how it ended, what it did."""

    __tablename__ = "cycle_runs"
    __table_args__ = (Index(None, "crm", "started_at"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    crm: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    stats: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class BacklogStatus(StrEnum):
    """Where an improvement item stands: open, being worked on, done, or dropped."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class BacklogItem(Base):
    """An improvement the product team committed to for one reason theme (the outer loop).

    At most one item per theme is open or in progress at a time (kept by `worker.backlog`).
    `baseline` and `target` are the theme's detractor share when planned and the share that
    counts as done, in points.
    """

    __tablename__ = "backlog_items"
    __table_args__ = (Index(None, "theme", "status"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    theme: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(255))
    due_on: Mapped[date]
    status: Mapped[BacklogStatus] = mapped_column(_enum(BacklogStatus, "status"))
    done_on: Mapped[date | None]
    baseline: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BacklogLink(Base):
    """An answer that cites an item's theme: the customers an item answers to."""

    __tablename__ = "backlog_links"
    __table_args__ = (UniqueConstraint("item_id", "response_id"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    item_id: Mapped[int] = mapped_column(Identifier, ForeignKey("backlog_items.id"))
    response_id: Mapped[int] = mapped_column(Identifier, ForeignKey("responses.id"), index=True)


class BacklogEvent(Base):
    """One change to an item (created, assigned, status, imported), for the weekly digest."""

    __tablename__ = "backlog_events"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    item_id: Mapped[int] = mapped_column(Identifier, ForeignKey("backlog_items.id"), index=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)


class BacklogNotice(Base):
    """A "you said, we did" e-mail to one contact about one item: sent at most once."""

    __tablename__ = "backlog_notices"
    __table_args__ = (UniqueConstraint("item_id", "contact_id"),)

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    item_id: Mapped[int] = mapped_column(Identifier, ForeignKey("backlog_items.id"))
    contact_id: Mapped[int] = mapped_column(
        Identifier, ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    sent_at: Mapped[datetime]


class Intervention(Base):
    """A change RevOps made on a date ("onboarding training revamped"), optionally in a segment.

    `dimension`/`value` name the slice it targets (`touchpoint`/`onboarding`); none: everyone.
    """

    __tablename__ = "interventions"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    happened_on: Mapped[date]
    dimension: Mapped[str | None] = mapped_column(String(100))
    value: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class DigestRun(Base):
    """One weekly review pack sent, keyed by its scheduled time, so it goes out once."""

    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(Identifier, primary_key=True)
    scheduled_for: Mapped[datetime] = mapped_column(unique=True)
    sent_at: Mapped[datetime]
    stats: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)


class JobRun(Base):
    """The last run of one scheduled job (the daily work), for `status` to tell it is late."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    last_ok_at: Mapped[datetime | None]
    """When the last run that ended well started."""
    stats: Mapped[dict[str, Any]] = mapped_column(_json_object(), default=dict)
