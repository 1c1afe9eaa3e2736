"""Count the re-sends of a send a crash cut off, so a message that kills the worker is reported
after a few instead of being re-sent forever.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `surveys.resends` (0 for every existing survey)."""
    with op.batch_alter_table("surveys") as batch:
        batch.add_column(
            sa.Column("resends", sa.SmallInteger(), nullable=False, server_default="0")
        )
        batch.create_check_constraint(op.f("ck_surveys_resends_not_negative"), "resends >= 0")


def downgrade() -> None:
    """Drop `surveys.resends`."""
    with op.batch_alter_table("surveys") as batch:
        batch.drop_constraint(op.f("ck_surveys_resends_not_negative"), type_="check")
        batch.drop_column("resends")
