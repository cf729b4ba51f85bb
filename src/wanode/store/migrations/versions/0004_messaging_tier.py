"""messaging tier: per-app tier, reached customers, held reason, possibly duplicated

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("messaging_tier", sa.Integer(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("held_reason", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column(
                "possibly_duplicated", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    op.create_table(
        "reached_customers",
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("reached_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name=op.f("fk_reached_customers_app_id_apps"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("app_id", "wa_id", name=op.f("pk_reached_customers")),
    )
    op.create_index(
        "ix_reached_customers_app_id_reached_at",
        "reached_customers",
        ["app_id", "reached_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_reached_customers_app_id_reached_at", table_name="reached_customers")
    op.drop_table("reached_customers")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("possibly_duplicated")
        batch.drop_column("held_reason")
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("messaging_tier")
