"""records carry the trace id of the request behind them

A plain ADD COLUMN (no table copy): the append-only triggers on audit_records stay.

Revision ID: 9e4a61c2d7b3
Revises: 483d2c8bfb64
Create Date: 2026-12-03T09:30:00+00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "9e4a61c2d7b3"
down_revision = "483d2c8bfb64"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_records", sa.Column("trace_id", sa.String(length=32), nullable=True))
    op.create_index("ix_audit_records_trace", "audit_records", ["trace_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_records_trace", table_name="audit_records")
    op.drop_column("audit_records", "trace_id")
