"""inline blob content

Revision ID: 5b1e0c9d7a21
Revises: 0c631f6a42b5
Create Date: 2026-12-03T13:00:00+00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "5b1e0c9d7a21"
down_revision = "0c631f6a42b5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("blobs") as batch_op:
        batch_op.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("blobs") as batch_op:
        batch_op.drop_column("content")
