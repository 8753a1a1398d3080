"""Property-based API testing of identity's OpenAPI: no 5xx, no response off-schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.schemathesis_support import credentials_for, platform_schema


@pytest.fixture(scope="module")
def identity_platform(tmp_path_factory):
    return platform_schema("identity", tmp_path_factory.mktemp("schemathesis-identity"))


@pytest.fixture(scope="module")
def identity_schema(identity_platform):
    # Ending the fuzzing user's own session would turn every later case into a 401;
    # logout and password change have their own tests.
    return identity_platform[0].exclude(path_regex=r"/auth/(logout|password)$")


schema = schemathesis.pytest.from_fixture("identity_schema")


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_identity_api_conforms(case, identity_platform):
    _, headers = identity_platform
    # Business rules beyond the schema (reserved e-mail domains, for one) rightly
    # refuse some schema-valid input, so "valid data is accepted" is not checked.
    case.call_and_validate(
        headers=credentials_for(case, headers), excluded_checks=[positive_data_acceptance]
    )
