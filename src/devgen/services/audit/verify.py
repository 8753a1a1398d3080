"""Walking a chain: every record's hash recomputed, every link and checkpoint checked.

A chain is intact when, from its anchor (the newest retention checkpoint,
or the genesis), sequence numbers follow one another without a gap, each
record's ``prev_hash`` is the hash of the one before, each stored hash is
the hash of the record's content, every checkpoint is authentically signed
and matches the record it names, and no checkpoint names a record past the
chain's end (records removed from the tail).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.services.audit import repository
from devgen.services.audit.chain import GENESIS, digest
from devgen.services.audit.models import PLATFORM_CHAIN, AuditCheckpoint
from devgen.services.audit.schemas import ChainBreak, ChainReport
from devgen.services.audit.signing import Signer, checkpoint_is_authentic


def _anchor(checkpoints: list[AuditCheckpoint]) -> AuditCheckpoint | None:
    retention = [c for c in checkpoints if c.kind == "retention"]
    return max(retention, key=lambda c: c.seq) if retention else None


async def verify_chain(
    session: AsyncSession,
    signer: Signer,
    chain: str,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
    head_seq: int = 0,
) -> ChainReport:
    """Check one chain (or the range ``from_seq``..``to_seq`` of it); the first break is reported.

    ``head_seq`` is the last sequence number the chain's head row remembers.
    """
    checkpoints = await repository.checkpoints(session, chain)
    report = ChainReport(
        chain=chain,
        tenant_id=None if chain == PLATFORM_CHAIN else chain,
        records=0,
        checkpoints_verified=0,
    )
    for checkpoint in checkpoints:
        if not checkpoint_is_authentic(signer, checkpoint):
            report.broken = ChainBreak(
                seq=checkpoint.seq, reason="a checkpoint's signature is not valid"
            )
            return report
    anchor = _anchor(checkpoints)
    expected_seq, expected_prev = (anchor.seq + 1, anchor.hash) if anchor else (1, GENESIS)
    report.anchor_seq = anchor.seq if anchor else None
    if from_seq is not None and from_seq > expected_seq:
        before = await repository.record_at(session, chain, from_seq - 1)
        if before is None:
            report.broken = ChainBreak(
                seq=from_seq - 1, reason="the record before the range is missing"
            )
            return report
        expected_seq, expected_prev = from_seq, before.hash
    by_seq = {c.seq: c for c in checkpoints if c.kind != "retention"}
    async for record in repository.chain_records(session, chain, from_seq, to_seq):
        if record.seq < expected_seq:
            continue  # older than the anchor: pruning left it behind (cannot happen) or a range
        if record.seq != expected_seq:
            report.broken = ChainBreak(
                seq=expected_seq,
                reason=f"records {expected_seq}..{record.seq - 1} are missing",
            )
            return report
        if record.prev_hash != expected_prev:
            report.broken = ChainBreak(
                seq=record.seq,
                record_id=record.id,
                reason="the record does not link to the one before it",
            )
            return report
        if digest(record.prev_hash, record) != record.hash:
            report.broken = ChainBreak(
                seq=record.seq, record_id=record.id, reason="the record was altered"
            )
            return report
        checkpoint = by_seq.get(record.seq)
        if checkpoint is not None:
            if checkpoint.hash != record.hash:
                report.broken = ChainBreak(
                    seq=record.seq,
                    record_id=record.id,
                    reason="the record differs from the signed checkpoint",
                )
                return report
            report.checkpoints_verified += 1
        report.first_seq = report.first_seq or record.seq
        report.last_seq, report.head_hash = record.seq, record.hash
        report.records += 1
        expected_seq, expected_prev = record.seq + 1, record.hash
    if to_seq is None:
        newest = max([head_seq, *(c.seq for c in checkpoints)])
        end = report.last_seq or (anchor.seq if anchor else 0)
        if newest > end:
            report.broken = ChainBreak(
                seq=end + 1,
                reason=f"records {end + 1}..{newest} were removed from the end "
                f"(the chain head or a signed checkpoint names record {newest})",
            )
    return report
