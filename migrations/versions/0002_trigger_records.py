"""Mirror trigger objects, and keep each contact's account id as the CRM gives it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)
CRM_ID = sa.String(64)


def upgrade() -> None:
    """Add `trigger_records` and `contacts.account_crm_id`."""
    op.create_table(
        "trigger_records",
        sa.Column("id", ID, nullable=False),
        sa.Column("crm", sa.String(16), nullable=False),
        sa.Column("object", sa.String(64), nullable=False),
        sa.Column("crm_id", CRM_ID, nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("contact_crm_id", CRM_ID),
        sa.Column("account_crm_id", CRM_ID),
        sa.Column("modified_at", TIMESTAMP, nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("synced_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_trigger_records"),
        sa.UniqueConstraint("crm", "object", "crm_id", name="uq_trigger_records_crm_object_crm_id"),
        sa.CheckConstraint("crm IN ('salesforce', 'hubspot')", name=op.f("ck_trigger_records_crm")),
    )
    op.create_index("ix_trigger_records_contact_crm_id", "trigger_records", ["contact_crm_id"])
    op.create_index("ix_trigger_records_account_crm_id", "trigger_records", ["account_crm_id"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("account_crm_id", CRM_ID))
        batch.create_index("ix_contacts_account_crm_id", ["account_crm_id"])


def downgrade() -> None:
    """Drop what `upgrade` added."""
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_account_crm_id")
        batch.drop_column("account_crm_id")
    op.drop_index("ix_trigger_records_account_crm_id", table_name="trigger_records")
    op.drop_index("ix_trigger_records_contact_crm_id", table_name="trigger_records")
    op.drop_table("trigger_records")
