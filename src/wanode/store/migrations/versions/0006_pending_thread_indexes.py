"""outbox claims: partial indexes over pending rows for the in-order probe

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 14:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING_ONLY = sa.text("state = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_dr_deliveries_pending_thread",
        "dr_deliveries",
        ["transid", "id"],
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    )
    op.create_index(
        "ix_event_deliveries_pending_thread",
        "event_deliveries",
        ["subscription_id", "wa_id", "id"],
        sqlite_where=PENDING_ONLY,
        postgresql_where=PENDING_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_event_deliveries_pending_thread", table_name="event_deliveries")
    op.drop_index("ix_dr_deliveries_pending_thread", table_name="dr_deliveries")
