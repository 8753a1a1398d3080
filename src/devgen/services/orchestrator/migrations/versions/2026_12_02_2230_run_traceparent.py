"""run traceparent

Revision ID: 3c1f0a9d7e42
Revises: 8f410670cc7d
Create Date: 2026-12-02T22:30:00+00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "3c1f0a9d7e42"
down_revision = "8f410670cc7d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("traceparent")
