"""business-scoped user ids: each app's wa_id <-> BSUID links, statuses' recipient_user_id

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_bsuids",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("bsuid", sa.String(length=140), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name="fk_contact_bsuids_app_id_apps", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("app_id", "wa_id", name="pk_contact_bsuids"),
    )
    op.create_index(
        "ix_contact_bsuids_app_id_bsuid", "contact_bsuids", ["app_id", "bsuid"], unique=True
    )
    with op.batch_alter_table("webhook_statuses") as batch:
        batch.add_column(sa.Column("recipient_user_id", sa.String(length=140), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_statuses") as batch:
        batch.drop_column("recipient_user_id")
    op.drop_index("ix_contact_bsuids_app_id_bsuid", table_name="contact_bsuids")
    op.drop_table("contact_bsuids")
