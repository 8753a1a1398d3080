"""Which cgroup layout the sandbox picks, decided against fake cgroup trees in a temp dir.

The real trees of this machine are exercised by the hostile and API tests;
here each layout a host may have (or lack) is built by hand, ``mkdir``
filling a new group with control files as the kernel would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from devgen.services.executor.sandbox import SandboxUnavailableError, mounts
from devgen.services.executor.sandbox.cgroup_probe import choose
from devgen.services.executor.sandbox.cgroup_v1 import V1Parent
from devgen.services.executor.sandbox.cgroup_v2 import V2Parent
from tests.services.executor.conftest import kernel_creates

NAME = "devgen-0123456789abcdef"
V1_FILES = ["cgroup.procs", "memory.limit_in_bytes", "pids.max", "cpu.cfs_quota_us", "cpu.shares"]
V2_FILES = ["cgroup.procs", "cgroup.subtree_control", "cpu.weight"]
# A v1 host (this machine's shape): memory nested in a supervisor's group.
V1_SELF = "9:name=systemd:/\n8:pids:/\n4:memory:/jobs/abc\n1:cpu:/\n0::/\n"


def _v1_tree(root: Path, controllers: tuple[str, ...] = ("memory", "pids", "cpu")) -> None:
    for controller in controllers:
        (root / controller).mkdir()
        (root / controller / "cgroup.procs").write_text("")
    if "memory" in controllers:
        (root / "memory" / "jobs" / "abc").mkdir(parents=True)


def _v2_tree(root: Path, controllers: str = "cpu io memory pids") -> None:
    (root / "cgroup.controllers").write_text(controllers)
    (root / "cgroup.subtree_control").write_text("")


@pytest.fixture
def v2_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """New groups get v2 control files and offer every controller."""
    original_mkdir = Path.mkdir

    def mkdir(self: Path, mode: int = 0o777, *args: bool, **kwargs: bool) -> None:
        existed = self.is_dir()
        original_mkdir(self, mode, *args, **kwargs)
        if not existed:
            for name in V2_FILES:
                (self / name).write_text("")
            (self / "cgroup.controllers").write_text("cpu memory pids")

    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_a_v2_host_gets_a_v2_parent_with_the_controllers_enabled(
    tmp_path: Path, v2_kernel: None
) -> None:
    _v2_tree(tmp_path)

    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup="0::/\n", slots=3)

    assert choice.kind == "cgroup-v2"
    assert isinstance(choice.parent, V2Parent)
    assert choice.parent.path == tmp_path / NAME
    assert choice.parent.cpu is True
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (tmp_path / NAME / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"
    assert (tmp_path / NAME / "cpu.weight").read_text() == "300"  # 100 per slot


def test_a_v2_host_without_the_cpu_controller_bounds_memory_and_pids(
    tmp_path: Path, v2_kernel: None
) -> None:
    _v2_tree(tmp_path, controllers="memory pids")

    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup="0::/\n")

    assert choice.kind == "cgroup-v2"
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_a_v1_host_gets_a_parent_per_controller_under_its_own_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _v1_tree(tmp_path)
    kernel_creates(monkeypatch, V1_FILES)

    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF, slots=2)

    assert choice.kind == "cgroup-v1"
    assert isinstance(choice.parent, V1Parent)
    assert choice.parent.paths == {
        "memory": tmp_path / "memory" / "jobs" / "abc" / NAME,
        "pids": tmp_path / "pids" / NAME,
        "cpu": tmp_path / "cpu" / NAME,
    }
    assert choice.parent.cpu is True
    assert (tmp_path / "cpu" / NAME / "cpu.shares").read_text() == "2048"  # 1024 per slot
    assert any("no cgroup v2 hierarchy" in note for note in choice.notes)


def test_a_hybrid_host_with_an_empty_unified_tree_uses_v1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _v1_tree(tmp_path)
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("")
    kernel_creates(monkeypatch, V1_FILES)

    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF)

    assert choice.kind == "cgroup-v1"
    assert any("hybrid" in note for note in choice.notes)


def test_without_a_cpu_hierarchy_v1_still_bounds_memory_and_pids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _v1_tree(tmp_path, controllers=("memory", "pids"))
    kernel_creates(monkeypatch, V1_FILES)

    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF)

    assert choice.kind == "cgroup-v1"
    assert choice.parent is not None
    assert choice.parent.cpu is False
    assert any("cpu" in note and "not limited" in note for note in choice.notes)


def test_plain_directories_are_not_taken_for_cgroups(tmp_path: Path) -> None:
    # /sys/fs/cgroup is often a tmpfs: a mkdir there succeeds but makes no group.
    _v1_tree(tmp_path)

    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF)

    assert choice.kind == "rlimit"
    assert choice.parent is None
    assert any("is not a memory cgroup" in note for note in choice.notes)
    assert not (tmp_path / "memory" / "jobs" / "abc" / NAME).exists()  # tidied


@pytest.fixture
def read_only_root(tmp_path: Path) -> Iterator[Path]:
    """A v1 tree seen through a read-only bind mount, as in a container mounting it ``ro``."""
    tree = tmp_path / "tree"
    tree.mkdir()
    _v1_tree(tree)
    view = tmp_path / "view"
    view.mkdir()
    mounts.bind_mount(tree, view, read_only=True)
    try:
        yield view
    finally:
        mounts.unmount(view)


def test_a_read_only_cgroup_tree_falls_back_to_rlimits(read_only_root: Path) -> None:
    choice = choose(mode="auto", name=NAME, root=read_only_root, proc_self_cgroup=V1_SELF)

    assert choice.kind == "rlimit"
    assert any("read-only" in note for note in choice.notes), choice.notes


def test_no_cgroups_at_all_falls_back_to_rlimits(tmp_path: Path) -> None:
    choice = choose(mode="auto", name=NAME, root=tmp_path, proc_self_cgroup="")

    assert choice.kind == "rlimit"
    assert [note.split(":")[0] for note in choice.notes] == ["cgroup v2", "cgroup v1"]


def test_off_means_rlimits_even_where_cgroups_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _v1_tree(tmp_path)
    kernel_creates(monkeypatch, V1_FILES)

    choice = choose(mode="off", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF)

    assert choice.kind == "rlimit"
    assert not (tmp_path / "pids" / NAME).exists()


def test_a_required_layout_that_is_missing_refuses_to_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _v1_tree(tmp_path)
    kernel_creates(monkeypatch, V1_FILES)

    with pytest.raises(SandboxUnavailableError, match="DEVGEN_EXECUTOR_CGROUPS=v2"):
        choose(mode="v2", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF)
    assert choose(mode="v1", name=NAME, root=tmp_path, proc_self_cgroup=V1_SELF).kind == (
        "cgroup-v1"
    )


def test_an_unusable_delegated_directory_refuses_to_start(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu io")

    with pytest.raises(SandboxUnavailableError, match="does not offer the memory and pids"):
        choose(mode="auto", name=NAME, delegated=tmp_path, root=tmp_path / "unused")


def test_a_delegated_directory_wins_over_the_own_group(tmp_path: Path, v2_kernel: None) -> None:
    root = tmp_path / "root"
    root.mkdir()
    _v2_tree(root)
    delegated = tmp_path / "delegated"
    delegated.mkdir()
    _v2_tree(delegated, controllers="memory pids")

    choice = choose(mode="auto", name=NAME, delegated=delegated, root=root)

    assert isinstance(choice.parent, V2Parent)
    assert choice.parent.path == delegated / NAME
    assert choice.parent.cpu is False  # the delegated directory offers no cpu controller
