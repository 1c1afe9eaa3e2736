"""Mark answers imported as history: they feed analytics and the contact's fields, but open no
follow-up task (a years-old detractor's task would be overdue, and escalated, at birth). And
remember which fields each object's pull asked for, so a field added to the config later (an
audience on `contact.Region__c`) is read for every record, not only for those that change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add `responses.followup_wanted` (true for every existing answer) and
    `sync_cursors.fields` (unknown, null, for existing cursors)."""
    with op.batch_alter_table("responses") as batch:
        batch.add_column(
            sa.Column("followup_wanted", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    with op.batch_alter_table("sync_cursors") as batch:
        batch.add_column(sa.Column("fields", JSON, nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("sync_cursors") as batch:
        batch.drop_column("fields")
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("followup_wanted")
