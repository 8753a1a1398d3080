"""The retention job: prune each chain's records older than its tenant keeps them.

Only the oldest part of a chain goes. Before it does, a signed ``retention``
checkpoint records the last pruned record's sequence number and hash: the
first kept record links to it, so verification still walks an unbroken
chain, and a record deleted after the horizon is still noticed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.db import utcnow
from devgen.services.audit import repository
from devgen.services.audit.schemas import PrunedChain, RetentionRun
from devgen.services.audit.service import effective_days
from devgen.services.audit.settings import AuditSettings
from devgen.services.audit.signing import Signer, make_checkpoint

log = structlog.get_logger(__name__)


async def prune_chain(
    session: AsyncSession, signer: Signer, chain: str, cutoff: datetime
) -> PrunedChain:
    """Prune ``chain``'s records recorded before ``cutoff``, anchoring the rest."""
    through = await repository.last_seq_before(session, chain, cutoff)
    if through is None:
        return PrunedChain(chain=chain, pruned=0, through_seq=None)
    last = await repository.record_at(session, chain, through)
    assert last is not None
    # The checkpoint first: the database lets only records it covers be deleted.
    session.add(make_checkpoint(signer, chain, last.seq, last.hash, "retention"))
    await session.flush()
    pruned = await repository.prune(session, chain, through)
    log.info("audit_retention_pruned", chain=chain, pruned=pruned, through_seq=through)
    return PrunedChain(chain=chain, pruned=pruned, through_seq=through)


async def run_retention(
    session: AsyncSession, signer: Signer, settings: AuditSettings, now: datetime | None = None
) -> RetentionRun:
    """Prune every chain by its tenant's retention (or the platform default), never one
    younger than ``DEVGEN_AUDIT_MIN_RETENTION_DAYS``."""
    now = now or utcnow()
    results = []
    for head in await repository.chains(session):
        policy = await repository.policy(session, head.chain)
        # The floor applies to retentions stored before it was enforced, too.
        days = effective_days(policy.retention_days if policy else None, settings)
        result = await prune_chain(session, signer, head.chain, now - timedelta(days=days))
        if result.pruned:
            results.append(result)
    return RetentionRun(chains=results)
