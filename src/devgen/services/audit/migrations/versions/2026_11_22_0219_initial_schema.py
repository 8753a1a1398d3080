"""initial schema: records, chain heads, checkpoints, keys, policies; append-only triggers

Revision ID: 483d2c8bfb64
Revises: None
Create Date: 2026-11-22T02:19:25+00:00
"""

import sqlalchemy as sa
from alembic import op

import devgen.kit.db

revision = "483d2c8bfb64"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_chains",
        sa.Column("chain", sa.String(length=36), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("updated_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.create_index("ix_audit_checkpoints_chain_seq", ["chain", "seq"], unique=False)

    op.create_table(
        "audit_policies",
        sa.Column("chain", sa.String(length=36), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=True),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("updated_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("chain", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("time", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("action", sa.String(length=200), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain", "seq", name="uq_audit_records_chain_seq"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index("ix_audit_records_action", ["action"], unique=False)
        batch_op.create_index("ix_audit_records_actor", ["actor"], unique=False)
        batch_op.create_index("ix_audit_records_recorded", ["recorded_at", "id"], unique=False)
        batch_op.create_index(
            "ix_audit_records_tenant_recorded", ["tenant_id", "recorded_at", "id"], unique=False
        )

    op.create_table(
        "audit_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("private_pem", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("created_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("retired_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    op.create_table(
        "event_dead_letters",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dead_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replay_requested_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_table(
        "event_inbox",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=200), nullable=False),
        sa.Column("handled_at", devgen.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )

    _append_only_triggers()


# Records may be deleted only by retention, and only where a retention
# checkpoint covers them; nothing may be updated. Checkpoints are never
# changed or deleted.
_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'audit_records'
       AND current_setting('devgen.audit_pruning', true) = 'on'
       AND EXISTS (SELECT 1 FROM audit_checkpoints c
                   WHERE c.chain = OLD.chain AND c.kind = 'retention' AND c.seq >= OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$""",
    """CREATE FUNCTION audit_prune(p_chain text, p_through bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE removed bigint;
BEGIN
    PERFORM set_config('devgen.audit_pruning', 'on', true);
    DELETE FROM audit_records WHERE chain = p_chain AND seq <= p_through;
    GET DIAGNOSTICS removed = ROW_COUNT;
    PERFORM set_config('devgen.audit_pruning', 'off', true);
    RETURN removed;
END $$""",
    """CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    """CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    """CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    """CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
]

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
    BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
    WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoints c
                     WHERE c.chain = OLD.chain AND c.kind = 'retention' AND c.seq >= OLD.seq)
    BEGIN SELECT RAISE(ABORT, 'audit_records is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only: DELETE refused'); END""",
]


def _append_only_triggers() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _POSTGRES_TRIGGERS if postgres else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_refuse_change() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS audit_prune(text, bigint)")
    op.drop_table("event_inbox")
    op.drop_table("event_dead_letters")
    op.drop_table("audit_signing_keys")
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_records_tenant_recorded")
        batch_op.drop_index("ix_audit_records_recorded")
        batch_op.drop_index("ix_audit_records_actor")
        batch_op.drop_index("ix_audit_records_action")

    op.drop_table("audit_records")
    op.drop_table("audit_policies")
    with op.batch_alter_table("audit_checkpoints", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_checkpoints_chain_seq")

    op.drop_table("audit_checkpoints")
    op.drop_table("audit_chains")
