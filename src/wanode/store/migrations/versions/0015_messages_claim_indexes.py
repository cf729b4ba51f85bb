"""the dispatcher's claims through two partial indexes instead of `ix_messages_dispatch`

`ix_messages_dispatch` (status, next_attempt_at) held every message, and every update of a
message wrote an entry in it. A claim walked its queued range in order: past the rows earlier
claims still held (their sends on their way) and, on PostgreSQL, past the versions their
updates left behind, some 3,600 entries a claim in a campaign of 3,000 messages.
`ix_messages_due` holds the queued rows that no claim holds, by when they are due;
`ix_messages_leased` the held ones, by when their lease runs out. A message leaves both once it
is no longer queued.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 10:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_DUE = "status = 'queued' AND lease_until IS NULL"
_LEASED = "status = 'queued' AND lease_until IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_messages_due",
        "messages",
        ["next_attempt_at"],
        sqlite_where=sa.text(_DUE),
        postgresql_where=sa.text(_DUE),
    )
    op.create_index(
        "ix_messages_leased",
        "messages",
        ["lease_until"],
        sqlite_where=sa.text(_LEASED),
        postgresql_where=sa.text(_LEASED),
    )
    op.drop_index("ix_messages_dispatch", table_name="messages")


def downgrade() -> None:
    op.create_index("ix_messages_dispatch", "messages", ["status", "next_attempt_at"])
    op.drop_index("ix_messages_leased", table_name="messages")
    op.drop_index("ix_messages_due", table_name="messages")
