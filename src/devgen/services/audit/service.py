"""The rules of audit: what a record says, who may read which chain, policies, checkpoints.

Records come from every event on the bus (``events.py``) and from services
writing directly. Each is appended to its tenant's chain (``chain.py``) at
the level the tenant chose for its type: ``full`` keeps the data,
``summary`` keeps who did what to which resource but drops the data,
``none`` records nothing.

Tenant administrators read their tenant's chain; platform administrators
read every chain, including ``platform`` (events with no tenant, such as
failed sign-ins). Naming another tenant answers 404.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.principal import Principal
from devgen.kit.db import utcnow
from devgen.kit.errors import NotFound, PayloadTooLarge
from devgen.kit.events import Event
from devgen.kit.events.consumer import batch_of
from devgen.kit.events.patterns import matches
from devgen.services.audit import repository
from devgen.services.audit.chain import append
from devgen.services.audit.models import AuditCheckpoint, AuditPolicy, AuditRecord
from devgen.services.audit.repository import RecordFilter, chain_of
from devgen.services.audit.schemas import (
    AuditEventCreate,
    LevelRule,
    LevelsRead,
    ReportRead,
    RetentionRead,
    VerifyReport,
)
from devgen.services.audit.settings import AuditSettings
from devgen.services.audit.signing import Signer, make_checkpoint
from devgen.services.audit.verify import verify_chain

_FAILURE_VERBS = ("failed", "denied", "rejected", "refused")
_POLICIES_KEY = "devgen.audit.policies"
_RECORDED_KEY = "devgen.audit.recorded"


@dataclass(frozen=True)
class Scope:
    """Which records a reader may see: one tenant's (or the platform chain), or all."""

    tenant_id: uuid.UUID | None
    all_tenants: bool

    @property
    def chain(self) -> str:
        """The one chain in scope (for endpoints that work on one chain)."""
        return chain_of(self.tenant_id)

    def filter(self, **criteria: Any) -> RecordFilter:
        """A record filter limited to this scope."""
        return RecordFilter(tenant_id=self.tenant_id, all_tenants=self.all_tenants, **criteria)


def scope_for(principal: Principal, tenant_id: uuid.UUID | None, *, one_chain: bool) -> Scope:
    """What ``principal`` (already known to be an admin) may read when asking for ``tenant_id``.

    A tenant administrator reaches only their tenant; a platform
    administrator any tenant, every tenant at once (``one_chain`` False and
    no ``tenant_id``), or the platform chain (``one_chain`` and no ``tenant_id``).
    """
    if principal.platform_admin:
        return Scope(tenant_id, all_tenants=tenant_id is None and not one_chain)
    if tenant_id is not None and tenant_id != principal.tenant_id:
        raise NotFound("Tenant not found.")
    return Scope(principal.tenant_id, all_tenants=False)


def outcome_of(event_type: str, data: dict[str, Any]) -> str:
    """``data.outcome`` when the emitter says, else ``failure`` for ``*.failed``-like verbs."""
    stated = data.get("outcome")
    if stated in ("success", "failure"):
        return str(stated)
    return "failure" if event_type.rsplit(".", 1)[-1].endswith(_FAILURE_VERBS) else "success"


async def level_for(session: AsyncSession, chain: str, action: str) -> str:
    """The level a tenant records ``action`` at (first matching rule; ``full`` by default)."""
    cache: dict[str, list[dict[str, str]]] = session.info.setdefault(_POLICIES_KEY, {})
    if chain not in cache:
        policy = await repository.policy(session, chain)
        cache[chain] = list(policy.levels) if policy else []
    for rule in cache[chain]:
        if matches(rule["pattern"], action):
            return rule["level"]
    return "full"


async def _already_recorded(session: AsyncSession, event: Event) -> set[str]:
    # One query for the whole batch rather than one per event: an id can be
    # recorded already when a service wrote it directly before it came by bus.
    recorded: set[str] | None = session.info.get(_RECORDED_KEY)
    if recorded is None:
        ids = [e.id for e in batch_of(session)] or [event.id]
        recorded = await repository.recorded_event_ids(session, ids)
        session.info[_RECORDED_KEY] = recorded
    return recorded


def _text(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


async def record_event(session: AsyncSession, event: Event) -> dict[str, Any] | None:
    """Append the record of a bus event (None when its tenant records none of its kind)."""
    chain = chain_of(event.tenant_id)
    level = await level_for(session, chain, event.type)
    if level == "none" or event.id in await _already_recorded(session, event):
        return None
    data = dict(event.data)
    return await append(
        session,
        {
            "chain": chain,
            "event_id": event.id,
            "time": event.time,
            "tenant_id": uuid.UUID(event.tenant_id) if event.tenant_id else None,
            "actor": _text(event.actor, 200),
            "action": event.type,
            "resource_type": event.entity[:64],
            "resource_id": _text(event.subject, 200),
            "outcome": outcome_of(event.type, data),
            "source": event.service[:64],
            "request_id": _text(event.request_id, 128),
            "ip": _text(event.client_address, 64),
            "user_agent": _text(event.user_agent, 512),
            "level": level,
            "data": data if level == "full" else {},
        },
    )


async def record_direct(
    session: AsyncSession, principal: Principal, body: AuditEventCreate, settings: AuditSettings
) -> AuditRecord | dict[str, Any] | None:
    """Append what a service wrote (None when the tenant records none of its kind).

    Writing an id that was recorded before returns that record unchanged.
    """
    event_id = str(body.id or uuid.uuid4())
    existing = await repository.record_by_event(session, event_id)
    if existing is not None:
        return existing
    if len(json.dumps(body.data, default=str)) > settings.audit_max_data_bytes:
        raise PayloadTooLarge(
            f"`data` is larger than {settings.audit_max_data_bytes} bytes as JSON.",
            details={"field": "data"},
        )
    chain = chain_of(body.tenant_id)
    level = await level_for(session, chain, body.action)
    if level == "none":
        return None
    return await append(
        session,
        {
            "chain": chain,
            "event_id": event_id,
            "time": body.time or utcnow(),
            "tenant_id": body.tenant_id,
            "actor": body.actor or principal.actor,
            "action": body.action,
            "resource_type": body.resource_type or body.action.split(".")[1],
            "resource_id": body.resource_id,
            "outcome": body.outcome or outcome_of(body.action, body.data),
            "source": (principal.service or "unknown")[:64],
            "request_id": body.request_id,
            "ip": body.ip,
            "user_agent": body.user_agent,
            "level": level,
            "data": body.data if level == "full" else {},
        },
    )


async def verify(
    session: AsyncSession,
    signer: Signer,
    scope: Scope,
    *,
    from_seq: int | None = None,
    to_seq: int | None = None,
) -> VerifyReport:
    """Walk the chains in scope (a platform admin's "all" walks every chain)."""
    heads = await repository.chains(session, None if scope.all_tenants else scope.chain)
    if not scope.all_tenants and not heads:
        heads_seq = {scope.chain: 0}
    else:
        heads_seq = {head.chain: head.last_seq for head in heads}
    reports = [
        await verify_chain(
            session, signer, chain, from_seq=from_seq, to_seq=to_seq, head_seq=head_seq
        )
        for chain, head_seq in heads_seq.items()
    ]
    return VerifyReport(valid=all(r.broken is None for r in reports), chains=reports)


async def report(session: AsyncSession, where: RecordFilter) -> ReportRead:
    """Counts by action, actor and outcome, and the counts compliance asks for first."""
    by_action = await repository.counts(session, where, AuditRecord.action, limit=1000)
    return ReportRead(
        since=where.since,
        until=where.until,
        total=await repository.total(session, where),
        by_action=by_action,
        by_actor=await repository.counts(session, where, AuditRecord.actor),
        by_outcome=await repository.counts(session, where, AuditRecord.outcome),
        failed_logins=by_action.get("identity.login.failed", 0),
        role_changes=by_action.get("identity.member.role_changed", 0),
        api_keys_created=by_action.get("identity.api_key.created", 0),
    )


async def _policy(session: AsyncSession, chain: str) -> AuditPolicy:
    policy = await repository.policy(session, chain)
    if policy is None:
        policy = AuditPolicy(chain=chain, retention_days=None, levels=[], updated_at=utcnow())
        session.add(policy)
    return policy


async def retention(session: AsyncSession, chain: str, settings: AuditSettings) -> RetentionRead:
    """A chain's retention (its own, and the days that apply)."""
    policy = await repository.policy(session, chain)
    days = policy.retention_days if policy else None
    return RetentionRead(
        chain=chain, days=days, effective_days=days or settings.audit_retention_days
    )


async def set_retention(
    session: AsyncSession, chain: str, days: int | None, settings: AuditSettings
) -> RetentionRead:
    """Keep a chain's records ``days`` (None: the platform default)."""
    policy = await _policy(session, chain)
    policy.retention_days = days
    policy.updated_at = utcnow()
    await session.flush()
    return await retention(session, chain, settings)


async def levels(session: AsyncSession, chain: str) -> LevelsRead:
    """A chain's level rules."""
    policy = await repository.policy(session, chain)
    rules = [LevelRule.model_validate(rule) for rule in (policy.levels if policy else [])]
    return LevelsRead(chain=chain, rules=rules)


async def set_levels(session: AsyncSession, chain: str, rules: list[LevelRule]) -> LevelsRead:
    """Replace a chain's level rules."""
    policy = await _policy(session, chain)
    policy.levels = [rule.model_dump() for rule in rules]
    policy.updated_at = utcnow()
    await session.flush()
    return await levels(session, chain)


async def checkpoint_heads(session: AsyncSession, signer: Signer) -> int:
    """Sign the head of every chain that grew since its last checkpoint; how many were signed."""
    signed = 0
    for head in await repository.chains(session):
        if head.last_seq > await repository.last_checkpoint_seq(session, head.chain):
            session.add(
                make_checkpoint(signer, head.chain, head.last_seq, head.last_hash, "periodic")
            )
            signed += 1
    await session.flush()
    return signed


async def covering_checkpoint(
    session: AsyncSession, signer: Signer, chain: str, seq: int
) -> AuditCheckpoint:
    """A signed checkpoint of record ``seq`` of ``chain`` (made now when there is none)."""
    existing = await repository.checkpoint_at(session, chain, seq)
    if existing is not None:
        return existing
    record = await repository.record_at(session, chain, seq)
    if record is None:
        raise NotFound("The record to sign is not in the chain.")
    checkpoint = make_checkpoint(signer, chain, seq, record.hash, "export")
    session.add(checkpoint)
    await session.flush()
    return checkpoint
