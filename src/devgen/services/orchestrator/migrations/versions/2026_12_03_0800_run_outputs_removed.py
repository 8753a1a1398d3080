"""run outputs removed

Revision ID: 5b7e2d19c0a4
Revises: 3c1f0a9d7e42
Create Date: 2026-12-03T08:00:00+00:00
"""

import sqlalchemy as sa
from alembic import op

import devgen.kit.db

revision = "5b7e2d19c0a4"
down_revision = "3c1f0a9d7e42"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outputs_removed_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("outputs_removed_at")
