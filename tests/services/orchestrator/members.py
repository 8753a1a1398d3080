"""Putting a second user into a tenant, through identity's HTTP API.

The one place the orchestrator tests do it: identity is moving from adding
members directly to invitations, and only this helper has to follow.
"""

from __future__ import annotations

import httpx

from tests.helpers import Account, login, register


async def join(client: httpx.AsyncClient, owner: Account, role: str) -> Account:
    """A new account that is a ``role`` of ``owner``'s tenant, signed in to act there."""
    account = await register(client)
    added = await client.post(
        f"/api/v1/tenants/{owner.tenant_id}/members",
        json={"email": account.email, "role": role},
        headers=owner.headers,
    )
    assert added.status_code == 201, added.text
    tokens = await login(client, account.email, account.password, tenant_id=owner.tenant_id)
    account.tenant_id = owner.tenant_id
    account.access_token = tokens["access_token"]
    account.refresh_token = tokens["refresh_token"]
    return account
