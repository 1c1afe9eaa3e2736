"""Follow-ups remember when an escalation reached a fallback person, or nobody.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `followups.escalation_fallback` (NULL: the person the tier names was found)."""
    with op.batch_alter_table("followups") as batch:
        batch.add_column(sa.Column("escalation_fallback", sa.String(32)))


def downgrade() -> None:
    """Drop what `upgrade` added."""
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("escalation_fallback")
