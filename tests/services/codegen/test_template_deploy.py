"""The generated deployment files: PostgreSQL through a Secret, a migration Job, compose."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import GeneratedProject, generate

ROOT = Path(__file__).resolve().parents[3]
COMPOSE_SCHEMA = ROOT / "tests" / "data" / "compose-spec" / "compose-spec.json"
KUBERNETES_VERSION = "1.33.0"


@pytest.fixture(scope="module")
def project() -> GeneratedProject:
    return generate(analyze((ROOT / "examples" / "library.txt").read_text("utf-8")).spec)


def _yaml(project: GeneratedProject, path: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(project.files[path])
    return document


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container["env"]}


def test_the_manifests_are_valid_kubernetes_objects(project: GeneratedProject) -> None:
    for path in ("k8s/deployment.yaml", "k8s/service.yaml", "k8s/migrate-job.yaml"):
        kubernetes_validate.validate(_yaml(project, path), KUBERNETES_VERSION, strict=True)


def test_the_deployment_reads_database_url_from_a_secret_and_keeps_no_data(
    project: GeneratedProject,
) -> None:
    deployment = _yaml(project, "k8s/deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    env = _env(pod["containers"][0])

    reference = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert reference == {"name": "library-secrets", "key": "database-url"}
    assert "value" not in env["DATABASE_URL"]
    assert env["MIGRATE_ON_START"]["value"] == "false"
    assert "sqlite" not in project.files["k8s/deployment.yaml"]
    assert [v["name"] for v in pod["volumes"]] == ["tmp"]


def test_a_job_migrates_the_database_of_the_secret(project: GeneratedProject) -> None:
    job = _yaml(project, "k8s/migrate-job.yaml")
    container = job["spec"]["template"]["spec"]["containers"][0]

    assert job["kind"] == "Job"
    assert container["command"] == ["alembic", "upgrade", "head"]
    assert _env(container)["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "database-url"
    assert "COPY migrations ./migrations" in project.files["Dockerfile"]


def test_compose_runs_the_service_on_postgresql(project: GeneratedProject) -> None:
    compose = _yaml(project, "compose.yaml")
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))

    jsonschema.validators.validator_for(schema)(schema).validate(compose)
    assert compose["services"]["db"]["image"].startswith("postgres:")
    app = compose["services"]["app"]
    assert app["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert app["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_probes_are_ready_for_readiness_and_health_for_liveness(
    project: GeneratedProject,
) -> None:
    container = _yaml(project, "k8s/deployment.yaml")["spec"]["template"]["spec"]["containers"][0]

    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert set(json.loads(project.files["openapi.json"])["paths"]) >= {"/health", "/ready"}
