"""Probing the host, and cgroup v2 handling against a fake cgroup directory."""

from pathlib import Path

from devgen.services.executor.sandbox import Limits, probe_host
from devgen.services.executor.sandbox.cgroups import ExecutionCgroup
from devgen.services.executor.sandbox.probe import cgroup_layout, check_cgroup_parent


def test_probe_reports_this_host() -> None:
    host = probe_host()
    assert host.bwrap is not None, "bubblewrap must be installed: apt-get install bubblewrap"
    assert host.problems() == []


def test_missing_bwrap_is_explained() -> None:
    host = probe_host(bwrap="/nonexistent/bwrap")
    assert host.bwrap_version is None


def test_cgroup_layout_names(tmp_path: Path) -> None:
    assert cgroup_layout(tmp_path) == "none"
    (tmp_path / "memory").mkdir()
    assert cgroup_layout(tmp_path) == "v1"
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("")
    assert cgroup_layout(tmp_path) == "v1-hybrid"
    (tmp_path / "cgroup.controllers").write_text("memory pids")
    assert cgroup_layout(tmp_path) == "v2"


def test_cgroup_parent_needs_memory_and_pids(tmp_path: Path) -> None:
    assert "not a cgroup v2" in (check_cgroup_parent(tmp_path) or "")
    (tmp_path / "cgroup.controllers").write_text("cpu io")
    assert "memory and pids" in (check_cgroup_parent(tmp_path) or "")
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids")
    (tmp_path / "cgroup.subtree_control").write_text("")
    assert check_cgroup_parent(tmp_path) is None
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_execution_cgroup_files(tmp_path: Path) -> None:
    group = ExecutionCgroup(tmp_path, "exec-1")
    group.path.mkdir()
    for name in ("memory.max", "memory.swap.max", "pids.max", "cgroup.procs"):
        (group.path / name).write_text("")
    (group.path / "memory.events").write_text("low 0\noom 1\noom_kill 1\n")
    (group.path / "memory.peak").write_text("12345\n")
    limits = Limits()
    for name, value in (
        ("memory.max", str(limits.memory_bytes)),
        ("memory.swap.max", "0"),
        ("pids.max", "64"),
    ):
        group._write(name, value)
        assert (group.path / name).read_text() == value
    group.attach(4242)
    assert (group.path / "cgroup.procs").read_text() == "4242"
    assert group.oom_killed() is True
    assert group.peak_memory() == 12345
