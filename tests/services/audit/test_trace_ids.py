"""A request can be followed into audit: each record carries the trace id of its request."""

from __future__ import annotations

import uuid

from devgen.services.audit.chain import canonical
from devgen.services.audit.service import trace_id_of
from tests.helpers import PASSWORD, login, register, unique_email
from tests.services.audit.conftest import wait_for_record
from tests.services.audit.test_integrity import _verify

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


async def test_a_record_carries_the_trace_id_of_the_request_and_is_found_by_it(client, platform):
    email = unique_email()
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD},
        headers={"traceparent": TRACEPARENT},
    )
    data = registered.json()["data"]
    tenant_id = data["tenant"]["id"]
    record = await wait_for_record(
        platform, action="identity.user.registered", tenant_id=uuid.UUID(tenant_id)
    )
    assert record.trace_id == TRACE

    tokens = await login(client, email)
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    found = await client.get("/api/v1/audit/events", params={"trace_id": TRACE}, headers=headers)
    assert found.status_code == 200, found.text
    assert [r["id"] for r in found.json()["data"]] == [str(record.id)]
    assert found.json()["data"][0]["trace_id"] == TRACE
    other = await client.get("/api/v1/audit/events", params={"trace_id": "f" * 32}, headers=headers)
    assert other.json()["data"] == []
    # The trace id is hashed with the record: the chain still verifies.
    chain = await _verify(platform, tenant_id)
    assert chain.broken is None


async def test_a_malformed_trace_id_filter_is_refused(client, platform):
    token = (await register(client)).access_token
    response = await client.get(
        "/api/v1/audit/events",
        params={"trace_id": "not-a-trace"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_only_well_formed_non_zero_trace_ids_are_kept():
    assert trace_id_of(TRACEPARENT) == TRACE
    assert trace_id_of(None) is None
    assert trace_id_of("garbage") is None
    assert trace_id_of(f"00-{'0' * 32}-00f067aa0ba902b7-01") is None


def test_records_from_before_trace_ids_keep_their_canonical_form():
    """A record without a trace id hashes as before the field existed (old chains verify)."""
    fields = {name: None for name in ("id", "chain", "seq", "event_id", "time", "recorded_at",
              "tenant_id", "actor", "action", "resource_type", "resource_id", "outcome",
              "source", "request_id", "ip", "user_agent", "level", "data")}  # fmt: skip
    assert canonical({**fields, "trace_id": None}) == canonical(fields)
    assert TRACE in canonical({**fields, "trace_id": TRACE})
