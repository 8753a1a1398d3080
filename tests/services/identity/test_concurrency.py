"""Concurrent writers: every request succeeds (no "database is locked"), nothing is lost."""

from __future__ import annotations

import asyncio

from tests.helpers import PASSWORD, register, unique_email


async def test_concurrent_registrations_and_refreshes_all_succeed(client):
    emails = [unique_email("burst") for _ in range(12)]
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/auth/register", json={"email": e, "password": PASSWORD})
            for e in emails
        )
    )
    assert [r.status_code for r in responses] == [201] * len(emails)
    account = await register(client)
    refreshed = await asyncio.gather(
        *(
            client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
            for _ in range(5)
        )
    )
    # Exactly one rotation wins; the others are reuse and revoke the family.
    assert sorted(r.status_code for r in refreshed) == [200, 401, 401, 401, 401]
