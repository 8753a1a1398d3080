"""The image's HEALTHCHECK finds the port of whatever the container runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from devgen.runtime.registry import SERVICE_NAMES, load_definition

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "healthcheck.py"


@pytest.fixture(scope="module")
def healthcheck():
    """deploy/docker/healthcheck.py, loaded as a module."""
    spec = importlib.util.spec_from_file_location("devgen_healthcheck", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "port"),
    [
        (["/usr/bin/tini", "--", "/opt/devgen/bin/devgen", "up", "--host", "0.0.0.0"], 8000),
        (["/opt/devgen/bin/devgen", "serve", "identity", "--host", "0.0.0.0"], 8001),
        (["devgen", "serve", "--host", "0.0.0.0", "executor"], 8005),
        (["devgen", "serve", "codegen", "--port", "9106"], 9106),
        (["devgen", "up", "--port=9000"], 9000),
        (["devgen", "serve", "gateway"], 8000),
    ],
)
def test_the_port_comes_from_the_command_line(healthcheck, argv, port):
    assert healthcheck.port_of(argv) == port


@pytest.mark.parametrize(
    "argv", [["devgen", "migrate"], ["/bin/sh"], ["devgen", "events", "declare"]]
)
def test_a_container_that_serves_nothing_has_no_port(healthcheck, argv):
    assert healthcheck.port_of(argv) is None


def test_its_default_ports_are_the_services_own(healthcheck):
    own = {"gateway": 8000, **{name: load_definition(name).port for name in SERVICE_NAMES}}

    ports = healthcheck.DEFAULT_PORTS
    assert ports == own
