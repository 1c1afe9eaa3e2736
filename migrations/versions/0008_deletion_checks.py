"""When each object's deletions were last read, and when they were last reconciled by id.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add `deletion_checks`."""
    op.create_table(
        "deletion_checks",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("checked_at", TIMESTAMP, nullable=False),
        sa.Column("reconciled_at", TIMESTAMP),
        sa.Column("reconciled", sa.Integer()),
        sa.PrimaryKeyConstraint("id", name="pk_deletion_checks"),
        sa.UniqueConstraint("crm", "object", name="uq_deletion_checks_crm_object"),
        sa.CheckConstraint("crm IN ('salesforce', 'hubspot')", name=op.f("ck_deletion_checks_crm")),
    )


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_table("deletion_checks")
