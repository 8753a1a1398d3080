"""Property-based testing of storage's OpenAPI: no 5xx, no answer the schema does not allow.

Cases generated from storage's own schema go through the in-process
platform (gateway, identity for the keys, storage) with a registered user's
token; valid (positive) and invalid (negative) inputs are both generated and
each answer is checked against the schema. Hypothesis runs inside the
test's event loop, so the platform the fixtures started serves every case.

The multipart operations (file upload, zip upload) are fuzzed with valid
data (`requests` encodes the bodies exactly as schemathesis's own transport
would) but left out of the invalid-data run: on the wire every multipart
field is text, so schemathesis's "wrong type" fields are not wrong. In
the valid-data run, paths that name a file or an artifact get the id of one
that exists half of the time, so the download answers (200, 206, 416) are
checked and not only the 404s.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devgen.kit.app import create_app
from devgen.kit.settings import Settings
from devgen.services import storage
from tests.helpers import register
from tests.services.storage.support import ARTIFACTS, FILES

# The download's declared type is a stand-in: the real one is each file's own
# type, so content_type_conformance does not apply to storage.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BASE_URL = "http://testserver"


@functools.cache
def _document() -> dict[str, Any]:
    # Built without starting anything: the document does not depend on settings.
    return create_app(storage.service, Settings()).openapi()


def _schema() -> Any:
    """Storage's own API (the health endpoints belong to the chassis)."""
    return schemathesis.openapi.from_dict(_document()).include(
        path_regex=r"^/api/v1/(files|artifacts)"
    )


def _cases(mode: GenerationMode) -> st.SearchStrategy[tuple[schemathesis.Case, bool]]:
    return st.tuples(
        st.deferred(lambda: _schema().as_strategy(generation_mode=mode)), st.booleans()
    )


async def _fresh(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, str]:
    """A new file and a new artifact of the user's."""
    file = await client.post(FILES, headers=headers, files={"file": ("f.txt", b"fuzz me\n" * 100)})
    artifact = await client.post(ARTIFACTS, json={"files": {"main.py": "x = 1\n"}}, headers=headers)
    return {"file_id": file.json()["data"]["id"], "artifact_id": artifact.json()["data"]["id"]}


@pytest.fixture
async def world(client: httpx.AsyncClient) -> dict[str, Any]:
    """A user's headers, and one file and one artifact of theirs to aim at."""
    account = await register(client)
    return {"headers": account.headers, **await _fresh(client, account.headers)}


def _as_httpx(client: httpx.AsyncClient, arguments: dict[str, Any]) -> httpx.Request:
    """The httpx request for schemathesis's `requests` arguments, encoded by `requests`."""
    allowed = ("method", "url", "headers", "params", "data", "json", "files", "cookies")
    prepared = requests.Request(**{k: v for k, v in arguments.items() if k in allowed}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return client.build_request(
        prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers), content=body
    )


async def _send_and_validate(
    client: httpx.AsyncClient, world: dict[str, Any], case: schemathesis.Case, aim: bool
) -> None:
    if aim and case.path_parameters:
        # A delete gets a fresh item of its own, so the shared ones stay for the reads.
        targets = await _fresh(client, world["headers"]) if case.method == "DELETE" else world
        for name in ("file_id", "artifact_id"):
            if name in case.path_parameters:
                case.path_parameters[name] = targets[name]
    arguments = case.as_transport_kwargs(base_url=BASE_URL, headers=world["headers"])
    try:
        request = _as_httpx(client, arguments)
    except (UnicodeEncodeError, ValueError):
        # Headers no HTTP client can send (not latin-1): nothing reaches the service.
        return
    response = await client.send(request)
    case.validate_response(response, checks=CHECKS, headers=arguments["headers"])


# The platform and the user are fixtures shared by every example on purpose.
FUZZ = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@FUZZ
@given(case=_cases(GenerationMode.POSITIVE))
async def test_valid_requests_get_answers_the_schema_allows(client, world, case):
    await _send_and_validate(client, world, *case)


@FUZZ
@given(case=_cases(GenerationMode.NEGATIVE))
async def test_invalid_requests_are_refused_as_the_schema_says(client, world, case):
    # Every multipart field is text on the wire, so a "boolean" or "integer" name is
    # still a valid string: negative multipart cases are not invalid, only odd. The
    # multipart bodies are fuzzed with valid data above and refused by hand-written
    # tests (test_upload_refusals, test_artifact_refusals).
    operation, _ = case
    assume(operation.media_type != "multipart/form-data")
    # Aiming would replace an invalid id with a valid one.
    await _send_and_validate(client, world, operation, aim=False)


def test_the_fuzzed_schema_is_the_one_served(platform):
    assert platform.state.upstream_apps["storage"].openapi() == _document()


def test_every_operation_is_fuzzed():
    operations = {
        (result.ok().method.upper(), result.ok().path) for result in _schema().get_all_operations()
    }
    assert operations == {
        ("POST", "/api/v1/files"),
        ("GET", "/api/v1/files"),
        ("GET", "/api/v1/files/{file_id}"),
        ("GET", "/api/v1/files/{file_id}/content"),
        ("HEAD", "/api/v1/files/{file_id}/content"),
        ("DELETE", "/api/v1/files/{file_id}"),
        ("POST", "/api/v1/artifacts"),
        ("GET", "/api/v1/artifacts"),
        ("GET", "/api/v1/artifacts/{artifact_id}"),
        ("GET", "/api/v1/artifacts/{artifact_id}/download"),
        ("GET", "/api/v1/artifacts/{artifact_id}/files/{path}"),
        ("DELETE", "/api/v1/artifacts/{artifact_id}"),
    }
