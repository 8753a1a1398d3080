"""Invitations: nobody joins a tenant without accepting, and inviting enumerates nobody."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from devgen.kit.db import utcnow
from devgen.services.identity.models import Invitation
from tests.helpers import Account, add_member, assert_error, invite, login, register, unique_email
from tests.services.identity.test_tenants_api import _as_member, _team_with


def _shape(value):
    """The structure of a JSON value: keys and value types, not the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


async def _member_emails(client, team: Account) -> set[str]:
    listed = await client.get(f"/api/v1/tenants/{team.tenant_id}/members", headers=team.headers)
    assert listed.status_code == 200, listed.text
    return {m["email"] for m in listed.json()["data"]}


async def _expire(platform, invitation_id: str) -> None:
    identity = platform.state.upstream_apps["identity"]
    async with identity.state.database.transaction() as session:
        await session.execute(
            update(Invitation)
            .where(Invitation.id == uuid.UUID(invitation_id))
            .values(expires_at=utcnow())
        )


async def test_the_inviters_answer_is_the_same_for_known_and_unknown_addresses(client):
    owner = await register(client)
    known = await register(client)
    team = await _team_with(client, owner)
    url = f"/api/v1/tenants/{team.tenant_id}/invitations"
    for_known = await client.post(
        url, json={"email": known.email, "role": "member"}, headers=team.headers
    )
    for_unknown = await client.post(
        url, json={"email": unique_email(), "role": "member"}, headers=team.headers
    )
    assert for_known.status_code == for_unknown.status_code == 202
    assert sorted(for_known.headers) == sorted(for_unknown.headers)
    assert _shape(for_known.json()) == _shape(for_unknown.json())
    data = for_known.json()["data"]
    assert set(data) == {
        "id",
        "tenant_id",
        "email",
        "role",
        "state",
        "created_at",
        "expires_at",
        "closed_at",
        "token",
    }
    assert (data["email"], data["role"], data["state"]) == (known.email, "member", "pending")
    assert known.user_id not in for_known.text


async def test_the_invitee_is_a_member_only_after_accepting(client):
    owner = await register(client)
    invitee = await register(client)
    team = await _team_with(client, owner)
    invitation = await invite(client, team, invitee.email, "viewer")
    assert invitee.email not in await _member_emails(client, team)
    refused = await client.post(
        "/api/v1/auth/login",
        json={"email": invitee.email, "password": invitee.password, "tenant_id": team.tenant_id},
    )
    assert_error(refused, 404)

    mine = await client.get("/api/v1/invitations", headers=invitee.headers)
    assert [(i["id"], i["tenant_name"], i["role"]) for i in mine.json()["data"]] == [
        (invitation["id"], "Team", "viewer")
    ]
    assert "token" not in mine.json()["data"][0]
    accepted = await client.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=invitee.headers
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["state"] == "accepted"
    assert invitee.email in await _member_emails(client, team)
    as_invitee = await _as_member(client, invitee, team.tenant_id)
    me = await client.get("/api/v1/auth/me", headers=as_invitee.headers)
    assert me.json()["data"]["role"] == "viewer"
    assert (await client.get("/api/v1/invitations", headers=invitee.headers)).json()["data"] == []


async def test_someone_elses_invitation_is_not_found(client):
    owner = await register(client)
    invitee = await register(client)
    other = await register(client)
    team = await _team_with(client, owner)
    invitation = await invite(client, team, invitee.email)
    for path, body in (
        (f"/api/v1/invitations/{invitation['id']}/accept", None),
        (f"/api/v1/invitations/{invitation['id']}/decline", None),
        ("/api/v1/invitations/accept", {"token": invitation["token"]}),
        ("/api/v1/invitations/decline", {"token": invitation["token"]}),
    ):
        assert_error(await client.post(path, json=body, headers=other.headers), 404, "NOT_FOUND")
    assert (await client.get("/api/v1/invitations", headers=other.headers)).json()["data"] == []
    assert other.email not in await _member_emails(client, team)
    # Untouched by the attempts: the invitee can still accept it.
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"]}, headers=invitee.headers
    )
    assert accepted.status_code == 200, accepted.text


async def test_an_invitation_token_works_once(client):
    owner = await register(client)
    invitee = await register(client)
    team = await _team_with(client, owner)
    invitation = await invite(client, team, invitee.email, "member")
    token = {"token": invitation["token"]}
    first = await client.post("/api/v1/invitations/accept", json=token, headers=invitee.headers)
    assert first.status_code == 200, first.text
    left = await client.delete(
        f"/api/v1/tenants/{team.tenant_id}/members/{invitee.user_id}", headers=team.headers
    )
    assert left.status_code == 204
    again = await client.post("/api/v1/invitations/accept", json=token, headers=invitee.headers)
    assert assert_error(again, 409, "CONFLICT")["details"] == {"state": "accepted"}
    assert invitee.email not in await _member_emails(client, team)


async def test_an_expired_invitation_is_refused(client, platform):
    owner = await register(client)
    invitee = await register(client)
    team = await _team_with(client, owner)
    invitation = await invite(client, team, invitee.email)
    await _expire(platform, invitation["id"])
    by_token = await client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"]}, headers=invitee.headers
    )
    assert assert_error(by_token, 409, "CONFLICT")["details"] == {"state": "expired"}
    by_id = await client.post(
        f"/api/v1/invitations/{invitation['id']}/accept", headers=invitee.headers
    )
    assert_error(by_id, 409)
    assert (await client.get("/api/v1/invitations", headers=invitee.headers)).json()["data"] == []
    assert invitee.email not in await _member_emails(client, team)
    listed = await client.get(
        f"/api/v1/tenants/{team.tenant_id}/invitations?state=expired", headers=team.headers
    )
    assert [i["id"] for i in listed.json()["data"]] == [invitation["id"]]
    # An expired invitation no longer blocks a new one for the same address.
    await invite(client, team, invitee.email)


async def test_viewers_and_members_cannot_invite(client):
    owner = await register(client)
    viewer, member = await register(client), await register(client)
    team = await _team_with(client, owner, (viewer, "viewer"), (member, "member"))
    for person in (viewer, member):
        signed_in = await _as_member(client, person, team.tenant_id)
        response = await client.post(
            f"/api/v1/tenants/{team.tenant_id}/invitations",
            json={"email": unique_email(), "role": "viewer"},
            headers=signed_in.headers,
        )
        assert_error(response, 403, "FORBIDDEN")
        listing = await client.get(
            f"/api/v1/tenants/{team.tenant_id}/invitations", headers=signed_in.headers
        )
        assert_error(listing, 403)
    listed = await client.get(f"/api/v1/tenants/{team.tenant_id}/invitations", headers=team.headers)
    assert {i["email"] for i in listed.json()["data"]} == {viewer.email, member.email}


async def test_an_admin_cannot_invite_an_owner(client):
    owner = await register(client)
    admin = await register(client)
    team = await _team_with(client, owner, (admin, "admin"))
    as_admin = await _as_member(client, admin, team.tenant_id)
    url = f"/api/v1/tenants/{team.tenant_id}/invitations"
    refused = await client.post(
        url, json={"email": unique_email(), "role": "owner"}, headers=as_admin.headers
    )
    assert_error(refused, 403, "FORBIDDEN")
    allowed = await client.post(
        url, json={"email": unique_email(), "role": "admin"}, headers=as_admin.headers
    )
    assert allowed.status_code == 202, allowed.text
    by_owner = await client.post(
        url, json={"email": unique_email(), "role": "owner"}, headers=team.headers
    )
    assert by_owner.status_code == 202, by_owner.text


async def test_api_keys_cannot_invite_or_answer_invitations(client):
    owner = await register(client)
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["admin"]}, headers=owner.headers
    )
    key = {"Authorization": f"Bearer {created.json()['data']['secret']}"}
    refused = await client.post(
        f"/api/v1/tenants/{owner.tenant_id}/invitations",
        json={"email": unique_email()},
        headers=key,
    )
    assert_error(refused, 403)
    assert_error(await client.get("/api/v1/invitations", headers=key), 403)


async def test_inviting_a_member_or_an_address_already_invited_conflicts(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner, (member, "member"))
    url = f"/api/v1/tenants/{team.tenant_id}/invitations"
    assert_error(await client.post(url, json={"email": member.email}, headers=team.headers), 409)
    address = unique_email()
    await invite(client, team, address)
    again = await client.post(url, json={"email": address.upper()}, headers=team.headers)
    assert_error(again, 409, "CONFLICT")


async def test_admins_list_and_revoke_pending_invitations(client):
    owner = await register(client)
    invitee = await register(client)
    team = await _team_with(client, owner)
    kept = await invite(client, team, unique_email())
    withdrawn = await invite(client, team, invitee.email)
    url = f"/api/v1/tenants/{team.tenant_id}/invitations"
    listed = (await client.get(url, headers=team.headers)).json()
    assert listed["metadata"]["total"] == 2
    assert {i["id"] for i in listed["data"]} == {kept["id"], withdrawn["id"]}
    assert all("token" not in i for i in listed["data"])

    revoked = await client.delete(f"{url}/{withdrawn['id']}", headers=team.headers)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["data"]["state"] == "revoked"
    again = await client.delete(f"{url}/{withdrawn['id']}", headers=team.headers)
    assert again.json()["data"]["state"] == "revoked"
    pending = (await client.get(f"{url}?state=pending", headers=team.headers)).json()["data"]
    assert [i["id"] for i in pending] == [kept["id"]]

    accept = await client.post(
        "/api/v1/invitations/accept", json={"token": withdrawn["token"]}, headers=invitee.headers
    )
    assert assert_error(accept, 409)["details"] == {"state": "revoked"}
    assert invitee.email not in await _member_emails(client, team)
    assert_error(await client.get(f"{url}?stat=pending", headers=team.headers), 422)
    assert_error(await client.get(f"{url}?state=gone", headers=team.headers), 422)


async def test_an_accepted_invitation_cannot_be_revoked(client):
    owner = await register(client)
    member = await register(client)
    team = await _team_with(client, owner)
    accepted = await add_member(client, team, member)
    response = await client.delete(
        f"/api/v1/tenants/{team.tenant_id}/invitations/{accepted['id']}", headers=team.headers
    )
    assert_error(response, 409)
    assert member.email in await _member_emails(client, team)


async def test_another_tenants_invitation_is_not_found(client):
    owner, other_owner = await register(client), await register(client)
    team = await _team_with(client, owner)
    other_team = await _team_with(client, other_owner)
    invitation = await invite(client, team, unique_email())
    mine = f"/api/v1/tenants/{team.tenant_id}/invitations"
    theirs = f"/api/v1/tenants/{other_team.tenant_id}/invitations"
    assert_error(await client.get(mine, headers=other_team.headers), 404)
    assert_error(await client.delete(f"{mine}/{invitation['id']}", headers=other_team.headers), 404)
    assert_error(
        await client.delete(f"{theirs}/{invitation['id']}", headers=other_team.headers), 404
    )
    assert_error(
        await client.post(mine, json={"email": unique_email()}, headers=other_team.headers), 404
    )
    still = (await client.get(f"{mine}?state=pending", headers=team.headers)).json()["data"]
    assert [i["id"] for i in still] == [invitation["id"]]


async def test_declining_leaves_no_membership_and_ends_the_invitation(client):
    owner = await register(client)
    invitee = await register(client)
    team = await _team_with(client, owner)
    invitation = await invite(client, team, invitee.email)
    declined = await client.post(
        f"/api/v1/invitations/{invitation['id']}/decline", headers=invitee.headers
    )
    assert declined.json()["data"]["state"] == "declined"
    accept = await client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"]}, headers=invitee.headers
    )
    assert_error(accept, 409)
    assert invitee.email not in await _member_emails(client, team)


async def test_an_address_invited_before_registering_sees_the_invitation_after(client):
    owner = await register(client)
    team = await _team_with(client, owner)
    address = unique_email()
    invitation = await invite(client, team, address.upper(), "member")
    assert invitation["email"] == address
    newcomer = await register(client, address)
    mine = (await client.get("/api/v1/invitations", headers=newcomer.headers)).json()["data"]
    assert [i["id"] for i in mine] == [invitation["id"]]
    await client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=newcomer.headers)
    tokens = await login(client, address, tenant_id=team.tenant_id)
    assert tokens["tenant_id"] == team.tenant_id
