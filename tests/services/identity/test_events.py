"""Identity's events: each change writes its event in the same transaction; service tokens."""

from __future__ import annotations

from sqlalchemy import select

from devgen.kit.events import Event
from devgen.kit.events.tables import outbox
from tests.helpers import (
    PASSWORD,
    Account,
    add_member,
    assert_error,
    invite,
    login,
    register,
    unique_email,
)


async def _events(platform, event_type: str | None = None) -> list[Event]:
    database = platform.state.upstream_apps["identity"].state.database
    query = select(outbox.c.envelope).order_by(outbox.c.position)
    if event_type is not None:
        query = query.where(outbox.c.type == event_type)
    async with database.transaction() as session:
        return [Event.from_json(raw) for raw in await session.scalars(query)]


async def _one(platform, event_type: str, subject: str | None = None) -> Event:
    found = [
        e for e in await _events(platform, event_type) if subject is None or e.subject == subject
    ]
    assert len(found) == 1, found
    return found[0]


async def test_registration_emits_user_registered_with_the_request_context(client, platform):
    email = unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD},
        headers={"X-Request-ID": "reg-42", "User-Agent": "tests/1"},
    )
    user = response.json()["data"]["user"]
    tenant = response.json()["data"]["tenant"]
    event = await _one(platform, "identity.user.registered", user["id"])
    assert event.source == "/devgen/identity"
    assert (event.tenant_id, event.actor) == (tenant["id"], f"user:{user['id']}")
    assert (event.request_id, event.user_agent) == ("reg-42", "tests/1")
    assert event.client_address == "203.0.113.7"
    assert event.data == {
        "user_id": user["id"],
        "tenant_id": tenant["id"],
        "email": email,
        "platform_admin": False,
    }


async def test_a_refused_registration_emits_nothing(client, platform):
    account = await register(client)
    again = await client.post(
        "/api/v1/auth/register", json={"email": account.email, "password": PASSWORD}
    )
    assert_error(again, 409)
    assert len(await _events(platform, "identity.user.registered")) == 1


async def test_sign_ins_succeeded_and_failed_are_both_recorded(client, platform):
    account = await register(client)
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "wrong password"}
    )
    assert_error(wrong, 401)
    stranger = unique_email()
    await client.post("/api/v1/auth/login", json={"email": stranger, "password": "whatever"})
    succeeded = await _one(platform, "identity.login.succeeded")
    assert (succeeded.subject, succeeded.tenant_id) == (account.user_id, account.tenant_id)
    assert succeeded.actor == f"user:{account.user_id}"
    failed = await _events(platform, "identity.login.failed")
    assert [(e.subject, e.data["email"], e.data["reason"]) for e in failed] == [
        (account.user_id, account.email, "invalid_credentials"),
        (None, stranger, "invalid_credentials"),
    ]
    assert all(e.actor is None and e.data["outcome"] == "failure" for e in failed)


async def test_a_locked_out_sign_in_is_recorded(client, platform):
    email = unique_email()
    for _ in range(6):
        await client.post("/api/v1/auth/login", json={"email": email, "password": "nope"})
    locked = await client.post("/api/v1/auth/login", json={"email": email, "password": "nope"})
    assert_error(locked, 429)
    reasons = [e.data["reason"] for e in await _events(platform, "identity.login.failed")]
    assert reasons[-1] == "locked"


async def test_logout_password_change_and_refresh_reuse_are_recorded(client, platform):
    account = await register(client)
    first = await client.post("/api/v1/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200
    reused = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert_error(reused, 401)
    reuse = await _one(platform, "identity.session.reuse_detected")
    assert reuse.data["user_id"] == account.user_id
    assert reuse.tenant_id == account.tenant_id

    tokens = await login(client, account.email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another good password"},
        headers=headers,
    )
    assert changed.status_code == 204
    assert (await _one(platform, "identity.user.password_changed")).actor == (
        f"user:{account.user_id}"
    )
    tokens = await login(client, account.email, "another good password")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.post("/api/v1/auth/logout", json={}, headers=headers)).status_code == 204
    logout = await _one(platform, "identity.user.logged_out")
    assert (logout.subject, logout.data["sessions_revoked"]) == (account.user_id, 1)


async def test_tenant_and_membership_changes_are_recorded(client, platform):
    owner, member = await register(client), await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    team_id = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    tokens = switched.json()["data"]
    team_owner = Account(owner.email, PASSWORD, owner.user_id, team_id, tokens["access_token"], "")
    headers = team_owner.headers
    members = f"/api/v1/tenants/{team_id}/members"
    await add_member(client, team_owner, member, "viewer")
    await client.patch(f"{members}/{member.user_id}", json={"role": "admin"}, headers=headers)
    await client.delete(f"{members}/{member.user_id}", headers=headers)

    tenant_created = await _one(platform, "identity.tenant.created", team_id)
    assert (tenant_created.tenant_id, tenant_created.actor) == (team_id, f"user:{owner.user_id}")
    added = await _one(platform, "identity.member.added", member.user_id)
    changed = await _one(platform, "identity.member.role_changed", member.user_id)
    removed = await _one(platform, "identity.member.removed", member.user_id)
    assert {added.tenant_id, changed.tenant_id, removed.tenant_id} == {team_id}
    assert added.data["role"] == "viewer"
    assert (changed.data["from"], changed.data["to"]) == ("viewer", "admin")
    assert (removed.data["role"], removed.data["left"]) == ("admin", False)


async def test_disabling_a_user_is_recorded(client, platform):
    owner, member = await register(client), await register(client)
    admin = await _team(client, owner, member, "member")
    disabled = await client.post(f"/api/v1/users/{member.user_id}/disable", headers=admin.headers)
    assert disabled.status_code == 200, disabled.text
    event = await _one(platform, "identity.user.disabled", member.user_id)
    assert (event.tenant_id, event.data["scope"]) == (admin.tenant_id, "tenant")


async def _team(client, owner: Account, member: Account, role: str) -> Account:
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    team_id = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    tokens = switched.json()["data"]
    admin = Account(owner.email, owner.password, owner.user_id, team_id, tokens["access_token"], "")
    await add_member(client, admin, member, role)
    return admin


async def test_invitations_are_recorded_in_the_inviting_tenant(client, platform):
    owner, joiner, refuser = await register(client), await register(client), await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    team_id = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-tenant", json={"tenant_id": team_id}, headers=owner.headers
    )
    tokens = switched.json()["data"]
    team_owner = Account(owner.email, PASSWORD, owner.user_id, team_id, tokens["access_token"], "")
    accepted = await add_member(client, team_owner, joiner, "viewer")
    declined = await invite(client, team_owner, refuser.email)
    await client.post(f"/api/v1/invitations/{declined['id']}/decline", headers=refuser.headers)
    stranger = unique_email()
    revoked = await invite(client, team_owner, stranger, "admin")
    await client.delete(
        f"/api/v1/tenants/{team_id}/invitations/{revoked['id']}", headers=team_owner.headers
    )

    made = await _events(platform, "identity.invitation.created")
    assert [(e.subject, e.data["email"], e.data["role"]) for e in made] == [
        (accepted["id"], joiner.email, "viewer"),
        (declined["id"], refuser.email, "member"),
        (revoked["id"], stranger, "admin"),
    ]
    assert all("user_id" not in e.data for e in made)
    envelopes = b"".join(e.to_json() for e in made).decode()
    assert declined["token"] not in envelopes
    assert revoked["token"] not in envelopes
    joined = await _one(platform, "identity.invitation.accepted", accepted["id"])
    assert (joined.tenant_id, joined.actor) == (team_id, f"user:{joiner.user_id}")
    assert joined.data == {
        "invitation_id": accepted["id"],
        "user_id": joiner.user_id,
        "role": "viewer",
    }
    added = await _one(platform, "identity.member.added", joiner.user_id)
    assert (added.tenant_id, added.data["role"]) == (team_id, "viewer")
    said_no = await _one(platform, "identity.invitation.declined", declined["id"])
    assert (said_no.tenant_id, said_no.data["user_id"]) == (team_id, refuser.user_id)
    withdrawn = await _one(platform, "identity.invitation.revoked", revoked["id"])
    assert (withdrawn.tenant_id, withdrawn.actor) == (team_id, f"user:{owner.user_id}")
    assert [e.subject for e in await _events(platform, "identity.member.added")] == [joiner.user_id]


async def test_a_password_change_records_each_api_key_it_revokes(client, platform):
    account = await register(client)
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=account.headers
    )
    key = created.json()["data"]
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another long password"},
        headers=account.headers,
    )
    assert changed.status_code == 204, changed.text
    revoked = await _one(platform, "identity.api_key.revoked", key["id"])
    assert (revoked.tenant_id, revoked.actor) == (account.tenant_id, f"user:{account.user_id}")
    assert revoked.data == {
        "api_key_id": key["id"],
        "owner_id": account.user_id,
        "reason": "password_changed",
    }
    event = await _one(platform, "identity.user.password_changed", account.user_id)
    assert event.data == {
        "user_id": account.user_id,
        "sessions_revoked": 1,
        "api_keys_revoked": 1,
    }


async def test_api_key_creation_and_revocation_are_recorded_without_the_secret(client, platform):
    account = await register(client)
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=account.headers
    )
    key = created.json()["data"]
    await client.delete(f"/api/v1/api-keys/{key['id']}", headers=account.headers)
    await client.delete(f"/api/v1/api-keys/{key['id']}", headers=account.headers)
    made = await _one(platform, "identity.api_key.created", key["id"])
    assert made.data["scopes"] == ["read"]
    assert key["secret"] not in made.to_json().decode()
    revoked = await _events(platform, "identity.api_key.revoked")
    assert [e.subject for e in revoked] == [key["id"]]  # revoking twice is one event
