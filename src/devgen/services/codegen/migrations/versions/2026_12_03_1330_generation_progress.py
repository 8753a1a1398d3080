"""generation progress

Revision ID: 3c9a1f2e7b40
Revises: 057e829b0de0
Create Date: 2026-12-03T13:30:00+00:00
"""

import sqlalchemy as sa
from alembic import op

import devgen.kit.db

revision = "3c9a1f2e7b40"
down_revision = "057e829b0de0"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "generation_progress",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.Column("finished", sa.Boolean(), nullable=False),
        sa.Column("updated_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key"),
    )
    with op.batch_alter_table("generation_progress", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_generation_progress_updated_at"), ["updated_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("generation_progress", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_progress_updated_at"))
    op.drop_table("generation_progress")
