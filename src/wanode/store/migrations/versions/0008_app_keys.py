"""per-app API keys: a key belongs to an app or is an admin key; customer profiles belong to
the app whose key wrote them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("app_id", sa.String(length=40), nullable=True))
        batch.add_column(
            sa.Column("admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.create_foreign_key(
            "fk_api_keys_app_id_apps", "apps", ["app_id"], ["id"], ondelete="CASCADE"
        )
    # Every key made before keys had an app acted on every app: it stays an admin key, so an
    # upgraded install keeps working.
    op.execute(sa.text("UPDATE api_keys SET admin = :yes").bindparams(yes=True))
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("app_id", sa.String(length=40), nullable=True))
        batch.create_foreign_key(
            "fk_contacts_app_id_apps", "apps", ["app_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_contacts_app_id", ["app_id"])


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_app_id")
        batch.drop_constraint("fk_contacts_app_id_apps", type_="foreignkey")
        batch.drop_column("app_id")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint("fk_api_keys_app_id_apps", type_="foreignkey")
        batch.drop_column("admin")
        batch.drop_column("app_id")
