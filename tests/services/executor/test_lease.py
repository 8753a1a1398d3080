"""Owners of running executions: who is known dead, and the state directories they leave."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from devgen.services.executor import statedirs
from devgen.services.executor.lease import Owner, process_start
from devgen.services.executor.sandbox import cgroup_probe
from devgen.services.executor.sandbox.cgroups import parent_name


def test_an_owner_round_trips_through_its_text() -> None:
    owner = Owner.current()
    try:
        assert Owner.parse(str(owner)) == owner
        assert Owner.parse("garbage") is None
    finally:
        owner.retire()


def test_liveness_of_owners() -> None:
    owner = Owner.current()
    assert not owner.known_dead()
    owner.retire()
    # Same process, instance stopped: its executions are orphans.
    assert owner.known_dead()
    finished = subprocess.Popen(["true"])
    finished.wait()
    assert Owner(socket.gethostname(), finished.pid, "1", "t").known_dead()
    # Another host: only its lease can tell.
    assert not Owner("elsewhere", 1, "1", "t").known_dead()


def test_abandoned_state_dirs_are_reclaimed_live_ones_kept(tmp_path: Path) -> None:
    live, dead, unknown = tmp_path / "live", tmp_path / "dead", tmp_path / "unknown"
    statedirs.claim(live)
    for sub in ("runs", "views/0", "etc"):
        (dead / sub).mkdir(parents=True)
    finished = subprocess.Popen(["true"])
    finished.wait()
    (dead / "owner").write_text(f"{finished.pid} {process_start(os.getpid())}\n")
    unknown.mkdir()
    (unknown / "dev").mkdir()
    busy = tmp_path / "busy"  # no owner record, but something in it: not ours to touch
    (busy / "data").mkdir(parents=True)
    (busy / "data" / "file").write_text("x")

    assert statedirs.reclaim_abandoned(tmp_path, keep=tmp_path / "none") == 1

    assert live.exists()
    assert not dead.exists()
    assert not unknown.exists()  # empty: tidied
    assert (busy / "data" / "file").exists()


def test_the_cgroups_of_a_dead_owner_go_with_its_state_dir(tmp_path: Path) -> None:
    dead = tmp_path / "dead"
    dead.mkdir()
    finished = subprocess.Popen(["true"])
    finished.wait()
    (dead / "owner").write_text(f"{finished.pid} {process_start(os.getpid())}\n")
    left = cgroup_probe.choose(mode="auto", name=parent_name(dead))
    assert left.parent is not None, left.notes
    directories = left.parent.directories()
    for directory in directories:
        (directory / "exec-of-the-dead-owner").mkdir()

    assert statedirs.reclaim_abandoned(tmp_path, keep=tmp_path / "none") == 1

    assert [directory.exists() for directory in directories] == [False] * len(directories)


def test_a_state_dir_of_another_live_executor_is_refused(tmp_path: Path) -> None:
    other = subprocess.Popen(["sleep", "30"])
    try:
        (tmp_path / "owner").write_text(f"{other.pid} {process_start(other.pid)}\n")
        with pytest.raises(statedirs.StateDirInUse, match="its own DEVGEN_DATA_DIR"):
            statedirs.claim(tmp_path)
    finally:
        other.kill()
        other.wait()
    statedirs.claim(tmp_path)  # its owner is gone now: ours
    assert (tmp_path / "owner").read_text().split()[0] == str(os.getpid())
