"""Property-based API testing of audit's OpenAPI: no 5xx, no response off-schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.schemathesis_support import credentials_for, platform_schema


@pytest.fixture(scope="module")
def audit_platform(tmp_path_factory):
    return platform_schema("audit", tmp_path_factory.mktemp("schemathesis-audit"))


@pytest.fixture(scope="module")
def audit_schema(audit_platform):
    return audit_platform[0]


schema = schemathesis.pytest.from_fixture("audit_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_audit_api_conforms(case, audit_platform):
    _, headers = audit_platform
    # Writes need a service token and the fuzzing user is a tenant owner, so
    # schema-valid writes are rightly refused (403).
    case.call_and_validate(
        headers=credentials_for(case, headers), excluded_checks=[positive_data_acceptance]
    )
