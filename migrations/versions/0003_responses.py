"""Answers change over time: response versions, chosen chips, handling marks, scanner evidence.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add `response_versions`, the new `responses` columns and `surveys.scanner_seen_at`."""
    with op.batch_alter_table("responses") as batch:
        # Server defaults fill rows answered before this revision; the models set values.
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(
            sa.Column("handled_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column("chosen_tags", JSON, nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(sa.Column("comment_summary", sa.Text()))
    with op.batch_alter_table("responses") as batch:
        batch.alter_column("version", server_default=None)
        batch.alter_column("handled_version", server_default=None)
        batch.alter_column("chosen_tags", server_default=None)
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(sa.Column("scanner_seen_at", TIMESTAMP))
    op.create_table(
        "response_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("response_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text()),
        sa.Column("chosen_tags", JSON, nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("signals", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_response_versions"),
        sa.UniqueConstraint(
            "response_id", "version", name="uq_response_versions_response_id_version"
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["responses.id"], name="fk_response_versions_response_id_responses"
        ),
        sa.CheckConstraint("score BETWEEN 0 AND 10", name=op.f("ck_response_versions_score_range")),
        sa.CheckConstraint(
            "source IN ('web', 'import', 'webhook')", name=op.f("ck_response_versions_source")
        ),
    )


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_table("response_versions")
    with op.batch_alter_table("surveys") as batch:
        batch.drop_column("scanner_seen_at")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("comment_summary")
        batch.drop_column("chosen_tags")
        batch.drop_column("handled_version")
        batch.drop_column("version")
