"""Property-based API testing of codegen's OpenAPI: no 5xx, no response off the schema.

Cases come from codegen's own schema and go through an in-process platform of identity
and codegen only (no executor), with a signed-in user's token and the LLM engine pointed
at the stand-in (a spec for the analyst, `x = 1` for everything else). That keeps the
slow paths bounded: a generated `spec` is never a valid spec (so `/generate` answers 422
before rendering anything), and `/validate` runs only the static checks (the test step
is skipped without an executor). Real generation and validation have their own tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import positive_data_acceptance

from devgen.kit.settings import CoreSettings, DatabaseSettings, RateLimitSettings, Settings
from devgen.runtime.allinone import build_platform
from tests.helpers import PASSWORD, unique_email
from tests.llm_standin import LLMStandIn, RecordedRequest, replies
from tests.llm_standin.replies import Reply

_SPEC = {
    "name": "notes",
    "entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}]}],
}


def _answer(request: RecordedRequest) -> Reply:
    if "business analyst" in request.system:
        return replies.json_answer(_SPEC)
    return replies.fenced("x = 1\n")


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMStandIn]:
    """The stand-in, as codegen's LLM endpoint for the whole module."""
    with LLMStandIn() as standin, pytest.MonkeyPatch.context() as patch:
        standin.respond_with(_answer)
        patch.setenv("DEVGEN_LLM_BASE_URL", standin.openai_base_url)
        patch.setenv("DEVGEN_LLM_API_KEY", standin.api_key)
        patch.setenv("DEVGEN_LLM_MODEL", standin.model)
        patch.setenv("DEVGEN_LLM_BACKOFF_SECONDS", "0.01")
        yield standin


@pytest.fixture(scope="module")
def codegen_platform(
    tmp_path_factory: pytest.TempPathFactory, llm: LLMStandIn
) -> tuple[Any, dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("schemathesis-codegen")
    platform = build_platform(
        Settings(
            core=CoreSettings(env="test", data_dir=data_dir),
            database=DatabaseSettings(
                database_url=f"sqlite+aiosqlite:///{data_dir}/{{service}}.db"
            ),
            rate_limit=RateLimitSettings(rate_limit_enabled=False),
        ),
        services=("identity", "codegen"),
        migrate_on_startup=True,
    )
    schema = schemathesis.openapi.from_dict(platform.state.upstream_apps["codegen"].openapi())
    schema.app = platform
    email = unique_email("fuzz")
    with asgi.get_client(platform) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["data"]["access_token"]
    schema = schema.include(path_regex=r"^/api/v1/codegen/")
    return schema, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def codegen_schema(codegen_platform: tuple[Any, dict[str, str]]) -> Any:
    return codegen_platform[0]


schema = schemathesis.pytest.from_fixture("codegen_schema")


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_codegen_api_conforms(case: Any, codegen_platform: tuple[Any, dict[str, str]]) -> None:
    _, headers = codegen_platform
    # Specs, requirements and file maps have rules beyond the schema (a random object is
    # not a valid spec), so "valid data is accepted" is not checked.
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
