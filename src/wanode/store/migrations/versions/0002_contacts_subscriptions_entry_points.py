"""template columns, customer profiles, subscriptions, inbound media, entry points

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.add_column(
            sa.Column("require_e164", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("opt_in_categories", sa.JSON(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.alter_column(
            "destination",
            existing_type=sa.String(length=64),
            type_=sa.String(length=128),
            existing_nullable=False,
        )
        batch.add_column(sa.Column("template_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("template_category", sa.String(length=32), nullable=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column(
                "opt_in_status", sa.String(length=16), nullable=False, server_default="unknown"
            )
        )
        batch.add_column(sa.Column("opt_in_source", sa.Text(), nullable=True))
        batch.add_column(sa.Column("opted_in_at", sa.Double(), nullable=True))
        batch.add_column(sa.Column("opted_out_at", sa.Double(), nullable=True))
        batch.add_column(sa.Column("attributes", sa.JSON(), nullable=True))
        batch.create_index("ix_contacts_customer_id", ["customer_id"], unique=True)
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_subscriptions_app_id_apps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_table(
        "event_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("subscription_id", sa.String(length=40), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("wamid", sa.String(length=128), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.Double(), nullable=False),
        sa.Column("lease_until", sa.Double(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("finished_at", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_deliveries")),
        sa.UniqueConstraint(
            "subscription_id", "wamid", name=op.f("uq_event_deliveries_subscription_id_wamid")
        ),
    )
    op.create_index("ix_event_deliveries_pending", "event_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_event_deliveries_thread", "event_deliveries", ["subscription_id", "wa_id"])
    op.create_table(
        "inbound_media",
        sa.Column("media_id", sa.String(length=128), nullable=False),
        sa.Column("wamid", sa.String(length=128), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("mime_type", sa.String(length=128), nullable=True),
        sa.Column("sha256", sa.String(length=128), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_inbound_media_app_id_apps")),
        sa.PrimaryKeyConstraint("media_id", name=op.f("pk_inbound_media")),
    )
    op.create_table(
        "entry_points",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("prefilled_message", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_entry_points_app_id_apps")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_entry_points")),
    )


def downgrade() -> None:
    op.drop_table("entry_points")
    op.drop_table("inbound_media")
    op.drop_index("ix_event_deliveries_thread", table_name="event_deliveries")
    op.drop_index("ix_event_deliveries_pending", table_name="event_deliveries")
    op.drop_table("event_deliveries")
    op.drop_table("subscriptions")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_customer_id")
        for column in (
            "attributes",
            "opted_out_at",
            "opted_in_at",
            "opt_in_source",
            "opt_in_status",
            "customer_id",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("template_category")
        batch.drop_column("template_id")
        batch.alter_column(
            "destination",
            existing_type=sa.String(length=128),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("opt_in_categories")
        batch.drop_column("require_e164")
