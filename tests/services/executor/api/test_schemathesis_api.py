"""Property-based testing of the executor's OpenAPI: no 5xx, no answer the schema does not allow.

Cases generated from the executor's own schema go through the in-process
platform (gateway, identity for the keys, executor with the real sandbox)
with a registered user's token. Valid executions are sent with ``wait``
off (whatever the fuzzer drew) so a drawn 60 s wall limit cannot stall the
run; they still run, in the bounded pool. Creating environments is only
fuzzed with invalid bodies: a valid one would start a pip build.
"""

from __future__ import annotations

import functools
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from devgen.kit.app import create_app
from devgen.kit.settings import Settings
from devgen.services.executor import service
from tests.helpers import register

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
BASE_URL = "http://testserver"
PATHS = r"^/api/v1/(execute|executions|environments|runtimes)"


@functools.cache
def _document() -> dict[str, Any]:
    # Built without starting anything: the document does not depend on settings.
    return create_app(service, Settings()).openapi()


def _schema(*, with_environment_creation: bool) -> Any:
    schema = schemathesis.openapi.from_dict(_document()).include(path_regex=PATHS)
    if not with_environment_creation:
        schema = schema.exclude(method="POST", path="/api/v1/environments")
    return schema


def _cases(mode: GenerationMode) -> st.SearchStrategy[schemathesis.Case]:
    negative = mode is GenerationMode.NEGATIVE
    return st.deferred(
        lambda: _schema(with_environment_creation=negative).as_strategy(generation_mode=mode)
    )


def _as_httpx(client: httpx.AsyncClient, arguments: dict[str, Any]) -> httpx.Request:
    allowed = ("method", "url", "headers", "params", "data", "json", "files", "cookies")
    prepared = requests.Request(**{k: v for k, v in arguments.items() if k in allowed}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return client.build_request(
        prepared.method or "GET", prepared.url or "", headers=dict(prepared.headers), content=body
    )


async def _send_and_validate(
    client: httpx.AsyncClient, headers: dict[str, str], case: schemathesis.Case
) -> None:
    if case.path == "/api/v1/execute" and isinstance(case.body, dict):
        case.body["wait"] = False
    arguments = case.as_transport_kwargs(base_url=BASE_URL, headers=headers)
    try:
        request = _as_httpx(client, arguments)
    except (UnicodeEncodeError, ValueError):
        return  # headers no HTTP client can send: nothing reaches the service
    response = await client.send(request)
    case.validate_response(response, checks=CHECKS, headers=arguments["headers"])


FUZZ = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@FUZZ
@given(case=_cases(GenerationMode.POSITIVE))
async def test_valid_requests_get_answers_the_schema_allows(client, case):
    headers = getattr(client, "_fuzz_headers", None)
    if headers is None:
        headers = client._fuzz_headers = (await register(client)).headers
    await _send_and_validate(client, headers, case)


@FUZZ
@given(case=_cases(GenerationMode.NEGATIVE))
async def test_invalid_requests_are_refused_as_the_schema_says(client, case):
    headers = getattr(client, "_fuzz_headers", None)
    if headers is None:
        headers = client._fuzz_headers = (await register(client)).headers
    await _send_and_validate(client, headers, case)


def test_the_fuzzed_schema_is_the_one_served(platform):
    assert platform.state.upstream_apps["executor"].openapi() == _document()


def test_every_operation_is_fuzzed():
    operations = {
        (result.ok().method.upper(), result.ok().path)
        for result in _schema(with_environment_creation=True).get_all_operations()
    }
    assert operations == {
        ("POST", "/api/v1/execute"),
        ("GET", "/api/v1/executions"),
        ("GET", "/api/v1/executions/{execution_id}"),
        ("GET", "/api/v1/executions/{execution_id}/logs"),
        ("POST", "/api/v1/executions/{execution_id}/cancel"),
        ("POST", "/api/v1/environments"),
        ("GET", "/api/v1/environments"),
        ("GET", "/api/v1/environments/{environment}"),
        ("GET", "/api/v1/environments/{environment}/logs"),
        ("GET", "/api/v1/runtimes"),
    }
