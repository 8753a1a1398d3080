"""The rules of audit: what a record says, who may read which chain, policies, checkpoints.

Records come from every event on the bus (``events.py``) and from services
writing directly. Each is appended to its tenant's chain (``chain.py``) at
the level the tenant chose for its type: ``full`` keeps the data,
``summary`` keeps who did what to which resource but drops the data,
``none`` records nothing.

Tenant administrators read their tenant's chain; platform administrators
read every chain, including ``platform`` (events with no tenant, such as
failed sign-ins). Naming another tenant answers 404.

What would let a tenant or a service rewrite its own trail is refused: a
service writes only into the chain of the tenant its token was minted for,
with audit's clock; security-relevant actions are never recorded below
``summary``; retention has a floor; and every policy change is itself a
record in the chain it changes.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.principal import Principal
from devgen.kit.context import client_address_var, current_request_id, user_agent_var
from devgen.kit.db import utcnow
from devgen.kit.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from devgen.kit.events import Event
from devgen.kit.events.consumer import batch_of
from devgen.kit.events.patterns import matches, overlaps
from devgen.kit.telemetry import current_traceparent
from devgen.services.audit import repository
from devgen.services.audit.chain import append
from devgen.services.audit.models import PLATFORM_CHAIN, AuditCheckpoint, AuditPolicy, AuditRecord
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

SECURITY_PATTERNS = ("identity.#", "audit.#")
"""Security-relevant actions: identity's (accounts, sign-ins, members and roles, sessions,
API keys) and audit's own (policy changes)."""
SECURITY_FLOOR = "summary"
"""The least a security-relevant action is recorded at: who did what, when, from where."""


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


_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-(?P<trace>[0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id_of(traceparent: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` (None when absent, malformed or all zeros)."""
    match = _TRACEPARENT.match((traceparent or "").strip().lower())
    if match is None or set(match.group("trace")) == {"0"}:
        return None
    return match.group("trace")


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


def security_relevant(action: str) -> bool:
    """Whether ``action`` is one no tenant may stop recording (``SECURITY_PATTERNS``)."""
    return any(matches(pattern, action) for pattern in SECURITY_PATTERNS)


def check_rules(rules: list[LevelRule]) -> None:
    """Refuse (422) a ``none`` rule that could match a security-relevant action.

    Checked against the patterns, whatever rules come before: ``#`` at
    ``none`` is refused even after ``identity.#`` at ``full``, since
    ``audit.#`` would still be dropped.
    """
    for number, rule in enumerate(rules):
        if rule.level != "none":
            continue
        hit = next((p for p in SECURITY_PATTERNS if overlaps(rule.pattern, p)), None)
        if hit is not None:
            raise ValidationFailed(
                f"Rule {number + 1} ({rule.pattern!r} at `none`) would stop recording "
                f"security-relevant actions ({hit!r}); those are recorded at least as "
                f"`{SECURITY_FLOOR}`.",
                details={
                    "field": f"rules[{number}]",
                    "pattern": rule.pattern,
                    "protected": list(SECURITY_PATTERNS),
                    "lowest_level": SECURITY_FLOOR,
                },
            )


async def level_for(session: AsyncSession, chain: str, action: str) -> str:
    """The level a tenant records ``action`` at (first matching rule; ``full`` by default).

    A security-relevant action is recorded at least at ``summary``, even by
    rules stored before that was refused.
    """
    cache: dict[str, list[dict[str, str]]] = session.info.setdefault(_POLICIES_KEY, {})
    if chain not in cache:
        policy = await repository.policy(session, chain)
        cache[chain] = list(policy.levels) if policy else []
    level = next((r["level"] for r in cache[chain] if matches(r["pattern"], action)), "full")
    if level == "none" and security_relevant(action):
        return SECURITY_FLOOR
    return level


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
            "trace_id": trace_id_of(event.traceparent),
            "ip": _text(event.client_address, 64),
            "user_agent": _text(event.user_agent, 512),
            "level": level,
            "data": data if level == "full" else {},
        },
    )


@dataclass(frozen=True)
class Written:
    """The outcome of a direct write: the record (None: not recorded), and whether it was
    recorded before (the same id again)."""

    record: AuditRecord | dict[str, Any] | None
    replayed: bool = False


def _check_writer(principal: Principal, tenant_id: uuid.UUID | None) -> None:
    # A service token minted for a tenant writes that tenant's chain only;
    # one minted for no tenant, the platform chain only. Another tenant's
    # chain answers 404 like any other tenant's resource.
    if tenant_id == principal.tenant_id:
        return
    if tenant_id is None:
        raise Forbidden(
            "Platform records (no `tenant_id`) need a service token minted for no tenant.",
            details={"field": "tenant_id"},
        )
    if principal.tenant_id is None:
        raise Forbidden(
            "A tenant's records need a service token minted for that tenant.",
            details={"field": "tenant_id"},
        )
    raise NotFound("Tenant not found.", details={"field": "tenant_id"})


async def record_direct(
    session: AsyncSession, principal: Principal, body: AuditEventCreate, settings: AuditSettings
) -> Written:
    """Append what a service wrote into the chain of its token's tenant, at audit's time.

    Writing an id that was recorded before returns that record unchanged
    (409 when it is in another chain).
    """
    _check_writer(principal, body.tenant_id)
    if body.action.split(".", 1)[0] == "audit":
        raise ValidationFailed(
            "`audit.*` actions are recorded by audit itself.", details={"field": "action"}
        )
    chain = chain_of(body.tenant_id)
    event_id = str(body.id or uuid.uuid4())
    existing = await repository.record_by_event(session, event_id)
    if existing is not None:
        if existing.chain != chain:
            raise Conflict("This id is already recorded in another chain.", details={"field": "id"})
        return Written(existing, replayed=True)
    if len(json.dumps(body.data, default=str)) > settings.audit_max_data_bytes:
        raise PayloadTooLarge(
            f"`data` is larger than {settings.audit_max_data_bytes} bytes as JSON.",
            details={"field": "data"},
        )
    level = await level_for(session, chain, body.action)
    if level == "none":
        return Written(None)
    record = await append(
        session,
        {
            "chain": chain,
            "event_id": event_id,
            "time": utcnow(),
            "tenant_id": body.tenant_id,
            "actor": body.actor or principal.actor,
            "action": body.action,
            "resource_type": body.resource_type or body.action.split(".")[1],
            "resource_id": body.resource_id,
            "outcome": body.outcome or outcome_of(body.action, body.data),
            "source": (principal.service or "unknown")[:64],
            "request_id": body.request_id,
            "trace_id": trace_id_of(current_traceparent()),
            "ip": body.ip,
            "user_agent": body.user_agent,
            "level": level,
            "data": body.data if level == "full" else {},
        },
    )
    return Written(record)


async def _record_policy_change(
    session: AsyncSession, principal: Principal, chain: str, what: str, data: dict[str, Any]
) -> None:
    # In the chain it changes and in the same transaction as the change: a
    # policy that took effect is never missing from the trail.
    action = f"audit.policy.{what}_changed"
    level = await level_for(session, chain, action)
    await append(
        session,
        {
            "chain": chain,
            "event_id": str(uuid.uuid4()),
            "time": utcnow(),
            "tenant_id": None if chain == PLATFORM_CHAIN else uuid.UUID(chain),
            "actor": principal.actor,
            "action": action,
            "resource_type": "policy",
            "resource_id": chain,
            "outcome": "success",
            "source": "audit",
            "request_id": _text(current_request_id(), 128),
            "trace_id": trace_id_of(current_traceparent()),
            "ip": _text(client_address_var.get(), 64),
            "user_agent": _text(user_agent_var.get(), 512),
            "level": level,
            "data": data if level == "full" else {},
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


def effective_days(days: int | None, settings: AuditSettings) -> int:
    """The days a chain keeps: its own (never below the floor) or the platform default."""
    return max(days or settings.audit_retention_days, settings.audit_min_retention_days)


async def retention(session: AsyncSession, chain: str, settings: AuditSettings) -> RetentionRead:
    """A chain's retention (its own, and the days that apply)."""
    policy = await repository.policy(session, chain)
    days = policy.retention_days if policy else None
    return RetentionRead(chain=chain, days=days, effective_days=effective_days(days, settings))


async def set_retention(
    session: AsyncSession,
    principal: Principal,
    chain: str,
    days: int | None,
    settings: AuditSettings,
) -> RetentionRead:
    """Keep a chain's records ``days`` (None: the platform default), and record the change.

    Fewer days than ``DEVGEN_AUDIT_MIN_RETENTION_DAYS`` are refused (422).
    """
    if days is not None and days < settings.audit_min_retention_days:
        raise ValidationFailed(
            f"`days` must be at least {settings.audit_min_retention_days} "
            "(DEVGEN_AUDIT_MIN_RETENTION_DAYS).",
            details={"field": "days", "minimum": settings.audit_min_retention_days},
        )
    policy = await _policy(session, chain)
    before = policy.retention_days
    policy.retention_days = days
    policy.updated_at = utcnow()
    await _record_policy_change(
        session,
        principal,
        chain,
        "retention",
        {"from": before, "to": days, "effective_days": effective_days(days, settings)},
    )
    await session.flush()
    return await retention(session, chain, settings)


async def levels(session: AsyncSession, chain: str) -> LevelsRead:
    """A chain's level rules."""
    policy = await repository.policy(session, chain)
    rules = [LevelRule.model_validate(rule) for rule in (policy.levels if policy else [])]
    return LevelsRead(chain=chain, rules=rules)


async def set_levels(
    session: AsyncSession, principal: Principal, chain: str, rules: list[LevelRule]
) -> LevelsRead:
    """Replace a chain's level rules, and record the change (at the new rules' level).

    A ``none`` rule that could match a security-relevant action is refused (422).
    """
    check_rules(rules)
    policy = await _policy(session, chain)
    before = list(policy.levels or [])
    policy.levels = [rule.model_dump() for rule in rules]
    policy.updated_at = utcnow()
    session.info.setdefault(_POLICIES_KEY, {})[chain] = list(policy.levels)
    await _record_policy_change(
        session, principal, chain, "levels", {"from": before, "to": policy.levels}
    )
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
