"""the flow runs' (flow, status) index takes the contact too: "has this contact a run of this
flow waiting?" (a WhatsApp trigger with skipIfWaiting, asked for each inbound event that no
Receive node took) searches it instead of reading every waiting run of the flow

At 100,000 runs waiting in a flow that lookup read all 100,000 index entries, on each inbound
event; with the contact in the index it reads one. The flow's run counts and run lists use the
index's first columns as before. No new index: the same one, a contact wider.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 18:05:00
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_flow_runs_flow_contact", "flow_runs", ["flow_id", "status", "contact"])
    op.drop_index("ix_flow_runs_flow", table_name="flow_runs")


def downgrade() -> None:
    op.create_index("ix_flow_runs_flow", "flow_runs", ["flow_id", "status"])
    op.drop_index("ix_flow_runs_flow_contact", table_name="flow_runs")
