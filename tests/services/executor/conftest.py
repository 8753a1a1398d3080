"""Shared fixtures of the executor sandbox tests.

The sandbox tests run the real thing (bwrap, setpriv, prlimit, mounts) and so
need root and bubblewrap; without them they fail loudly rather than skip, so
a CI machine that lost bubblewrap cannot pass by running nothing.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from devgen.services.executor.sandbox import (
    Limits,
    Sandbox,
    SandboxConfig,
    SandboxRequest,
    SandboxResult,
    Verdict,
    mounts,
)
from devgen.services.executor.sandbox.cgroups import EXEC_PREFIX

SLOTS = 4


def _base_uid() -> int:
    # A uid range of its own for this test process (each xdist worker is one):
    # several test runs may share the machine, and the stray-process checks
    # look for processes by uid.
    return 100_000 + random.Random(os.getpid()).randrange(100_000) * 10


BASE_UID = _base_uid()


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """A state directory the slot uids can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="devgen-exec-test-", dir="/tmp"))
    os.chmod(path, 0o711)
    yield path
    remove_state_dir(path)


def remove_state_dir(path: Path) -> None:
    """Unmount everything under ``path``, then delete it.

    Deleting first would be a disaster: a leftover runtime view is a bind
    mount of a real host directory (the Python install), and a recursive
    delete would go through it.
    """
    mounts.unmount_all_under(path)
    assert mounts.mounts_under(path) == [], "refusing to delete a state dir with mounts"
    shutil.rmtree(path)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fake platform data directory holding a SQLite file, never to be reachable."""
    path = Path(tempfile.mkdtemp(prefix="devgen-data-", dir="/tmp"))
    (path / "platform.sqlite3").write_bytes(b"SQLite format 3\x00" + b"platform-secret" * 10)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def host_cgroups() -> str:
    """What the probe picks on this host: cgroup v2 at the root, else the v1 controllers.

    This machine and CI mount v1 controllers read-write and run as root, so
    it is never ``rlimit`` here: a host that lost them fails these tests.
    """
    return "cgroup-v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "cgroup-v1"


@pytest.fixture
def cgroups() -> str:
    """The sandbox's cgroup mode; ``@pytest.mark.parametrize("cgroups", ["off"])`` for rlimits."""
    return "auto"


@pytest.fixture
async def sandbox(state_dir: Path, data_dir: Path, cgroups: str) -> AsyncIterator[Sandbox]:
    """A started hardened sandbox; fails the test if the host cannot isolate."""
    config = SandboxConfig(
        state_dir=state_dir,
        slots=SLOTS,
        base_uid=BASE_UID,
        protected_paths=(data_dir,),
        cgroups=cgroups,  # type: ignore[arg-type]
    )
    box = Sandbox(environment="test", config=config)
    await box.check()
    try:
        yield box
    finally:
        await box.close()


async def run_python(
    box: Sandbox, code: str, *, limits: Limits | None = None, **kwargs: object
) -> SandboxResult:
    """Run ``code`` as ``main.py`` in the sandbox."""
    request = SandboxRequest(
        command=["python3", "main.py"],
        files={"main.py": code.encode()},
        limits=limits or Limits(),
        **kwargs,  # type: ignore[arg-type]
    )
    return await box.run(request)


def slot_processes(base_uid: int = BASE_UID, slots: int = SLOTS) -> list[int]:
    """Host pids whose real uid belongs to a slot: must be empty between executions."""
    found = []
    uids = range(base_uid, base_uid + slots)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) in uids:
                            found.append(int(entry))
                        break
        except OSError:
            continue
    return found


def execution_cgroups(box: Sandbox) -> list[Path]:
    """The execution groups under the sandbox's cgroup parent (none between executions)."""
    return [
        entry
        for directory in (box.cgroup_parent.directories() if box.cgroup_parent else [])
        for entry in directory.iterdir()
        if entry.is_dir() and entry.name.startswith(EXEC_PREFIX)
    ]


async def assert_host_unharmed(box: Sandbox) -> None:
    """No stray process, no leftover mount, run directory or cgroup; the next run works."""
    assert slot_processes(box.config.base_uid, box.config.slots) == []
    assert execution_cgroups(box) == []
    runs = box.config.state_dir / "runs"
    assert list(runs.iterdir()) == []
    # the runs directory itself is a tmpfs; nothing may stay mounted below it
    assert mounts.mounts_under(runs) == [runs]
    result = await run_python(box, "print('still fine')")
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"still fine\n"


def kernel_creates(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> list[Path]:
    """Make ``mkdir`` fill each new directory with ``names``, as the cgroup filesystem does.

    For tests of our cgroup code against a fake tree in a temporary directory;
    returns the directories made, in order.
    """
    original_mkdir = Path.mkdir
    made: list[Path] = []

    def mkdir_with_files(self: Path, mode: int = 0o777, *args: bool, **kwargs: bool) -> None:
        existed = self.is_dir()
        original_mkdir(self, mode, *args, **kwargs)
        if not existed:
            made.append(self)
            for name in names:
                (self / name).write_text("")

    monkeypatch.setattr(Path, "mkdir", mkdir_with_files)
    return made


RunPython = Callable[..., Awaitable[SandboxResult]]
Unharmed = Callable[[], Awaitable[None]]


@pytest.fixture
def py(sandbox: Sandbox) -> RunPython:
    """``await py(code, limits=..., **request_fields)`` runs ``code`` as ``main.py``."""

    async def run(code: str, *, limits: Limits | None = None, **kwargs: object) -> SandboxResult:
        return await run_python(sandbox, code, limits=limits, **kwargs)

    return run


def _fingerprint(paths: list[Path]) -> dict[Path, tuple[int, int, str]]:
    prints = {}
    for path in paths:
        info = path.stat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        prints[path] = (info.st_mtime_ns, info.st_size, digest)
    return prints


@pytest.fixture
def unharmed(sandbox: Sandbox, data_dir: Path) -> Unharmed:
    """``await unharmed()`` asserts the host is intact and the next execution works.

    Intact: host files a program might aim at are byte-for-byte unchanged
    since the test started, no slot process is left, nothing stays mounted.
    """
    watched = [
        data_dir / "platform.sqlite3",
        Path("/etc/passwd"),
        Path("/etc/shadow"),
        Path("/etc/hosts"),
        Path(os.path.realpath(os.path.join(sys.base_prefix, "bin", "python3"))),
    ]
    before = _fingerprint(watched)
    state_entries = sorted(p.name for p in sandbox.config.state_dir.iterdir())

    async def check() -> None:
        await assert_host_unharmed(sandbox)
        assert _fingerprint(watched) == before
        assert sorted(p.name for p in sandbox.config.state_dir.iterdir()) == state_entries

    return check
