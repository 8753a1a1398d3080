"""Audit's tests, through the all-in-one platform (integrity tests also on PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from devgen.services.audit.models import AuditRecord
from devgen.services.identity.service import create_user
from tests.helpers import PASSWORD, Account, eventually, login, register, unique_email


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


async def service_headers(client: httpx.AsyncClient, settings, service: str = "storage") -> dict:
    """Authorization headers with a service token for ``service``."""
    secret = settings.auth.service_secret.get_secret_value()
    response = await client.post(
        "/api/v1/auth/service-token", json={"service": service, "secret": secret}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


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
        added = await client.post(
            f"/api/v1/tenants/{tenant_id}/members",
            json={"email": person.email, "role": role},
            headers=boss.headers,
        )
        assert added.status_code == 201, added.text
        tokens = await login(client, person.email, tenant_id=tenant_id)
        members[role] = Account(
            person.email, person.password, person.user_id, tenant_id, tokens["access_token"], ""
        )
    return Team(tenant_id, boss, members)
