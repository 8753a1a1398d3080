"""initial schema

Revision ID: fd9c35ced5ba
Revises: None
Create Date: 2026-11-22T02:07:27+00:00
"""

import sqlalchemy as sa
from alembic import op

import devgen.kit.db

revision = "fd9c35ced5ba"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environment_builds",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("runtime", sa.String(length=16), nullable=False),
        sa.Column("python", sa.String(length=32), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("log", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "event_outbox",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=True),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("event_id"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_event_outbox_sent_at", ["sent_at"], unique=False)
        batch_op.create_index(
            "ix_event_outbox_unsent",
            ["position"],
            unique=False,
            sqlite_where=sa.text("sent_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL"),
        )

    op.create_table(
        "execution_results",
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("signal", sa.Integer(), nullable=True),
        sa.Column("stdout", sa.LargeBinary(), nullable=False),
        sa.Column("stderr", sa.LargeBinary(), nullable=False),
        sa.Column("stdout_truncated", sa.Boolean(), nullable=False),
        sa.Column("stderr_truncated", sa.Boolean(), nullable=False),
        sa.Column("cpu_time_s", sa.Float(), nullable=False),
        sa.Column("wall_time_s", sa.Float(), nullable=False),
        sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("isolation", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "environments",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("runtime", sa.String(length=16), nullable=False),
        sa.Column("packages", sa.JSON(), nullable=False),
        sa.Column("build_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["build_id"],
            ["environment_builds.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "build_id", name="uq_environment_build"),
    )
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_environments_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "executions",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("verdict", sa.String(length=24), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("runtime", sa.String(length=16), nullable=False),
        sa.Column("environment_id", sa.Uuid(), nullable=True),
        sa.Column("environment_name", sa.String(length=64), nullable=True),
        sa.Column("command", sa.JSON(), nullable=False),
        sa.Column("limits", sa.JSON(), nullable=False),
        sa.Column("collect", sa.JSON(), nullable=False),
        sa.Column("cache", sa.Boolean(), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("cached_from", sa.Uuid(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("heartbeat_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["execution_results.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "idempotency_key", name="uq_execution_idempotency"),
    )
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.create_index("ix_executions_status", ["status"], unique=False)
        batch_op.create_index(
            "ix_executions_tenant_cache", ["tenant_id", "cache_key"], unique=False
        )
        batch_op.create_index(
            "ix_executions_tenant_created", ["tenant_id", "created_at"], unique=False
        )

    op.create_table(
        "execution_inputs",
        sa.Column("execution_id", sa.Uuid(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("stdin", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["execution_id"], ["executions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("execution_id"),
    )


def downgrade() -> None:
    op.drop_table("execution_inputs")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_index("ix_executions_tenant_created")
        batch_op.drop_index("ix_executions_tenant_cache")
        batch_op.drop_index("ix_executions_status")

    op.drop_table("executions")
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_environments_tenant_id"))

    op.drop_table("environments")
    op.drop_table("execution_results")
    with op.batch_alter_table("event_outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_event_outbox_unsent",
            sqlite_where=sa.text("sent_at IS NULL"),
            postgresql_where=sa.text("sent_at IS NULL"),
        )
        batch_op.drop_index("ix_event_outbox_sent_at")

    op.drop_table("event_outbox")
    op.drop_table("environment_builds")
