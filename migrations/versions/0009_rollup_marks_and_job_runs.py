"""Accounts marked for a roll-up with their answers; the last run of each scheduled job.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add `accounts.rollup_due_at` and `job_runs`."""
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("rollup_due_at", TIMESTAMP))
        batch.create_index("ix_accounts_rollup_due_at", ["rollup_due_at"])
    op.create_table(
        "job_runs",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("last_ok_at", TIMESTAMP),
        sa.Column("stats", JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_job_runs"),
    )


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_table("job_runs")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_index("ix_accounts_rollup_due_at")
        batch.drop_column("rollup_due_at")
