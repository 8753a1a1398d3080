"""Audit's tests, through the all-in-one platform (integrity tests also on PostgreSQL)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from devgen.services.audit.models import AuditRecord
from devgen.services.identity.service import create_user
from tests.helpers import (
    PASSWORD,
    Account,
    add_member,
    eventually,
    login,
    register,
    service_token,
    unique_email,
)


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Audit records what identity emits; nothing else needs to run."""
    return ("identity", "audit")


def audit_app(platform: FastAPI) -> FastAPI:
    """The audit service inside the platform."""
    return platform.state.upstream_apps["audit"]


async def records(platform: FastAPI, **where: object) -> list[AuditRecord]:
    """Audit records straight from audit's database, oldest first."""
    query = select(AuditRecord).order_by(AuditRecord.recorded_at, AuditRecord.seq)
    for name, value in where.items():
        query = query.where(getattr(AuditRecord, name) == value)
    async with audit_app(platform).state.database.transaction() as session:
        return list(await session.scalars(query))


async def wait_for_record(platform: FastAPI, **where: object) -> AuditRecord:
    """The one record matching ``where`` once the bus delivered it."""

    async def found() -> list[AuditRecord]:
        return await records(platform, **where)

    [record] = await eventually(found)
    return record


async def platform_admin(client: httpx.AsyncClient, platform: FastAPI) -> Account:
    """A platform administrator, created as ``devgen user create --admin`` does."""
    identity = platform.state.upstream_apps["identity"].state.identity
    email = unique_email("root")
    async with identity.database.transaction() as session:
        user, tenant = await create_user(
            session, identity, email=email, password=PASSWORD, platform_admin=True
        )
    tokens = await login(client, email)
    return Account(
        email,
        PASSWORD,
        str(user.id),
        str(tenant.id),
        tokens["access_token"],
        tokens["refresh_token"],
    )


async def service_headers(
    client: httpx.AsyncClient,
    settings,
    service: str = "storage",
    *,
    on_behalf: Account | None = None,
) -> dict:
    """Authorization headers with a service token for ``service`` from identity's endpoint.

    Minted for no tenant, or with ``on_behalf`` for that account's tenant,
    acting for the account (identity checks it is an active member). Asked of
    identity directly, as a service does: the gateway does not route it.
    """
    platform = client._transport.app  # the in-process platform the client talks to
    who = {}
    if on_behalf is not None:
        who = {"tenant_id": on_behalf.tenant_id, "user_id": on_behalf.user_id}
    return {"Authorization": f"Bearer {await service_token(platform, service, **who)}"}


async def tenant_service_headers(
    platform: FastAPI, tenant_id: str, service: str = "storage"
) -> dict:
    """Headers with a service token minted for ``tenant_id`` by identity's own issuer.

    For chains that must hold only what the test writes: the tenant needs no
    members (so no sign-up events land in it), and the token is the same a
    service gets from ``/auth/service-token`` with a tenant.
    """
    issuer = platform.state.upstream_apps["identity"].state.identity.issuer
    token = await issuer.issue_service(
        service, tenant_id=uuid.UUID(tenant_id), user_id=uuid.uuid4(), role="member"
    )
    return {"Authorization": f"Bearer {token.token}"}


@dataclass
class Team:
    """A tenant with an owner, and members by role, each signed into it."""

    tenant_id: str
    owner: Account
    members: dict[str, Account]


async def team(client: httpx.AsyncClient, *roles: str) -> Team:
    """A new tenant owned by a new user, with one new member per role in ``roles``."""
    owner = await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    tenant_id = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": tenant_id}, headers=owner.headers
    )
    tokens = switched.json()["data"]
    boss = Account(
        owner.email, owner.password, owner.user_id, tenant_id, tokens["access_token"], ""
    )
    members = {}
    for role in roles:
        person = await register(client)
        await add_member(client, boss, person, role)
        tokens = await login(client, person.email, tenant_id=tenant_id)
        members[role] = Account(
            person.email, person.password, person.user_id, tenant_id, tokens["access_token"], ""
        )
    return Team(tenant_id, boss, members)
