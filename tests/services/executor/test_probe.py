"""Probing the host, and the cgroup files of one execution against fake cgroup directories."""

from pathlib import Path

import pytest

from devgen.services.executor.sandbox import Limits, probe_host
from devgen.services.executor.sandbox.cgroup_v1 import V1Group
from devgen.services.executor.sandbox.cgroup_v2 import V2Group
from devgen.services.executor.sandbox.probe import cgroup_layout, check_cgroup_parent
from tests.services.executor.conftest import kernel_creates as _kernel_creates


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
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+memory +pids +cpu"


def test_v2_execution_group_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = V2Group(tmp_path / "exec-1", cpu=True)
    limits = Limits(memory_bytes=256 * 1024 * 1024, processes=32, cpus=0.5)
    made = _kernel_creates(
        monkeypatch,
        [
            "memory.max",
            "memory.swap.max",
            "memory.oom.group",
            "pids.max",
            "cpu.max",
            "cgroup.procs",
        ],
    )
    group.create(limits)
    monkeypatch.undo()
    assert made == [group.path]
    written = {p.name: p.read_text() for p in group.path.iterdir()}
    assert written["memory.max"] == str(256 * 1024 * 1024)
    assert written["memory.swap.max"] == "0"
    assert written["memory.oom.group"] == "1"
    assert written["pids.max"] == "32"
    assert written["cpu.max"] == "50000 100000"
    group.attach(4242)
    assert (group.path / "cgroup.procs").read_text() == "4242"
    assert group.oom_killed() is False
    (group.path / "memory.events").write_text("low 0\noom 1\noom_kill 1\n")
    (group.path / "memory.peak").write_text("12345\n")
    assert group.oom_killed() is True
    assert group.peak_memory() == 12345


def test_v1_execution_group_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = {c: tmp_path / c / "devgen-x" / "exec-1" for c in ("memory", "pids", "cpu")}
    for path in paths.values():
        path.parent.mkdir(parents=True)
    group = V1Group(paths)
    made = _kernel_creates(
        monkeypatch,
        [
            "cgroup.procs",
            "memory.limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "pids.max",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
        ],
    )
    group.create(Limits(memory_bytes=64 * 1024 * 1024, processes=16, cpus=0.25))
    monkeypatch.undo()
    assert sorted(made) == sorted(paths.values())
    memory, pids, cpu = paths["memory"], paths["pids"], paths["cpu"]
    assert (memory / "memory.limit_in_bytes").read_text() == str(64 * 1024 * 1024)
    # No memory.memsw.* (swap accounting off): nothing written for it.
    assert not (memory / "memory.memsw.limit_in_bytes").exists()
    assert (memory / "memory.swappiness").read_text() == "0"
    assert (memory / "memory.oom_control").read_text() == "0"  # the OOM killer stays on
    assert (pids / "pids.max").read_text() == "16"
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "25000"
    group.attach(77)
    assert all((p / "cgroup.procs").read_text() == "77" for p in paths.values())
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    assert group.oom_killed() is False
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n")
    assert group.oom_killed() is True
    # Kernels before 4.13 have no oom_kill line: a failed charge is the sign.
    (memory / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\n")
    (memory / "memory.failcnt").write_text("3\n")
    assert group.oom_killed() is True
    (memory / "memory.max_usage_in_bytes").write_text("987654\n")
    assert group.peak_memory() == 987654
