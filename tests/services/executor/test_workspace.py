"""Host-side workspace handling: writing files and reading results back safely."""

import os
from pathlib import Path

import pytest

from devgen.services.executor.sandbox import FileStatus, InvalidRequestError
from devgen.services.executor.sandbox.workspace import Workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "run", size_bytes=1 << 20, owner=None, mount=False)
    yield ws  # type: ignore[misc]
    ws.destroy()


def test_files_are_written_with_parents(workspace: Workspace) -> None:
    workspace.write_files({"a/b/c.txt": b"deep", "main.py": b"print(1)"})
    assert (workspace.path("work") / "a/b/c.txt").read_bytes() == b"deep"


def test_a_file_cannot_be_a_directory_too(workspace: Workspace) -> None:
    with pytest.raises(InvalidRequestError):
        workspace.write_files({"a": b"file", "a/b": b"under a file"})


def test_terabyte_sparse_file_is_read_capped_and_fast(workspace: Workspace) -> None:
    big = workspace.path("work") / "huge.bin"
    with open(big, "wb") as f:
        f.truncate(1 << 40)
    got = workspace.collect(["huge.bin"], cap_bytes=1 << 20)["huge.bin"]
    assert got.status is FileStatus.TRUNCATED
    assert got.size == 1 << 40
    assert len(got.content) == 1 << 20


def test_links_are_never_followed(workspace: Workspace, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("host secret")
    work = workspace.path("work")
    os.symlink(secret, work / "link.xml")
    os.symlink(tmp_path, work / "dirlink")
    os.mkfifo(work / "fifo")
    got = workspace.collect(["link.xml", "dirlink/secret", "fifo", "nope"], cap_bytes=100)
    assert got["link.xml"].status is FileStatus.NOT_REGULAR
    assert got["dirlink/secret"].status is FileStatus.NOT_REGULAR
    assert got["fifo"].status is FileStatus.NOT_REGULAR
    assert got["nope"].status is FileStatus.MISSING
    assert all(f.content == b"" for f in got.values())


def test_destroy_does_not_follow_links_out(workspace: Workspace, tmp_path: Path) -> None:
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("stay")
    os.symlink(keep, workspace.path("work") / "out")
    workspace.destroy()
    assert (keep / "precious").read_text() == "stay"
