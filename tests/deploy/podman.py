"""Build and run the devgen image with Debian's podman and runc, on a debootstrap base.

No image registry is reachable here, so the base image is made from Debian's
packages: ``debootstrap`` a bookworm rootfs, ``podman import`` it. The rootfs
tarball, the imported base and pip's cache are kept under :data:`CACHE_ROOT`
between runs, so only the first run on a machine pays for them.

runc rather than crun (crun refuses this host's hybrid cgroups), cgroupfs as
the cgroup manager (no systemd), and no default ulimits (the container may not
raise them here): a containers.conf of our own, passed in ``CONTAINERS_CONF``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path

from devgen.kit.pins import service_pins
from tests.helpers import eventually_sync

REPO = Path(__file__).resolve().parents[2]
CACHE_ROOT = Path(os.environ.get("DEVGEN_TEST_IMAGE_CACHE", "/var/cache/devgen-test-images"))
RUNC = "/usr/sbin/runc"
SUITE = "bookworm"
MIRROR = os.environ.get("DEVGEN_TEST_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What the Dockerfile's first stage installs: in the base already, it skips apt-get.
BASE_PACKAGES = ("python3", "python3-venv", "bubblewrap", "libseccomp2", "ca-certificates", "tini")
IMAGE = "localhost/devgen-test:latest"
WHEELS_IN_BUILD = "/var/cache/devgen-wheels"
# What the Dockerfile's prebuild of the sandbox's environment installs besides the
# platform's own pins (see devgen.services.executor.builtin).
SANDBOX_PACKAGES = ("pytest>=8.2,<9", "pytest-cov>=5,<8")
# The trust store of this machine, for pip in the container that fetches the wheels
# (a TLS-intercepting proxy's CA is in it where there is one).
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

CONTAINERS_CONF = """\
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"

[engine.runtimes]
runc = ["/usr/sbin/runc"]
"""

EXECUTOR_CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "KILL",
    "MKNOD",
    "SETGID",
    "SETUID",
    "SYS_ADMIN",
)
"""The least the executor works with (found by dropping one at a time, docs/deploy.md)."""

EXECUTOR_SECURITY_OPTS = ("systempaths=unconfined", "no-new-privileges")


def missing_tools() -> list[str]:
    """The programs this module needs that are not installed."""
    wanted = {"podman": "podman", "debootstrap": "debootstrap", "runc": RUNC}
    return [name for name, path in wanted.items() if shutil.which(path) is None]


def _environment() -> dict[str, str]:
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    conf = CACHE_ROOT / "containers.conf"
    if not conf.is_file() or conf.read_text() != CONTAINERS_CONF:
        conf.write_text(CONTAINERS_CONF)
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(
    *args: str, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``podman --runtime runc ARGS``; output captured as text."""
    completed = subprocess.run(
        ["podman", "--runtime", RUNC, *args],
        env=_environment(),
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )
    if check and completed.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args[:3])} … exited {completed.returncode}:\n"
            f"{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
        )
    return completed


@contextlib.contextmanager
def _cache_lock(name: str) -> Iterator[None]:
    """One builder of a cached thing at a time (test workers, several checkouts)."""
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / f"{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def base_image() -> str:
    """The bookworm base image, imported from a cached debootstrap rootfs (made if absent)."""
    tag = hashlib.sha256(f"{SUITE} {' '.join(BASE_PACKAGES)}".encode()).hexdigest()[:12]
    name = f"localhost/devgen-test-base:{SUITE}-{tag}"
    with _cache_lock("base"):
        if podman("image", "exists", name, check=False).returncode == 0:
            return name
        tarball = CACHE_ROOT / f"{SUITE}-{tag}.tar"
        if not tarball.is_file():
            _debootstrap(tarball)
        podman("import", str(tarball), name, timeout=600)
    return name


def _debootstrap(tarball: Path) -> None:
    with tempfile.TemporaryDirectory(dir=CACHE_ROOT) as scratch:
        rootfs = Path(scratch) / "rootfs"
        subprocess.run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                SUITE,
                str(rootfs),
                MIRROR,
            ],
            check=True,
            capture_output=True,
            timeout=1200,
        )
        # Nothing of the bootstrap's package downloads belongs in the image.
        shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
            check=True,
            timeout=600,
        )
        partial.rename(tarball)


def requirements() -> list[str]:
    """What the image installs: devgen's dependencies with the distributed extras, and more.

    Besides them, hatchling (devgen's build backend) and the sandbox environment's
    packages that are not among the platform's own.
    """
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    (distributed,) = extras["distributed"]  # "devgen[postgres,rabbitmq,...]", as the image
    wanted = list(project["dependencies"])
    for extra in distributed[distributed.index("[") + 1 : distributed.index("]")].split(","):
        wanted += extras[extra]
    # The image prebuilds the sandbox's environment offline: every pin of it must be there.
    return [*wanted, "hatchling", *SANDBOX_PACKAGES, *service_pins().everything]


def wheelhouse(base: str) -> Path:
    """Wheels of every package the image installs, downloaded once per set of requirements.

    pip runs in a container of ``base``, so environment markers are those of its
    interpreter (redis needs async-timeout below Python 3.11.3, which Debian's
    3.11.2 is). The build then installs offline from them (``PIP_NO_INDEX``):
    repeated builds download nothing.
    """
    wanted = requirements()
    digest = hashlib.sha256(f"{base} {' '.join(wanted)}".encode()).hexdigest()[:12]
    target = CACHE_ROOT / f"wheels-{digest}"
    with _cache_lock("wheels"):
        if target.is_dir():
            return target
        partial = Path(tempfile.mkdtemp(dir=CACHE_ROOT, prefix="wheels-partial-"))
        (partial / "requirements.txt").write_text("\n".join(wanted) + "\n")
        trust = ["--volume", f"{HOST_CA_BUNDLE}:/etc/ssl/certs/host-ca.crt:ro"]
        trust += ["--env", "PIP_CERT=/etc/ssl/certs/host-ca.crt"]
        podman(
            "run",
            "--rm",
            "--volume",
            f"{partial}:/wheels",
            *(trust if HOST_CA_BUNDLE.is_file() else []),
            base,
            "sh",
            "-c",
            "python3 -m venv /tmp/pip && /tmp/pip/bin/pip download --quiet "
            "--only-binary=:all: --dest /wheels --requirement /wheels/requirements.txt",
            timeout=1200,
        )
        partial.rename(target)
    return target


def build_image(base: str, wheels: Path, tag: str = IMAGE) -> float:
    """``podman build`` the repository's Dockerfile on ``base``; returns the seconds it took."""
    args: list[str] = [
        "build",
        "--format",
        "docker",  # OCI images have no HEALTHCHECK
        "--build-arg",
        f"BASE_IMAGE={base}",
        "--build-arg",
        "PIP_NO_INDEX=1",
        "--build-arg",
        f"PIP_FIND_LINKS={WHEELS_IN_BUILD}",
        "--volume",
        f"{wheels}:{WHEELS_IN_BUILD}:ro",
        "--tag",
        tag,
    ]
    # Test workers that both need the image take turns: the second build is all cache.
    with _cache_lock("build"):
        started = time.monotonic()
        podman(*args, str(REPO), timeout=1800)
        return time.monotonic() - started


def prepare_image() -> dict[str, float]:
    """Base image, wheelhouse and image, each made only when missing or out of date.

    Returns how long each part took, in seconds.
    """
    timings: dict[str, float] = {}
    started = time.monotonic()
    base = base_image()
    timings["base"] = time.monotonic() - started
    started = time.monotonic()
    wheels = wheelhouse(base)
    timings["wheels"] = time.monotonic() - started
    timings["build"] = build_image(base, wheels)
    return timings


def executor_run_options() -> list[str]:
    """``podman run`` options giving a container what the executor needs, and no more."""
    options = ["--user", "0", "--cap-drop", "ALL"]
    for capability in EXECUTOR_CAPABILITIES:
        options += ["--cap-add", capability]
    for option in EXECUTOR_SECURITY_OPTS:
        options += ["--security-opt", option]
    return options


def wait_healthy(container: str, deadline_seconds: float = 120) -> None:
    """Poll the image's HEALTHCHECK until it passes; fail with the logs at the deadline."""

    def healthy() -> bool:
        if podman("healthcheck", "run", container, check=False).returncode == 0:
            return True
        state = podman("inspect", "--format", "{{.State.Running}}", container, check=False)
        if state.stdout.strip() != "true":
            raise _Stopped(container)
        return False

    try:
        eventually_sync(healthy, timeout=deadline_seconds, interval=1, what=f"{container} healthy")
    except (AssertionError, _Stopped):
        logs = podman("logs", container, check=False)
        raise AssertionError(
            f"{container} did not become healthy:\n{logs.stdout[-6000:]}"
        ) from None


class _Stopped(Exception):
    """The container exited while we waited for it."""


def exec_in(container: str, argv: Sequence[str], timeout: float = 600) -> tuple[int, str]:
    """Run ``argv`` in ``container``; its exit status and combined output."""
    completed = podman("exec", container, *argv, check=False, timeout=timeout)
    return completed.returncode, completed.stdout + completed.stderr
