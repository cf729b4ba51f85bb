"""flows: definitions and versions, runs, run history, the flow inbox, flow sends

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "flows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("whatsapp_trigger", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"], ["apps.id"], name=op.f("fk_flows_app_id_apps"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flows")),
    )
    op.create_table(
        "flow_versions",
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("flow_id", "version", name=op.f("pk_flow_versions")),
    )
    op.create_table(
        "flow_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("contact", sa.String(length=32), nullable=True),
        sa.Column("wait_kind", sa.String(length=16), nullable=True),
        sa.Column("wait_transid", sa.String(length=36), nullable=True),
        sa.Column("wait_contact", sa.String(length=32), nullable=True),
        sa.Column("wait_status", sa.String(length=16), nullable=True),
        sa.Column("deadline", sa.Double(), nullable=True),
        sa.Column("lease_until", sa.Double(), nullable=True),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_runs")),
    )
    op.create_index("ix_flow_runs_due", "flow_runs", ["wait_kind", "deadline"])
    op.create_index("ix_flow_runs_wait_transid", "flow_runs", ["wait_transid"])
    op.create_index("ix_flow_runs_wait_contact", "flow_runs", ["app_id", "wait_contact"])
    op.create_index("ix_flow_runs_flow", "flow_runs", ["flow_id", "status"])
    op.create_table(
        "flow_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=128), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_history")),
    )
    op.create_index("ix_flow_history_run_id", "flow_history", ["run_id", "id"])
    op.create_table(
        "flow_inbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.String(length=40), nullable=False),
        sa.Column("wa_id", sa.String(length=32), nullable=False),
        sa.Column("wamid", sa.String(length=128), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_inbox")),
        sa.UniqueConstraint("wamid", name=op.f("uq_flow_inbox_wamid")),
    )
    op.create_table(
        "flow_sends",
        sa.Column("transid", sa.String(length=36), nullable=False),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("transid", name=op.f("pk_flow_sends")),
    )


def downgrade() -> None:
    op.drop_table("flow_sends")
    op.drop_table("flow_inbox")
    op.drop_index("ix_flow_history_run_id", table_name="flow_history")
    op.drop_table("flow_history")
    for name in ("ix_flow_runs_flow", "ix_flow_runs_wait_contact", "ix_flow_runs_wait_transid"):
        op.drop_index(name, table_name="flow_runs")
    op.drop_index("ix_flow_runs_due", table_name="flow_runs")
    op.drop_table("flow_runs")
    op.drop_table("flow_versions")
    op.drop_table("flows")
