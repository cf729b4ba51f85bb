"""short links and their clicks (the Messaging API's link shortening and click tracking)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "short_links",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("transid", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("short_url", sa.Text(), nullable=False),
        sa.Column("track", sa.Boolean(), nullable=False),
        sa.Column("tag1", sa.Text(), nullable=True),
        sa.Column("tag2", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_short_links")),
    )
    op.create_index("ix_short_links_transid", "short_links", ["transid"])
    op.create_table(
        "link_clicks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("click_id", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("transid", sa.String(length=36), nullable=False),
        sa.Column("clicked_at", sa.Double(), nullable=False),
        sa.Column("recorded_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_clicks")),
        sa.UniqueConstraint("click_id", name=op.f("uq_link_clicks_click_id")),
    )
    op.create_index("ix_link_clicks_code", "link_clicks", ["code"])


def downgrade() -> None:
    op.drop_index("ix_link_clicks_code", table_name="link_clicks")
    op.drop_table("link_clicks")
    op.drop_index("ix_short_links_transid", table_name="short_links")
    op.drop_table("short_links")
