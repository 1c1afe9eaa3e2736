"""Initial schema: CRM mirror, events, surveys, responses, follow-ups, outbox, cursors, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the model column types, so this file never changes when the models do.
# CHECK names go through op.f(): env.py hands Alembic the models' naming convention, which would
# otherwise prefix an explicit CHECK name a second time.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
CRM_ID = sa.String(64)
CRMS = ("salesforce", "hubspot")


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    """The ``id`` primary key, named as the models' naming convention names it."""
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _one_of(table: str, column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    """The CHECK behind a model enum column (VARCHAR(16), no native PostgreSQL enum)."""
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_{table}_{column}"))


def upgrade() -> None:
    """Create every table of the worker's state."""
    op.create_table(
        "accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("crm_id", CRM_ID, nullable=False),
        sa.Column("name", sa.String(255)),
        sa.Column("owner_crm_id", CRM_ID),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("modified_at", TIMESTAMP, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("synced_at", TIMESTAMP, nullable=False),
        _pk("accounts"),
        sa.UniqueConstraint("crm", "crm_id", name="uq_accounts_crm_crm_id"),
        _one_of("accounts", "crm", CRMS),
    )

    op.create_table(
        "contacts",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("crm_id", CRM_ID, nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("first_name", sa.String(255)),
        sa.Column("last_name", sa.String(255)),
        sa.Column("account_id", ID),
        sa.Column("owner_crm_id", CRM_ID),
        sa.Column("language", sa.String(16)),
        sa.Column("time_zone", sa.String(64)),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("modified_at", TIMESTAMP, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("synced_at", TIMESTAMP, nullable=False),
        _pk("contacts"),
        sa.UniqueConstraint("crm", "crm_id", name="uq_contacts_crm_crm_id"),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_contacts_account_id_accounts",
            ondelete="SET NULL",
        ),
        _one_of("contacts", "crm", CRMS),
    )
    op.create_index("ix_contacts_account_id", "contacts", ["account_id"])
    op.create_index("ix_contacts_email", "contacts", ["email"])

    op.create_table(
        "crm_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_crm_id", CRM_ID, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("contact_id", ID),
        sa.Column("account_id", ID),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _pk("crm_events"),
        sa.UniqueConstraint("dedup_key", name="uq_crm_events_dedup_key"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_crm_events_contact_id_contacts",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name="fk_crm_events_account_id_accounts",
            ondelete="SET NULL",
        ),
        _one_of("crm_events", "crm", CRMS),
    )
    op.create_index(
        "ix_crm_events_crm_object_record_crm_id", "crm_events", ["crm", "object", "record_crm_id"]
    )
    op.create_index("ix_crm_events_occurred_at", "crm_events", ["occurred_at"])
    op.create_index("ix_crm_events_contact_id", "crm_events", ["contact_id"])
    op.create_index("ix_crm_events_account_id", "crm_events", ["account_id"])

    op.create_table(
        "surveys",
        sa.Column("id", ID, nullable=False),
        sa.Column("program", sa.String(64), nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("crm_event_id", ID),
        sa.Column("token_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_reason", sa.String(255)),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("planned_at", TIMESTAMP, nullable=False),
        sa.Column("scheduled_for", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP),
        sa.Column("reminded_at", TIMESTAMP),
        sa.Column("reminder_count", sa.SmallInteger(), nullable=False),
        sa.Column("expires_at", TIMESTAMP),
        sa.Column("answered_at", TIMESTAMP),
        _pk("surveys"),
        sa.UniqueConstraint("token_id", name="uq_surveys_token_id"),
        sa.UniqueConstraint("program", "crm_event_id", name="uq_surveys_program_crm_event_id"),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name="fk_surveys_contact_id_contacts"
        ),
        sa.ForeignKeyConstraint(
            ["crm_event_id"], ["crm_events.id"], name="fk_surveys_crm_event_id_crm_events"
        ),
        _one_of(
            "surveys",
            "state",
            (
                "planned",
                "scheduled",
                "sent",
                "reminded",
                "answered",
                "expired",
                "suppressed",
                "failed",
            ),
        ),
        _one_of("surveys", "channel", ("email", "crm", "webhook")),
        sa.CheckConstraint(
            "reminder_count >= 0", name=op.f("ck_surveys_reminder_count_not_negative")
        ),
    )
    op.create_index("ix_surveys_contact_id_sent_at", "surveys", ["contact_id", "sent_at"])
    op.create_index("ix_surveys_state_scheduled_for", "surveys", ["state", "scheduled_for"])
    op.create_index("ix_surveys_state_sent_at", "surveys", ["state", "sent_at"])
    op.create_index("ix_surveys_state_expires_at", "surveys", ["state", "expires_at"])

    op.create_table(
        "responses",
        sa.Column("id", ID, nullable=False),
        sa.Column("survey_id", ID, nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("reason_tags", JSON, nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("confirmed_at", TIMESTAMP),
        sa.Column("import_key", sa.String(255)),
        _pk("responses"),
        sa.UniqueConstraint("survey_id", name="uq_responses_survey_id"),
        sa.UniqueConstraint("import_key", name="uq_responses_import_key"),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name="fk_responses_survey_id_surveys"
        ),
        sa.CheckConstraint("score BETWEEN 0 AND 10", name=op.f("ck_responses_score_range")),
        sa.CheckConstraint(
            "(category = 'detractor' AND score <= 6)"
            " OR (category = 'passive' AND score IN (7, 8))"
            " OR (category = 'promoter' AND score >= 9)",
            name=op.f("ck_responses_category_matches_score"),
        ),
        _one_of("responses", "category", ("detractor", "passive", "promoter")),
        _one_of("responses", "source", ("web", "import", "webhook")),
    )
    op.create_index("ix_responses_received_at", "responses", ["received_at"])

    op.create_table(
        "followups",
        sa.Column("id", ID, nullable=False),
        sa.Column("response_id", ID, nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("crm_task_id", CRM_ID),
        sa.Column("owner_crm_id", CRM_ID),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("escalation_level", sa.SmallInteger(), nullable=False),
        sa.Column("escalated_at", TIMESTAMP),
        sa.Column("first_contact_at", TIMESTAMP),
        sa.Column("closed_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _pk("followups"),
        sa.UniqueConstraint("response_id", name="uq_followups_response_id"),
        sa.UniqueConstraint("dedup_key", name="uq_followups_dedup_key"),
        sa.UniqueConstraint("crm", "crm_task_id", name="uq_followups_crm_crm_task_id"),
        sa.ForeignKeyConstraint(
            ["response_id"], ["responses.id"], name="fk_followups_response_id_responses"
        ),
        _one_of("followups", "crm", CRMS),
        _one_of("followups", "status", ("pending", "open", "in_progress", "closed", "cancelled")),
        sa.CheckConstraint(
            "escalation_level >= 0", name=op.f("ck_followups_escalation_level_not_negative")
        ),
    )
    op.create_index("ix_followups_status_due_at", "followups", ["status", "due_at"])

    op.create_table(
        "outbox",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("record_crm_id", CRM_ID),
        sa.Column("op", sa.String(32), nullable=False),
        sa.Column("fields", JSON, nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("essential", sa.Boolean(), nullable=False),
        sa.Column("followup_id", ID),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("result_crm_id", CRM_ID),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("done_at", TIMESTAMP),
        _pk("outbox"),
        sa.UniqueConstraint("dedup_key", name="uq_outbox_dedup_key"),
        sa.ForeignKeyConstraint(
            ["followup_id"],
            ["followups.id"],
            name="fk_outbox_followup_id_followups",
            ondelete="SET NULL",
        ),
        _one_of("outbox", "crm", CRMS),
        _one_of("outbox", "state", ("pending", "in_flight", "done", "failed")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_not_negative")),
    )
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_followup_id", "outbox", ["followup_id"])

    op.create_table(
        "sync_cursors",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("watermark", TIMESTAMP, nullable=False),
        sa.Column("last_id", CRM_ID),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _pk("sync_cursors"),
        sa.UniqueConstraint("crm", "object", name="uq_sync_cursors_crm_object"),
        _one_of("sync_cursors", "crm", CRMS),
    )

    op.create_table(
        "suppressions",
        sa.Column("id", ID, nullable=False),
        sa.Column("email_hash", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        _pk("suppressions"),
        sa.UniqueConstraint("email_hash", name="uq_suppressions_email_hash"),
        _one_of(
            "suppressions",
            "reason",
            ("unsubscribed", "bounced", "complained", "forgotten", "manual"),
        ),
    )

    op.create_table(
        "audit_log",
        sa.Column("id", ID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("details", JSON, nullable=False),
        _pk("audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])

    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("acquired_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_scheduler_lease"),
    )


def downgrade() -> None:
    """Drop every table, children before parents; their indexes go with them."""
    for table in (
        "scheduler_lease",
        "audit_log",
        "suppressions",
        "sync_cursors",
        "outbox",
        "followups",
        "responses",
        "surveys",
        "crm_events",
        "contacts",
        "accounts",
    ):
        op.drop_table(table)
