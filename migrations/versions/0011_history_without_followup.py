"""Mark answers imported as history: they feed analytics and the contact's fields, but open no
follow-up task (a years-old detractor's task would be overdue, and escalated, at birth).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `responses.followup_wanted` (true for every existing answer)."""
    with op.batch_alter_table("responses") as batch:
        batch.add_column(
            sa.Column("followup_wanted", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    """Drop `responses.followup_wanted`."""
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("followup_wanted")
