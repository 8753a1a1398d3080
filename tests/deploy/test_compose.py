"""compose.yaml against the Compose specification, and against what the services need."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from devgen.runtime.registry import SERVICE_NAMES, load_definition
from tests.deploy import podman
from tests.deploy.observability import metric_names_in

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "tests" / "data" / "compose-spec" / "compose-spec.json"
DEVGEN_SERVICES = ("gateway", *SERVICE_NAMES)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml as Compose reads it (YAML merge keys resolved)."""
    document: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
    return document


def _callees(service: str) -> set[str]:
    if service == "gateway":
        return set(SERVICE_NAMES)  # it routes every prefix
    return set(load_definition(service).calls)


def test_compose_file_follows_the_compose_specification(compose):
    schema = json.loads(SCHEMA.read_text())

    jsonschema.validators.validator_for(schema)(schema).validate(compose)


def test_an_invalid_compose_file_is_refused_by_the_schema(compose):
    schema = json.loads(SCHEMA.read_text())
    broken = {**compose, "services": {**compose["services"], "gateway": {"ports": "8000"}}}

    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validators.validator_for(schema)(schema).validate(broken)


def test_every_service_runs_by_its_own_command(compose):
    services = compose["services"]
    for name in DEVGEN_SERVICES:
        assert services[name]["command"][:2] == ["serve", name], name


@pytest.mark.parametrize("name", DEVGEN_SERVICES)
def test_each_service_is_given_the_url_of_every_service_it_calls(compose, name):
    environment = compose["services"][name]["environment"]
    service_urls = {f"DEVGEN_{other.upper()}_URL" for other in DEVGEN_SERVICES}
    given = service_urls & set(environment)

    wanted = {f"DEVGEN_{callee.upper()}_URL" for callee in _callees(name)}

    assert given == wanted
    for callee in _callees(name):
        port = 8000 if callee == "gateway" else load_definition(callee).port
        assert environment[f"DEVGEN_{callee.upper()}_URL"] == f"http://{callee}:{port}"


@pytest.mark.parametrize("name", DEVGEN_SERVICES)
def test_each_service_gets_the_shared_secret_and_waits_for_the_setup_jobs(compose, name):
    service = compose["services"][name]

    assert service["environment"]["DEVGEN_SERVICE_SECRET"].startswith("${DEVGEN_SERVICE_SECRET:?")
    for job in ("migrate", "declare-queues"):
        assert service["depends_on"][job] == {"condition": "service_completed_successfully"}


def test_the_setup_jobs_migrate_and_declare_the_queues(compose):
    services = compose["services"]

    assert services["migrate"]["command"] == ["migrate"]
    assert services["declare-queues"]["command"] == ["events", "declare"]


def test_only_the_executor_runs_as_root_with_the_documented_capabilities(compose):
    for name in DEVGEN_SERVICES:
        service = compose["services"][name]
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        if name == "executor":
            assert service["user"] == "0"
            assert tuple(sorted(service["cap_add"])) == podman.EXECUTOR_CAPABILITIES
            assert "systempaths=unconfined" in service["security_opt"]
        else:
            assert "user" not in service, name  # the image's uid 10001
            assert "cap_add" not in service, name


def test_local_state_is_on_volumes(compose):
    services = compose["services"]

    assert "storage:/var/lib/devgen" in services["storage"]["volumes"]
    assert any(
        mount.endswith(":/var/cache/devgen-executor/environments")
        for mount in services["executor"]["volumes"]
    )


def test_the_env_example_names_every_required_variable():
    required = set(re.findall(r"\$\{([A-Z_]+):\?", (REPO / "compose.yaml").read_text()))
    example = (REPO / "deploy" / "compose" / "compose.env.example").read_text()

    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))

    assert required == listed


def test_prometheus_scrapes_every_service_on_its_port():
    config = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]

    targets = {target for group in job["static_configs"] for target in group["targets"]}

    assert job["metrics_path"] == "/metrics"
    assert targets == {
        f"{name}:{8000 if name == 'gateway' else load_definition(name).port}"
        for name in DEVGEN_SERVICES
    }


def test_grafana_provisions_the_prometheus_datasource_and_the_dashboards(compose):
    provisioning = REPO / "deploy" / "grafana" / "provisioning"
    datasources = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())
    providers = yaml.safe_load((provisioning / "dashboards" / "devgen.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]

    (datasource,) = datasources["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    (provider,) = providers["providers"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    for dashboard in (REPO / "deploy" / "grafana" / "dashboards").glob("*.json"):
        panels = json.loads(dashboard.read_text())["panels"]
        for panel in panels:
            assert panel["datasource"]["uid"] == datasource["uid"], dashboard.name
        assert metric_names_in(dashboard.read_text()), dashboard.name
