"""in-doubt sends: when a send began, and what an app does with one a crash left unanswered

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(
            sa.Column("in_doubt", sa.String(length=16), nullable=False, server_default="resend")
        )
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("sending_at", sa.Double(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("sending_at")
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("in_doubt")
