"""NUL bytes and 1 MB strings in every text field: a 4xx in the envelope, never a 500, no change."""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, register
from tests.services.profile.support import AVATAR, ME, NOTIFICATIONS, image_bytes, upload

NUL = "a\x00b"
HUGE = "x" * (1024 * 1024)
HOOK = "https://hooks.example.com/x"


def _values(bad: str) -> list[tuple[str, str, object]]:
    """(method, path, JSON body) with ``bad`` as each text value profile reads, one at a time."""
    patches = [
        {field: bad}
        for field in ("theme", "language", "default_engine", "default_programming_language")
    ]
    notifications = [
        {"run_completed": {"channel": bad}},
        {"run_failed": {"channel": "webhook", "webhook_url": bad}},
        {"run_failed": {"channel": "webhook", "webhook_url": f"{HOOK}/{bad}"}},
        {"security_alert": {"channel": "email", "webhook_url": bad}},
    ]
    return [
        *(("PATCH", ME, body) for body in patches),
        *(("PUT", NOTIFICATIONS, body) for body in notifications),
    ]


def _keys(bad: str) -> list[tuple[str, str, object]]:
    """(method, path, JSON body) with ``bad`` as a field name."""
    return [
        ("PATCH", ME, {bad: "dark"}),
        ("PUT", NOTIFICATIONS, {bad: {"channel": "email"}}),
        ("PUT", NOTIFICATIONS, {"weekly_digest": {"channel": "none", bad: "x"}}),
    ]


@pytest.mark.parametrize("bad", [NUL, HUGE], ids=["nul", "1mb"])
async def test_every_text_field_refuses_nul_and_huge_values(client, bad):
    account = await register(client)
    profile = (await client.get(ME, headers=account.headers)).json()["data"]
    notifications = (await client.get(NOTIFICATIONS, headers=account.headers)).json()["data"]
    for method, path, body in _values(bad):
        response = await client.request(method, path, json=body, headers=account.headers)
        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert error["details"]["errors"]
        # The error never echoes a value back.
        assert bad not in response.text
    for method, path, body in _keys(bad):
        response = await client.request(method, path, json=body, headers=account.headers)
        assert_error(response, 422, "VALIDATION_ERROR")
    assert (await client.get(ME, headers=account.headers)).json()["data"] == profile
    assert (await client.get(NOTIFICATIONS, headers=account.headers)).json()["data"] == (
        notifications
    )


@pytest.mark.parametrize("bad", [NUL, HUGE], ids=["nul", "1mb"])
async def test_text_instead_of_an_image_is_refused(client, bad):
    account = await register(client)
    response = await client.put(
        AVATAR, files=upload(bad.encode(), filename="a.png"), headers=account.headers
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(await client.get(AVATAR, headers=account.headers), 404)


async def test_a_raw_nul_byte_in_the_json_is_refused(client):
    account = await register(client)
    response = await client.patch(
        ME,
        content=b'{"theme": "da\x00rk"}',
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 422, "VALIDATION_ERROR")


async def test_a_huge_if_none_match_is_refused(client):
    account = await register(client)
    response = await client.get(AVATAR, headers={**account.headers, "If-None-Match": HUGE})
    assert response.status_code in {413, 422, 431}, response.text
    assert_error(response, response.status_code)


async def test_the_upload_filename_is_never_used_or_echoed(client):
    account = await register(client)
    # A part header too long for the multipart parser is a malformed body (400).
    for filename, status in [
        ("a\x00b.png", 200),
        ("../../etc/passwd", 200),
        ("x" * 100_000 + ".png", 400),
    ]:
        response = await client.put(
            AVATAR,
            files=upload(image_bytes("PNG", (8, 8)), filename=filename),
            headers=account.headers,
        )
        assert response.status_code == status, response.text
        assert filename not in response.text
        assert "passwd" not in response.text
