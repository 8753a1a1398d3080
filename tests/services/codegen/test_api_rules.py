"""``POST /codegen/analyze`` says what will be built (entities, rules) and what will not."""

from __future__ import annotations

import httpx

from tests.helpers import Account, assert_error

API = "/api/v1/codegen"
REQUIREMENT = """# Car rentals
Each vehicle has a plate and a number of seats.
Each rental has a pickup date and a return date.
A rental belongs to a vehicle.
The return date must be after the pickup date.
Rentals of the same vehicle must not overlap.
Vehicles are washed after every rental.
"""


async def test_analysis_lists_what_will_be_built_and_what_will_not(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.post(
        f"{API}/analyze", json={"requirement": REQUIREMENT}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    plan = data["will_build"]
    assert [e["name"] for e in plan["entities"]] == ["rental", "vehicle"]
    assert {(r["id"], r["kind"]) for r in plan["rules"]} == {
        ("rental.compare.1", "compare"),
        ("rental.no_overlap.1", "no_overlap"),
    }
    compare = next(r for r in plan["rules"] if r["kind"] == "compare")
    assert compare["summary"] == "rental.return_date > rental.pickup_date"
    assert compare["source"] == "The return date must be after the pickup date"
    assert data["not_implemented"] == data["spec"]["not_implemented"]
    (dropped,) = data["not_implemented"]
    assert dropped["sentence"] == "Vehicles are washed after every rental"
    assert dropped["reason"]
    assert dropped["suggestion"]


async def test_a_spec_object_is_validated_and_planned(
    client: httpx.AsyncClient, account: Account
) -> None:
    spec = {
        "name": "notes",
        "auth_required": True,
        "entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}],
                      "rules": [{"kind": "search", "id": "note.search.1",
                                 "fields": ["title"]}]}],
    }  # fmt: skip

    response = await client.post(f"{API}/analyze", json={"spec": spec}, headers=account.headers)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["source"] == "spec"
    assert data["spec"]["auth"]["mode"] == "static_token"
    assert data["will_build"]["auth"] == "static_token"
    assert [r["summary"] for r in data["will_build"]["rules"]] == ["?q= searches title"]
    assert data["not_implemented"] == []


async def test_a_spec_object_with_a_bad_rule_is_refused_at_its_path(
    client: httpx.AsyncClient, account: Account
) -> None:
    spec = {
        "name": "notes",
        "entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}],
                      "rules": [{"kind": "range", "id": "note.range.1", "field": "title"}]}],
    }  # fmt: skip

    response = await client.post(f"{API}/analyze", json={"spec": spec}, headers=account.headers)

    error = assert_error(response, 422, "INVALID_SPEC")
    assert [p["path"] for p in error["details"]["problems"]] == ["entities[0].rules[0].field"]


async def test_analysis_needs_exactly_one_of_requirement_and_spec(
    client: httpx.AsyncClient, account: Account
) -> None:
    both = {"requirement": "Each book has a title.", "spec": {"name": "x"}}

    neither = await client.post(f"{API}/analyze", json={}, headers=account.headers)
    two = await client.post(f"{API}/analyze", json=both, headers=account.headers)

    assert_error(neither, 422, "VALIDATION_ERROR")
    assert_error(two, 422, "VALIDATION_ERROR")


async def test_a_state_machine_is_analysed_with_its_transitions_written_from(
    client: httpx.AsyncClient, account: Account
) -> None:
    requirement = (
        "Each claim has a title and a status that is one of draft, submitted or approved.\n"
        "The status of a claim goes from draft to submitted then approved.\n"
    )

    response = await client.post(
        f"{API}/analyze", json={"requirement": requirement}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    (claim,) = response.json()["data"]["spec"]["entities"]
    (rule,) = claim["rules"]
    assert rule["transitions"] == [
        {"from": "draft", "to": ["submitted"]},
        {"from": "submitted", "to": ["approved"]},
    ]
