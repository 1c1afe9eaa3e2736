"""State of the loop: planning decisions, scheduled-program runs, cycle runs, event timing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add `survey_decisions`, `program_runs`, `cycle_runs` and event program/timing columns."""
    with op.batch_alter_table("crm_events") as batch:
        batch.add_column(sa.Column("program", sa.String(64)))
        batch.add_column(sa.Column("fire_at", TIMESTAMP))
        batch.add_column(sa.Column("planned_at", TIMESTAMP))
        batch.create_index("ix_crm_events_planned_at", ["planned_at"])
    op.create_table(
        "survey_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("program", sa.String(64), nullable=False),
        sa.Column("crm_event_id", ID, nullable=False),
        sa.Column("contact_id", ID),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64)),
        sa.Column("checks", JSON, nullable=False),
        sa.Column("survey_id", ID),
        sa.Column("decided_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_survey_decisions"),
        sa.ForeignKeyConstraint(
            ["crm_event_id"], ["crm_events.id"], name="fk_survey_decisions_crm_event_id_crm_events"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_survey_decisions_contact_id_contacts",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"], ["surveys.id"], name="fk_survey_decisions_survey_id_surveys"
        ),
        sa.UniqueConstraint(
            "crm_event_id", "contact_id", name="uq_survey_decisions_crm_event_id_contact_id"
        ),
        sa.CheckConstraint(
            "outcome IN ('send', 'defer', 'refuse')", name=op.f("ck_survey_decisions_outcome")
        ),
    )
    op.create_index(
        "ix_survey_decisions_contact_id_decided_at",
        "survey_decisions",
        ["contact_id", "decided_at"],
    )
    op.create_table(
        "program_runs",
        sa.Column("program", sa.String(64), nullable=False),
        sa.Column("last_fire_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("program", name="pk_program_runs"),
    )
    op.create_table(
        "cycle_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(32), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("stats", JSON, nullable=False),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_cycle_runs"),
    )
    op.create_index("ix_cycle_runs_crm_started_at", "cycle_runs", ["crm", "started_at"])


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_index("ix_cycle_runs_crm_started_at", table_name="cycle_runs")
    op.drop_table("cycle_runs")
    op.drop_table("program_runs")
    op.drop_index("ix_survey_decisions_contact_id_decided_at", table_name="survey_decisions")
    op.drop_table("survey_decisions")
    with op.batch_alter_table("crm_events") as batch:
        batch.drop_index("ix_crm_events_planned_at")
        batch.drop_column("planned_at")
        batch.drop_column("fire_at")
        batch.drop_column("program")
