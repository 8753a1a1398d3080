"""Property-based testing of profile's OpenAPI: no 5xx, no response the schema does not allow.

Cases generated from profile's own schema are sent through the in-process
platform (gateway, profile, and identity for the keys) on the test's
databases, with a registered user's token; both valid (positive) and invalid
(negative) inputs are generated, and each response is checked against the
schema. Hypothesis runs inside the test's event loop, so the platform started
by the fixtures serves every example.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devgen.kit.app import create_app
from devgen.kit.settings import Settings
from devgen.services import profile
from tests.helpers import register
from tests.services.profile.support import image_bytes, put_avatar

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BASE_URL = "http://testserver"


@functools.cache
def _document() -> dict[str, Any]:
    # Built without starting anything: the document does not depend on settings.
    return create_app(profile.service, Settings()).openapi()


def _schema() -> Any:
    """Profile's own API (the health endpoints belong to the chassis)."""
    return schemathesis.openapi.from_dict(_document()).include(path_regex=r"^/api/v1/profiles")


def _cases(mode: GenerationMode) -> st.SearchStrategy[schemathesis.Case]:
    return st.deferred(lambda: _schema().as_strategy(generation_mode=mode))


@pytest.fixture
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    """A signed-in user's headers."""
    return (await register(client)).headers


def _as_httpx(client: httpx.AsyncClient, arguments: dict[str, Any]) -> httpx.Request:
    """The httpx request for schemathesis's `requests` arguments.

    `requests` itself encodes the body (JSON, form, multipart), so what is
    sent is byte for byte what schemathesis's own transport would send.
    """
    allowed = ("method", "url", "headers", "params", "data", "json", "files", "cookies")
    prepared = requests.Request(**{k: v for k, v in arguments.items() if k in allowed}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return client.build_request(
        prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers), content=body
    )


async def _send_and_validate(
    client: httpx.AsyncClient, auth: dict[str, str], case: schemathesis.Case
) -> None:
    if case.method == "GET" and case.path.endswith("/avatar"):
        # Earlier examples may have deleted it; the image answer is worth checking too.
        assert (await put_avatar(client, auth, image_bytes("PNG", (32, 32)))).status_code == 200
    arguments = case.as_transport_kwargs(base_url=BASE_URL, headers=auth)
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
async def test_valid_requests_get_answers_the_schema_allows(client, auth, case):
    await _send_and_validate(client, auth, case)


@FUZZ
@given(case=_cases(GenerationMode.NEGATIVE))
async def test_invalid_requests_are_refused_as_the_schema_says(client, auth, case):
    await _send_and_validate(client, auth, case)


def test_the_fuzzed_schema_is_the_one_served(platform):
    assert platform.state.upstream_apps["profile"].openapi() == _document()


def test_every_operation_is_fuzzed():
    operations = {
        (result.ok().method.upper(), result.ok().path) for result in _schema().get_all_operations()
    }
    assert operations == {
        ("GET", "/api/v1/profiles/me"),
        ("PATCH", "/api/v1/profiles/me"),
        ("GET", "/api/v1/profiles/me/notifications"),
        ("PUT", "/api/v1/profiles/me/notifications"),
        ("PUT", "/api/v1/profiles/me/avatar"),
        ("GET", "/api/v1/profiles/me/avatar"),
        ("DELETE", "/api/v1/profiles/me/avatar"),
    }
