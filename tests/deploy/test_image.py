"""The image: built from the Dockerfile with podman, the all-in-one run in it, an example generated.

The container gets exactly the rights docs/deploy.md gives the executor (root,
eight capabilities, unmasked /proc, no-new-privileges) and no network at all:
the sandbox's environment was built into the image, so nothing is fetched.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import IN_CI
from tests.deploy import podman
from tests.e2e.support import sandbox_uid_base

# One xdist worker: the module's image is built (or found) once.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.image,
    pytest.mark.timeout(2400),
    pytest.mark.xdist_group("image"),
]

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def image() -> str:
    """The devgen image, built on the cached debootstrap base (both made when absent)."""
    missing = podman.missing_tools()
    if missing:
        reason = f"{', '.join(missing)} not installed (make test installs them as root)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    if os.geteuid() != 0:
        pytest.skip("building and running the image with podman here needs root")
    timings = podman.prepare_image()
    print("image: " + ", ".join(f"{part} {seconds:.0f}s" for part, seconds in timings.items()))
    return podman.IMAGE


@pytest.fixture
def all_in_one(image: str) -> Iterator[str]:
    """``devgen up`` in a container of ``image``, healthy; removed afterwards."""
    name = f"devgen-test-{uuid.uuid4().hex[:8]}"
    podman.podman(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "none",
        *podman.executor_run_options(),
        "--env",
        f"DEVGEN_EXECUTOR_UID_BASE={sandbox_uid_base(11)}",
        "--volume",
        f"{podman.REPO / 'examples'}:/examples:ro",
        image,
        "up",
        "--host",
        "0.0.0.0",
    )
    try:
        podman.wait_healthy(name)
        yield name
    finally:
        podman.podman("rm", "--force", "--time", "5", name, check=False)


def test_the_all_in_one_in_the_image_generates_an_example_whose_tests_pass(all_in_one):
    email = f"root-{uuid.uuid4().hex[:6]}@example.com"
    steps = [
        ["devgen", "user", "create", "--email", email, "--admin", "--password", PASSWORD],
        ["devgen", "login", "--server", "http://127.0.0.1:8000", "--email", email],
        ["devgen", "generate", "/examples/todo.txt", "--server", "http://127.0.0.1:8000"],
    ]
    steps[1] += ["--password", PASSWORD]
    steps[2] += ["--out", "/tmp/todo"]
    outputs = []
    for argv in steps:
        status, output = podman.exec_in(all_in_one, argv)
        outputs.append(output)
        assert status == 0, f"{' '.join(argv[:3])} exited {status}:\n{output}"
    tally = re.search(r"Tests: (\d+) passed, 0 failed, 0 errors", outputs[-1])
    assert tally, outputs[-1]
    assert int(tally[1]) > 0, outputs[-1]
    status, report = podman.exec_in(all_in_one, ["cat", "/tmp/todo/report.json"])
    assert status == 0, report
    assert json.loads(report)["tests"]["all_passed"] is True


def test_a_service_alone_runs_unprivileged_on_a_read_only_root(image):
    name = f"devgen-test-{uuid.uuid4().hex[:8]}"
    podman.podman(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "none",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--read-only",
        "--tmpfs",
        "/var/lib/devgen:rw,mode=0700,U",
        "--env",
        f"DEVGEN_SERVICE_SECRET={secrets.token_hex(32)}",
        image,
        "serve",
        "identity",
        "--host",
        "0.0.0.0",
    )
    try:
        podman.wait_healthy(name)  # the HEALTHCHECK found identity's port, 8001
        status, uid = podman.exec_in(name, ["id", "-u"])
        assert (status, uid.strip()) == (0, "10001")
    finally:
        podman.podman("rm", "--force", "--time", "5", name, check=False)
