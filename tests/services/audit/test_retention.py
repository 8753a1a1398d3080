"""Retention prunes the oldest part of a tenant's chain and verification stays green."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from devgen.services.audit.models import AuditCheckpoint, AuditRecord
from devgen.services.audit.retention import run_retention
from devgen.services.audit.service import Scope, verify
from tests.helpers import assert_error, register
from tests.services.audit.conftest import (
    audit_app,
    platform_admin,
    records,
    tenant_service_headers,
)
from tests.services.audit.tampering import tampering


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Pruning goes through database triggers: both backends."""
    return str(request.param)


async def _write(client, headers, tenant_id: str, count: int) -> None:
    for number in range(count):
        body = {"action": "storage.file.read", "tenant_id": tenant_id, "data": {"n": number}}
        response = await client.post("/api/v1/audit/events", json=body, headers=headers)
        assert response.status_code == 201, response.text


async def _verify(audit, tenant_id: str):
    async with audit.state.database.transaction() as session:
        report = await verify(session, audit.state.audit.signer, Scope(uuid.UUID(tenant_id), False))
    return report.chains[0]


async def _retain(client, platform, tenant_id: str, days: int | None) -> None:
    """Set a chain's retention as a platform administrator (the change is the chain's next
    record)."""
    root = await platform_admin(client, platform)
    response = await client.put(
        "/api/v1/audit/retention",
        params={"tenant_id": tenant_id},
        json={"days": days},
        headers=root.headers,
    )
    assert response.status_code == 200, response.text


async def _run(audit, now):
    async with audit.state.database.transaction() as session:
        return await run_retention(
            session, audit.state.audit.signer, audit.state.audit.settings, now
        )


async def test_retention_prunes_old_records_and_the_chain_still_verifies(
    client, platform, settings
):
    audit = audit_app(platform)
    short, long = str(uuid.uuid4()), str(uuid.uuid4())
    await _write(client, await tenant_service_headers(platform, short), short, 3)
    await _write(client, await tenant_service_headers(platform, long), long, 3)
    await _retain(client, platform, short, 30)  # seq 4 records the change
    third = (await records(platform, chain=short))[2]

    result = await _run(audit, third.recorded_at + timedelta(days=30))

    assert [(c.chain, c.pruned, c.through_seq) for c in result.chains] == [(short, 2, 2)]
    assert [r.seq for r in await records(platform, chain=short)] == [3, 4]
    assert len(await records(platform, chain=long)) == 3  # its tenant keeps the default
    chain = await _verify(audit, short)
    assert (chain.broken, chain.anchor_seq, chain.first_seq, chain.last_seq) == (None, 2, 3, 4)
    async with audit.state.database.transaction() as session:
        anchor = await session.scalar(
            select(AuditCheckpoint).where(
                AuditCheckpoint.chain == short, AuditCheckpoint.kind == "retention"
            )
        )
    assert anchor.hash == third.prev_hash

    # the chain goes on from where it was
    await _write(client, await tenant_service_headers(platform, short), short, 2)
    chain = await _verify(audit, short)
    assert (chain.broken, chain.first_seq, chain.last_seq) == (None, 3, 6)


async def test_a_chain_pruned_to_nothing_still_verifies_and_grows(client, platform, settings):
    audit = audit_app(platform)
    tenant = str(uuid.uuid4())
    headers = await tenant_service_headers(platform, tenant)
    await _write(client, headers, tenant, 2)
    await _retain(client, platform, tenant, 30)  # seq 3
    last = (await records(platform, chain=tenant))[-1]
    await _run(audit, last.recorded_at + timedelta(days=31))
    assert await records(platform, chain=tenant) == []
    assert (await _verify(audit, tenant)).broken is None
    await _write(client, headers, tenant, 1)
    chain = await _verify(audit, tenant)
    assert (chain.broken, chain.first_seq) == (None, 4)


async def test_deleting_past_the_retention_horizon_is_still_detected(client, platform, settings):
    audit = audit_app(platform)
    tenant = str(uuid.uuid4())
    await _write(client, await tenant_service_headers(platform, tenant), tenant, 4)
    await _retain(client, platform, tenant, 30)
    second = (await records(platform, chain=tenant))[1]
    await _run(audit, second.recorded_at + timedelta(days=30))  # prunes seq 1
    async with tampering(audit.state.database) as session:
        await session.delete(await session.get(AuditRecord, second.id))
    chain = await _verify(audit, tenant)
    assert (chain.broken.seq, chain.broken.reason) == (2, "records 2..2 are missing")


async def test_retention_settings_are_for_owners_and_the_job_for_platform_admins(client, platform):
    account = await register(client)
    got = await client.get("/api/v1/audit/retention", headers=account.headers)
    assert got.json()["data"] == {"chain": account.tenant_id, "days": None, "effective_days": 365}
    put = await client.put("/api/v1/audit/retention", json={"days": 30}, headers=account.headers)
    assert put.json()["data"]["effective_days"] == 30
    assert_error(
        await client.put("/api/v1/audit/retention", json={"days": 0}, headers=account.headers), 422
    )
    assert_error(await client.post("/api/v1/audit/retention/run", headers=account.headers), 403)
    root = await platform_admin(client, platform)
    ran = await client.post("/api/v1/audit/retention/run", headers=root.headers)
    assert ran.status_code == 200, ran.text
    assert ran.json()["data"] == {"chains": []}
