"""Index the outbox by record: an update merges into its record's pending one, and that
look-up read every pending row, so a cycle's write-backs cost the square of its answers.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add `ix_outbox_record_crm_id_object`."""
    op.create_index("ix_outbox_record_crm_id_object", "outbox", ["record_crm_id", "object"])


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_index("ix_outbox_record_crm_id_object", table_name="outbox")
