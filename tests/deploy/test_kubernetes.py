"""deploy/k8s: rendered with kubectl kustomize, validated against the Kubernetes schemas.

Besides the schemas (kubernetes-validate), the rendered objects are checked against
what the code says: each service's callers (``calls=`` of the ServiceDefinitions) are
exactly the pods its NetworkPolicy admits, and each Deployment gets the URLs of the
services it calls.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from devgen.runtime.registry import SERVICE_NAMES, load_definition
from tests.conftest import IN_CI

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
KUBERNETES_VERSION = "1.33.0"
DEVGEN_SERVICES = ("gateway", *SERVICE_NAMES)
AUTOSCALED = {"gateway", "orchestrator", "executor", "codegen"}


def _port(service: str) -> int:
    return 8000 if service == "gateway" else load_definition(service).port


def _callees(service: str) -> set[str]:
    if service == "gateway":
        return set(SERVICE_NAMES)
    return set(load_definition(service).calls)


def _callers(service: str) -> set[str]:
    return {caller for caller in DEVGEN_SERVICES if service in _callees(caller)}


def kustomize(directory: Path) -> subprocess.CompletedProcess[str]:
    """``kubectl kustomize directory``, output captured."""
    if not Path(KUBECTL).is_file():
        if IN_CI:
            pytest.fail("kubectl is not installed")
        pytest.skip("kubectl is not installed")
    return subprocess.run(
        [KUBECTL, "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize`` makes of ``directory``."""
    rendered = kustomize(directory)
    assert rendered.returncode == 0, rendered.stderr
    return [document for document in yaml.safe_load_all(rendered.stdout) if document]


@pytest.fixture(scope="module")
def production(production_tree: Path) -> list[dict[str, Any]]:
    """The production overlay, rendered."""
    return render(production_tree / "overlays" / "production")


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    """The base, rendered."""
    return render(K8S / "base")


def _objects(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {item["metadata"]["name"]: item for item in documents if item["kind"] == kind}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@pytest.mark.parametrize("overlay", ["base", "production"])
def test_every_object_is_valid_against_the_kubernetes_schemas(request, overlay):
    documents = request.getfixturevalue(overlay)

    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_refuses_an_unknown_field(base):
    deployment = _objects(base, "Deployment")["identity"]
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_production_does_not_render_without_the_operators_secrets():
    rendered = kustomize(K8S / "overlays" / "production")

    assert rendered.returncode != 0
    assert "secrets.env" in rendered.stderr


def test_the_base_secret_holds_only_placeholders_the_services_refuse(base):
    (secret,) = _objects(base, "Secret").values()

    values = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}

    assert values["DEVGEN_SERVICE_SECRET"] == "REPLACE-ME"
    assert len(values["DEVGEN_SERVICE_SECRET"].encode()) < 32
    assert all("REPLACE-ME" in value for value in values.values())


def test_production_uses_the_operators_secret(production):
    (secret,) = _objects(production, "Secret").values()

    service_secret = base64.b64decode(secret["data"]["DEVGEN_SERVICE_SECRET"])

    assert len(service_secret) >= 32
    assert b"REPLACE-ME" not in service_secret


@pytest.mark.parametrize("service", DEVGEN_SERVICES)
def test_each_service_has_a_deployment_a_service_and_a_budget(production, service):
    deployment = _objects(production, "Deployment")[service]
    port = _port(service)
    container = _container(deployment)

    assert container["args"][:2] == ["serve", service]
    assert container["ports"] == [{"name": "http", "containerPort": port}]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    sources = {
        next(iter(source.values()))["name"].rsplit("-", 1)[0] for source in container["envFrom"]
    }
    assert sources == {"devgen-config", "devgen-secrets"}
    assert _objects(production, "Service")[service]["spec"]["ports"][0]["port"] == port
    assert service in _objects(production, "PodDisruptionBudget")


def test_the_busy_services_scale_automatically(production):
    autoscalers = _objects(production, "HorizontalPodAutoscaler")

    assert set(autoscalers) == AUTOSCALED
    for name, autoscaler in autoscalers.items():
        assert autoscaler["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }


@pytest.mark.parametrize("service", DEVGEN_SERVICES)
def test_each_deployment_gets_the_url_of_every_service_it_calls(production, service):
    environment = {
        item["name"]: item.get("value")
        for item in _container(_objects(production, "Deployment")[service]).get("env", [])
    }
    urls = {key: value for key, value in environment.items() if key.endswith("_URL")}

    assert urls == {
        f"DEVGEN_{callee.upper()}_URL": f"http://{callee}:{_port(callee)}"
        for callee in _callees(service)
    }


@pytest.mark.parametrize("service", DEVGEN_SERVICES)
def test_each_service_admits_only_its_callers(production, service):
    policy = _objects(production, "NetworkPolicy")[service]
    port = [{"protocol": "TCP", "port": _port(service)}]

    admitted: set[str] = set()
    from_anywhere = False
    for rule in policy["spec"]["ingress"]:
        assert rule["ports"] == port
        if "from" not in rule:
            from_anywhere = True
        for peer in rule.get("from", []):
            if "podSelector" in peer:
                admitted.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"])
            else:
                assert peer == {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }

    assert from_anywhere is (service == "gateway")
    assert admitted == (set() if service == "gateway" else _callers(service))


def test_everything_else_is_denied_by_default(production):
    deny = _objects(production, "NetworkPolicy")["default-deny-ingress"]

    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}


def test_the_ingress_reaches_only_the_gateway(production):
    (ingress,) = _objects(production, "Ingress").values()

    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }

    assert backends == {"gateway"}
    assert ingress["spec"]["tls"]


def test_the_job_migrates_then_declares_the_queues(production):
    (job,) = _objects(production, "Job").values()
    pod = job["spec"]["template"]["spec"]

    assert [container["args"] for container in pod["initContainers"]] == [["migrate"]]
    assert [container["args"] for container in pod["containers"]] == [["events", "declare"]]


def test_only_the_executor_runs_as_root(production):
    for name, deployment in _objects(production, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        context = _container(deployment)["securityContext"]
        if name == "executor":
            assert context["privileged"] is True
            assert pod["affinity"]["podAntiAffinity"]  # one per node: its slot uids
            assert pod["nodeSelector"] == {"devgen.io/sandbox": "true"}
        else:
            assert pod["securityContext"]["runAsNonRoot"] is True, name
            assert context["runAsUser"] == 10001, name
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name


def test_storage_keeps_its_blobs_on_a_volume(production):
    deployment = _objects(production, "Deployment")["storage"]
    mounts = {mount["mountPath"]: mount["name"] for mount in _container(deployment)["volumeMounts"]}
    volumes = {
        volume["name"]: volume for volume in deployment["spec"]["template"]["spec"]["volumes"]
    }

    claim = volumes[mounts["/var/lib/devgen"]]["persistentVolumeClaim"]["claimName"]

    assert claim in _objects(production, "PersistentVolumeClaim")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
