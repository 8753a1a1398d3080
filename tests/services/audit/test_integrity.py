"""Tamper evidence: the database refuses changes, and verify finds any change made anyway."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from devgen.kit.auth.ed25519 import unb64url as _unb64url
from devgen.services.audit.models import AuditCheckpoint, AuditRecord
from devgen.services.audit.service import Scope, checkpoint_heads, verify
from devgen.services.audit.signing import signed_payload
from tests.helpers import assert_error
from tests.services.audit.conftest import audit_app, team, tenant_service_headers
from tests.services.audit.tampering import tampering


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """What the database enforces is tested on both backends."""
    return str(request.param)


async def _chain_of_five(client, platform) -> tuple[str, list[str]]:
    """A tenant chain of five records written by a service; returns (tenant, record ids)."""
    tenant_id = str(uuid.uuid4())
    headers = await tenant_service_headers(platform, tenant_id)
    ids = []
    for number in range(5):
        body = {"action": "storage.file.read", "tenant_id": tenant_id, "data": {"n": number}}
        written = await client.post("/api/v1/audit/events", json=body, headers=headers)
        assert written.status_code == 201, written.text
        ids.append(written.json()["data"]["id"])
    return tenant_id, ids


async def _verify(platform, tenant_id: str):
    audit = audit_app(platform)
    async with audit.state.database.transaction() as session:
        scope = Scope(uuid.UUID(tenant_id), all_tenants=False)
        report = await verify(session, audit.state.audit.signer, scope)
    [chain] = report.chains
    return chain


async def test_an_untouched_chain_verifies(client, platform, settings):
    tenant_id, _ = await _chain_of_five(client, platform)
    chain = await _verify(platform, tenant_id)
    assert (chain.records, chain.first_seq, chain.last_seq, chain.broken) == (5, 1, 5, None)


async def test_the_database_refuses_updates_and_deletes(client, platform, settings):
    tenant_id, _ = await _chain_of_five(client, platform)
    audit = audit_app(platform)
    database = audit.state.database
    async with database.transaction() as session:
        await checkpoint_heads(session, audit.state.audit.signer)
    for statement in (
        "UPDATE audit_records SET outcome = 'failure'",
        "DELETE FROM audit_records",
        "DELETE FROM audit_checkpoints",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.transaction() as session:
                await session.execute(text(statement))
    assert (await _verify(platform, tenant_id)).records == 5


async def test_editing_a_records_data_is_detected(client, platform, settings):
    tenant_id, ids = await _chain_of_five(client, platform)
    async with tampering(audit_app(platform).state.database) as session:
        record = await session.get(AuditRecord, uuid.UUID(ids[2]))
        record.data = {"n": 99}
    chain = await _verify(platform, tenant_id)
    assert (chain.broken.seq, chain.broken.reason) == (3, "the record was altered")


async def test_editing_a_record_and_rehashing_it_is_detected(client, platform, settings):
    tenant_id, ids = await _chain_of_five(client, platform)
    async with tampering(audit_app(platform).state.database) as session:
        from devgen.services.audit.chain import digest

        record = await session.get(AuditRecord, uuid.UUID(ids[1]))
        record.actor = "user:someone-else"
        record.hash = digest(record.prev_hash, record)
    chain = await _verify(platform, tenant_id)
    assert (chain.broken.seq, chain.broken.reason) == (
        3,
        "the record does not link to the one before it",
    )


async def test_deleting_a_record_is_detected(client, platform, settings):
    tenant_id, ids = await _chain_of_five(client, platform)
    async with tampering(audit_app(platform).state.database) as session:
        await session.delete(await session.get(AuditRecord, uuid.UUID(ids[1])))
    chain = await _verify(platform, tenant_id)
    assert (chain.broken.seq, chain.broken.reason) == (2, "records 2..2 are missing")


async def test_reordering_two_records_is_detected(client, platform, settings):
    tenant_id, ids = await _chain_of_five(client, platform)
    async with tampering(audit_app(platform).state.database) as session:
        for record_id, seq in ((ids[1], -1), (ids[2], 2), (ids[1], 3)):
            await session.execute(
                update(AuditRecord).where(AuditRecord.id == uuid.UUID(record_id)).values(seq=seq)
            )
    chain = await _verify(platform, tenant_id)
    assert chain.broken.seq == 2
    assert chain.broken.reason in {
        "the record does not link to the one before it",
        "the record was altered",
    }


async def test_truncating_the_tail_is_detected_by_the_head_and_by_a_checkpoint(
    client, platform, settings
):
    tenant_id, ids = await _chain_of_five(client, platform)
    audit = audit_app(platform)
    async with audit.state.database.transaction() as session:
        assert await checkpoint_heads(session, audit.state.audit.signer) >= 1
    async with tampering(audit.state.database) as session:
        for record_id in ids[3:]:
            await session.delete(await session.get(AuditRecord, uuid.UUID(record_id)))
        # A careful attacker also winds the chain head back; the signed checkpoint remains.
        await session.execute(
            text("UPDATE audit_chains SET last_seq = 3 WHERE chain = :chain"), {"chain": tenant_id}
        )
    chain = await _verify(platform, tenant_id)
    assert chain.broken.seq == 4
    assert "were removed from the end" in chain.broken.reason


async def test_a_forged_checkpoint_is_detected(client, platform, settings):
    tenant_id, _ = await _chain_of_five(client, platform)
    audit = audit_app(platform)
    async with audit.state.database.transaction() as session:
        await checkpoint_heads(session, audit.state.audit.signer)
    async with tampering(audit.state.database) as session:
        checkpoint = await session.scalar(
            select(AuditCheckpoint).where(AuditCheckpoint.chain == tenant_id)
        )
        checkpoint.seq = 3  # pretend the chain was signed shorter
    chain = await _verify(platform, tenant_id)
    assert chain.broken.reason == "a checkpoint's signature is not valid"


async def test_checkpoints_verify_with_the_published_keys(client, platform, settings):
    tenant_id, _ = await _chain_of_five(client, platform)
    audit = audit_app(platform)
    async with audit.state.database.transaction() as session:
        await checkpoint_heads(session, audit.state.audit.signer)
    jwks = (await client.get("/api/v1/audit/jwks.json")).json()
    async with audit.state.database.transaction() as session:
        checkpoint = await session.scalar(
            select(AuditCheckpoint).where(AuditCheckpoint.chain == tenant_id)
        )
    [key] = [k for k in jwks["keys"] if k["kid"] == checkpoint.kid]
    public = Ed25519PublicKey.from_public_bytes(_unb64url(key["x"]))
    payload = signed_payload(
        checkpoint.chain, checkpoint.seq, checkpoint.hash, checkpoint.kind, checkpoint.created_at
    )
    public.verify(_unb64url(checkpoint.signature), payload)  # raises when invalid
    assert checkpoint.seq == 5


async def test_verify_over_http_reports_the_callers_chain(client, platform):
    crew = await team(client, "member")
    response = await client.get("/api/v1/audit/verify", headers=crew.owner.headers)
    assert response.status_code == 200, response.text
    report = response.json()["data"]
    assert report["valid"] is True
    assert [c["chain"] for c in report["chains"]] == [crew.tenant_id]
    assert_error(
        await client.get("/api/v1/audit/verify", headers=crew.members["member"].headers), 403
    )
