"""notify-URL auth profiles, signed DRs, JWT service secrets; held messages due at expiry

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_auth_profiles",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["apps.id"],
            name="fk_notify_auth_profiles_app_id_apps",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_notify_auth_profiles"),
    )
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("notify_signing", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("notify_secret", sa.Text(), nullable=True))
        batch.add_column(sa.Column("service_secret", sa.Text(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("notify_auth_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("dr_deliveries") as batch:
        batch.add_column(sa.Column("app_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("auth_id", sa.String(length=64), nullable=True))
    # A held message comes due at its expiry at the latest (store/messages.hold_many); those
    # held before that rule keep a schedule past it: bring them forward.
    op.execute(
        "UPDATE messages SET next_attempt_at = expires_at + 0.001 "
        "WHERE status = 'queued' AND held_reason IS NOT NULL AND expires_at IS NOT NULL "
        "AND next_attempt_at > expires_at + 0.001"
    )


def downgrade() -> None:
    with op.batch_alter_table("dr_deliveries") as batch:
        batch.drop_column("auth_id")
        batch.drop_column("app_id")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("notify_auth_id")
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("service_secret")
        batch.drop_column("notify_secret")
        batch.drop_column("notify_signing")
    op.drop_table("notify_auth_profiles")
