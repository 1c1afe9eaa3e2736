"""Polarity per reason tag: `responses.reason_polarity` maps each tag to praise or complaint.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    """Add `responses.reason_polarity`; answers handled before it have none ({})."""
    with op.batch_alter_table("responses") as batch:
        batch.add_column(
            sa.Column("reason_polarity", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    with op.batch_alter_table("responses") as batch:
        batch.alter_column("reason_polarity", server_default=None)


def downgrade() -> None:
    """Drop what `upgrade` added."""
    with op.batch_alter_table("responses") as batch:
        batch.drop_column("reason_polarity")
