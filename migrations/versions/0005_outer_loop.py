"""The outer loop's state: improvement backlog, interventions, weekly digest runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the backlog tables, `interventions` and `digest_runs`."""
    op.create_table(
        "backlog_items",
        sa.Column("id", ID, nullable=False),
        sa.Column("theme", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done_on", sa.Date()),
        sa.Column("baseline", sa.Float()),
        sa.Column("target", sa.Float()),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backlog_items"),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'done', 'dropped')",
            name=op.f("ck_backlog_items_status"),
        ),
    )
    op.create_index("ix_backlog_items_theme_status", "backlog_items", ["theme", "status"])
    op.create_table(
        "backlog_links",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("response_id", ID, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backlog_links"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["backlog_items.id"], name="fk_backlog_links_item_id_backlog_items"
        ),
        sa.ForeignKeyConstraint(
            ["response_id"], ["responses.id"], name="fk_backlog_links_response_id_responses"
        ),
        sa.UniqueConstraint("item_id", "response_id", name="uq_backlog_links_item_id_response_id"),
    )
    op.create_index("ix_backlog_links_response_id", "backlog_links", ["response_id"])
    op.create_table(
        "backlog_events",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backlog_events"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["backlog_items.id"], name="fk_backlog_events_item_id_backlog_items"
        ),
    )
    op.create_index("ix_backlog_events_at", "backlog_events", ["at"])
    op.create_index("ix_backlog_events_item_id", "backlog_events", ["item_id"])
    op.create_table(
        "backlog_notices",
        sa.Column("id", ID, nullable=False),
        sa.Column("item_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backlog_notices"),
        sa.ForeignKeyConstraint(
            ["item_id"], ["backlog_items.id"], name="fk_backlog_notices_item_id_backlog_items"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name="fk_backlog_notices_contact_id_contacts",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("item_id", "contact_id", name="uq_backlog_notices_item_id_contact_id"),
    )
    op.create_index("ix_backlog_notices_contact_id", "backlog_notices", ["contact_id"])
    op.create_table(
        "interventions",
        sa.Column("id", ID, nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(100)),
        sa.Column("value", sa.String(255)),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interventions"),
    )
    op.create_table(
        "digest_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("scheduled_for", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.Column("stats", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_digest_runs"),
        sa.UniqueConstraint("scheduled_for", name="uq_digest_runs_scheduled_for"),
    )


def downgrade() -> None:
    """Drop what `upgrade` added."""
    op.drop_table("digest_runs")
    op.drop_table("interventions")
    op.drop_index("ix_backlog_notices_contact_id", table_name="backlog_notices")
    op.drop_table("backlog_notices")
    op.drop_index("ix_backlog_events_item_id", table_name="backlog_events")
    op.drop_index("ix_backlog_events_at", table_name="backlog_events")
    op.drop_table("backlog_events")
    op.drop_index("ix_backlog_links_response_id", table_name="backlog_links")
    op.drop_table("backlog_links")
    op.drop_index("ix_backlog_items_theme_status", table_name="backlog_items")
    op.drop_table("backlog_items")
