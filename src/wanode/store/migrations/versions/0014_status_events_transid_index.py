"""drop the status history's index on transid alone: its unique (transid, status) serves the
same lookups

Every status wrote one entry in each of the history's indexes; `ix_status_events_transid`
held the first column of the unique constraint's index, so it answered nothing that index
does not (a message's history is found by its transid in either), and it cost an index page
per row written.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 21:40:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_status_events_transid", table_name="status_events")


def downgrade() -> None:
    op.create_index("ix_status_events_transid", "status_events", ["transid"])
