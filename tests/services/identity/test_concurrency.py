"""Concurrent writers: every request succeeds (no "database is locked"), nothing is lost."""

from __future__ import annotations

import asyncio

from tests.helpers import PASSWORD, Account, invite, register, unique_email


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


async def test_concurrent_answers_to_one_invitation_have_one_winner(client):
    owner = await register(client)
    invitee = await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    team_id = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    team = Account(
        owner.email, PASSWORD, owner.user_id, team_id, switched.json()["data"]["access_token"], ""
    )
    token = {"token": (await invite(client, team, invitee.email))["token"]}
    answers = await asyncio.gather(
        *(
            client.post(f"/api/v1/invitations/{verb}", json=token, headers=invitee.headers)
            for verb in ("accept", "decline") * 3
        )
    )
    assert sorted(r.status_code for r in answers) == [200, 409, 409, 409, 409, 409]
    (winner,) = [r.json()["data"]["state"] for r in answers if r.status_code == 200]
    members = await client.get(f"/api/v1/tenants/{team_id}/members", headers=team.headers)
    joined = invitee.email in {m["email"] for m in members.json()["data"]}
    assert joined is (winner == "accepted")
