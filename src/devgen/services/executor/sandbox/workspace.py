"""The writable storage of one execution, seen from the host.

In the hardened mode it is a tmpfs mounted on the host for this execution
only (size and inode capped, owned by the slot uid, ``nosuid,nodev``), with
two directories that bwrap binds inside: ``work`` (the workspace) and ``tmp``
(``/tmp``; ``/var/tmp`` and ``/dev/shm`` point into it). Every byte the
program can write therefore counts against one cap, and unmounting frees all
of it at once: the host never walks or deletes a tree the program shaped.

Host-side rules (the Judge0 CVE-2024-28185/28189 lesson): every path is
walked one component at a time with ``openat(..., O_NOFOLLOW)``; ownership
is only ever set with ``fchown`` on a descriptor the host just created in a
fresh filesystem, before any untrusted code ran; result files must be regular
files (``fstat``) and are read up to a cap.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from devgen.services.executor.sandbox import mounts
from devgen.services.executor.sandbox.errors import InvalidRequestError
from devgen.services.executor.sandbox.request import workspace_path
from devgen.services.executor.sandbox.result import CollectedFile, FileStatus

SUBDIRS: dict[str, int] = {"work": 0o755, "tmp": 0o1777}
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_CHUNK = 256 * 1024


class Workspace:
    """A per-execution directory tree on the host; use :meth:`create` and :meth:`destroy`."""

    def __init__(self, root: Path, root_fd: int, *, mounted: bool, owner: tuple[int, int] | None):
        self.root = root
        self._root_fd = root_fd
        self._mounted = mounted
        self._owner = owner

    @classmethod
    def create(
        cls,
        root: Path,
        *,
        size_bytes: int,
        owner: tuple[int, int] | None,
        mount: bool,
    ) -> Workspace:
        """Create the tree at ``root`` (which must not exist).

        With ``mount`` a tmpfs of ``size_bytes`` owned by ``owner`` is mounted
        there; without it (unsafe development mode) it is a plain directory.
        """
        root.mkdir(mode=0o700)
        try:
            if mount:
                if owner is None:
                    raise ValueError("a mounted workspace needs an owner uid/gid")
                # One inode per 4 KiB of space, at least 1024: plenty for real
                # projects, and a bound on kernel memory for empty-file floods.
                inodes = max(1024, size_bytes // 4096)
                mounts.mount_tmpfs(
                    root, size_bytes=size_bytes, inodes=inodes, uid=owner[0], gid=owner[1]
                )
            root_fd = os.open(root, _DIR_FLAGS)
        except BaseException:
            with contextlib.suppress(OSError):
                root.rmdir()
            raise
        workspace = cls(root, root_fd, mounted=mount, owner=owner)
        try:
            for name, mode in SUBDIRS.items():
                workspace._mkdir_at(root_fd, name, mode)
            tmp_fd = os.open("tmp", _DIR_FLAGS, dir_fd=root_fd)
            try:
                workspace._mkdir_at(tmp_fd, ".shm", 0o1777)  # /dev/shm points here
            finally:
                os.close(tmp_fd)
        except BaseException:
            workspace.destroy()
            raise
        return workspace

    def path(self, subdir: str) -> Path:
        """Host path of one of :data:`SUBDIRS`."""
        return self.root / subdir

    def write_files(self, files: Mapping[str, bytes]) -> None:
        """Write the request's files into ``work``, creating parent directories."""
        work_fd = os.open("work", _DIR_FLAGS, dir_fd=self._root_fd)
        try:
            for name, content in files.items():
                parts = workspace_path(name, what="file")
                self._write_one(work_fd, parts, content, name)
        finally:
            os.close(work_fd)

    def _write_one(self, work_fd: int, parts: tuple[str, ...], content: bytes, name: str) -> None:
        dir_fd = os.dup(work_fd)
        try:
            for part in parts[:-1]:
                with contextlib.suppress(FileExistsError):
                    self._mkdir_at(dir_fd, part, 0o755)
                try:
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
                except NotADirectoryError as exc:
                    raise InvalidRequestError(f"file path {name!r} goes through a file") from exc
                os.close(dir_fd)
                dir_fd = next_fd
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                fd = os.open(parts[-1], flags, 0o644, dir_fd=dir_fd)
            except (FileExistsError, IsADirectoryError) as exc:
                raise InvalidRequestError(f"file path {name!r} is given twice") from exc
            try:
                self._chown(fd)
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise InvalidRequestError("the files do not fit in the workspace") from exc
                raise
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)

    def _mkdir_at(self, dir_fd: int, name: str, mode: int) -> None:
        os.mkdir(name, 0o700, dir_fd=dir_fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        try:
            self._chown(fd)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

    def _chown(self, fd: int) -> None:
        # fchown on a descriptor we created ourselves: no path, no link to follow.
        if self._owner is not None:
            os.fchown(fd, *self._owner)

    def collect(self, names: Iterable[str], *, cap_bytes: int) -> dict[str, CollectedFile]:
        """Read result files from ``work`` without following any link, each capped."""
        return {name: self._collect_one(name, cap_bytes) for name in names}

    def _collect_one(self, name: str, cap_bytes: int) -> CollectedFile:
        parts = workspace_path(name, what="collect")
        try:
            dir_fd = os.open("work", _DIR_FLAGS, dir_fd=self._root_fd)
        except OSError:
            return CollectedFile(FileStatus.MISSING)
        try:
            for part in parts[:-1]:
                try:
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
                except FileNotFoundError:
                    return CollectedFile(FileStatus.MISSING)
                except OSError:
                    # ELOOP (a symlink) or ENOTDIR: refuse to go through it.
                    return CollectedFile(FileStatus.NOT_REGULAR)
                os.close(dir_fd)
                dir_fd = next_fd
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
            try:
                fd = os.open(parts[-1], flags, dir_fd=dir_fd)
            except FileNotFoundError:
                return CollectedFile(FileStatus.MISSING)
            except OSError:
                return CollectedFile(FileStatus.NOT_REGULAR)
            try:
                info = os.fstat(fd)
                if not stat.S_ISREG(info.st_mode):
                    return CollectedFile(FileStatus.NOT_REGULAR)
                content = _read_capped(fd, cap_bytes)
            finally:
                os.close(fd)
        finally:
            os.close(dir_fd)
        truncated = info.st_size > cap_bytes
        status = FileStatus.TRUNCATED if truncated else FileStatus.OK
        return CollectedFile(status, content, info.st_size)

    def destroy(self) -> None:
        """Unmount (or delete) the tree. Safe to call twice."""
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1
        if self._mounted:
            with contextlib.suppress(FileNotFoundError):
                mounts.unmount(self.root)
            self._mounted = False
            with contextlib.suppress(FileNotFoundError):
                self.root.rmdir()
        else:
            # rmtree works with descriptors and does not follow links on Linux.
            shutil.rmtree(self.root, ignore_errors=True)


def _read_capped(fd: int, cap_bytes: int) -> bytes:
    chunks: list[bytes] = []
    remaining = cap_bytes
    while remaining > 0:
        chunk = os.read(fd, min(_READ_CHUNK, remaining))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def make_dev_root() -> Path:
    """A private temp directory for the unsafe development mode."""
    return Path(tempfile.mkdtemp(prefix="devgen-exec-"))
