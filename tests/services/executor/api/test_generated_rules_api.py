"""Generated projects with accounts, roles, states and computed fields pass in the sandbox."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.spec import validate_spec
from tests.services.executor.api.conftest import Execute

RULE_SPECS = Path(__file__).resolve().parents[2] / "codegen" / "rule_specs"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["notes", "orders", "projects"])
async def test_a_generated_service_with_flow_rules_passes_in_python_service(
    execute: Execute, name: str
) -> None:
    spec = json.loads((RULE_SPECS / f"{name}.json").read_text(encoding="utf-8"))
    project = generate(validate_spec(spec))

    response = await execute(
        environment="python-service",
        files=project.files,
        command=["python", "-m", "pytest", "-q", "--junitxml=junit.xml"],
        collect=["junit.xml"],
        wait=True,
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["verdict"] == "succeeded", data["result"]["stdout"][-3000:]
    suite = ElementTree.fromstring(data["result"]["files"]["junit.xml"]["content"]).find(
        "testsuite"
    )
    assert suite is not None
    assert int(suite.get("tests", "0")) == len(project.tests)
    assert suite.get("failures") == "0"
    assert suite.get("errors") == "0"
