"""Chat alerts waiting to be posted to Slack or Teams, so a failed post is retried, not lost;
the outcomes a rep records on a follow-up task.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add `chat_alerts` and `followups.outcomes`."""
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("outcomes", JSON))
    op.create_table(
        "chat_alerts",
        sa.Column("id", ID, nullable=False),
        sa.Column("chat", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=False),
        sa.Column("message", JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP),
        sa.Column("post_id", sa.String(36)),
        sa.PrimaryKeyConstraint("id", name="pk_chat_alerts"),
        sa.UniqueConstraint("dedup_key", name="uq_chat_alerts_dedup_key"),
    )
    op.create_index(
        "ix_chat_alerts_state_next_attempt_at", "chat_alerts", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_index("ix_chat_alerts_state_next_attempt_at", table_name="chat_alerts")
    op.drop_table("chat_alerts")
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("outcomes")
