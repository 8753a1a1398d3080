"""``GET/PUT /api/v1/profiles/me/notifications``: a channel per event kind, webhooks https only."""

from __future__ import annotations

from tests.helpers import assert_error, register
from tests.services.profile.support import NOTIFICATIONS

DEFAULTS = {
    "run_completed": {"channel": "email", "webhook_url": None},
    "run_failed": {"channel": "email", "webhook_url": None},
    "security_alert": {"channel": "email", "webhook_url": None},
    "weekly_digest": {"channel": "none", "webhook_url": None},
}
HOOK = "https://hooks.example.com/devgen/3f9c?token=abc"


async def test_defaults_before_anything_is_set(client):
    account = await register(client)
    response = await client.get(NOTIFICATIONS, headers=account.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": DEFAULTS, "metadata": {}}


async def test_put_replaces_every_kind(client):
    account = await register(client)
    wanted = {
        "run_completed": {"channel": "none"},
        "run_failed": {"channel": "webhook", "webhook_url": HOOK},
        "security_alert": {"channel": "email"},
        "weekly_digest": {"channel": "email"},
    }
    response = await client.put(NOTIFICATIONS, json=wanted, headers=account.headers)
    assert response.status_code == 200, response.text
    expected = {kind: {"webhook_url": None, **value} for kind, value in wanted.items()}
    assert response.json()["data"] == expected
    stored = await client.get(NOTIFICATIONS, headers=account.headers)
    assert stored.json()["data"] == expected


async def test_kinds_left_out_go_back_to_their_default(client):
    account = await register(client)
    everything_off = {kind: {"channel": "none"} for kind in DEFAULTS}
    await client.put(NOTIFICATIONS, json=everything_off, headers=account.headers)
    response = await client.put(
        NOTIFICATIONS, json={"run_failed": {"channel": "none"}}, headers=account.headers
    )
    assert response.json()["data"] == {
        **DEFAULTS,
        "run_failed": {"channel": "none", "webhook_url": None},
    }


async def test_switching_away_from_webhook_drops_the_url(client):
    account = await register(client)
    await client.put(
        NOTIFICATIONS,
        json={"run_failed": {"channel": "webhook", "webhook_url": HOOK}},
        headers=account.headers,
    )
    response = await client.put(
        NOTIFICATIONS, json={"run_failed": {"channel": "email"}}, headers=account.headers
    )
    assert response.json()["data"]["run_failed"] == {"channel": "email", "webhook_url": None}


async def _assert_refused(client, account, setting, location) -> None:
    response = await client.put(
        NOTIFICATIONS,
        json={"run_completed": {"channel": "none"}, "run_failed": setting},
        headers=account.headers,
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    locations = [e["location"] for e in error["details"]["errors"]]
    assert locations, (setting, error)
    assert all(loc.startswith("body.run_failed") for loc in locations), (setting, locations)
    assert any(loc.startswith(location) for loc in locations), (setting, locations)
    stored = await client.get(NOTIFICATIONS, headers=account.headers)
    assert stored.json()["data"] == DEFAULTS, setting


async def test_a_webhook_url_goes_with_the_webhook_channel_only(client):
    account = await register(client)
    for setting in [
        {"channel": "webhook"},
        {"channel": "webhook", "webhook_url": None},
        {"channel": "email", "webhook_url": HOOK},
        {"channel": "none", "webhook_url": HOOK},
    ]:
        await _assert_refused(client, account, setting, "body.run_failed")


async def test_channels_outside_the_choices_are_refused(client):
    account = await register(client)
    for setting, location in [
        ({"channel": "sms"}, "body.run_failed.channel"),
        ({"channel": "EMAIL"}, "body.run_failed.channel"),
        ({"channel": None}, "body.run_failed.channel"),
        ({}, "body.run_failed.channel"),
        ({"channel": "none", "extra": 1}, "body.run_failed.extra"),
        ("email", "body.run_failed"),
    ]:
        await _assert_refused(client, account, setting, location)


async def test_unsafe_webhook_urls_are_refused(client):
    account = await register(client)
    for url in [
        "http://hooks.example.com/x",
        "https://localhost/x",
        "https://10.0.0.8/x",
        "https://169.254.169.254/latest/meta-data",
        "https://user:pw@example.com/",
        "not a url",
        42,
    ]:
        setting = {"channel": "webhook", "webhook_url": url}
        await _assert_refused(client, account, setting, "body.run_failed.webhook_url")


async def test_unknown_event_kinds_are_refused(client):
    account = await register(client)
    response = await client.put(
        NOTIFICATIONS, json={"run_exploded": {"channel": "email"}}, headers=account.headers
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert [e["location"] for e in error["details"]["errors"]] == ["body.run_exploded"]


async def test_a_body_that_is_not_an_object_is_refused(client):
    account = await register(client)
    response = await client.put(NOTIFICATIONS, json=["email"], headers=account.headers)
    assert_error(response, 422, "VALIDATION_ERROR")
