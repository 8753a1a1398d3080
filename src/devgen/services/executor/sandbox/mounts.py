"""Host-side mount(2) calls: per-execution tmpfs and read-only runtime views.

Python has no binding for mount(2); these are thin ctypes wrappers that raise
``OSError`` with the real errno. They need CAP_SYS_ADMIN (the executor runs
as root, see the docs).
"""

from __future__ import annotations

import ctypes
import errno
import os
from pathlib import Path

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MNT_DETACH = 0x2
UMOUNT_NOFOLLOW = 0x8

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong]
_libc.mount.argtypes += [ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]


def _check(result: int, what: str, path: Path) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", str(path))


def mount_tmpfs(
    target: Path,
    *,
    size_bytes: int,
    inodes: int,
    uid: int,
    gid: int,
    mode: int = 0o700,
    devices: bool = False,
) -> None:
    """Mount a fresh tmpfs on ``target``: size and inode capped, owned by ``uid``.

    The inode cap matters as much as the size: empty files cost kernel memory
    that ``size=`` does not count. ``devices`` leaves out ``nodev`` (only for
    the sandbox's prepared ``/dev``, which is remounted read-only once filled).
    """
    options = f"size={size_bytes},nr_inodes={inodes},mode={mode:o},uid={uid},gid={gid}"
    flags = MS_NOSUID | (0 if devices else MS_NODEV)
    _check(
        _libc.mount(b"tmpfs", os.fsencode(target), b"tmpfs", flags, options.encode()),
        "mount tmpfs",
        target,
    )


def remount_read_only(target: Path) -> None:
    """Make the filesystem mounted on ``target`` read-only, for every bind of it too.

    A remount without ``MS_BIND`` changes the superblock, not just this mount:
    a later bind of it (into a sandbox) cannot be made writable again.
    """
    flags = MS_REMOUNT | MS_RDONLY | MS_NOSUID
    _check(_libc.mount(None, os.fsencode(target), None, flags, None), "remount ro", target)


def bind_mount(source: Path, target: Path, *, read_only: bool) -> None:
    """Bind ``source`` (with its submounts) on ``target``, optionally read-only.

    A read-only view is also a safety net on the host: a careless recursive
    delete of the state directory fails with EROFS instead of deleting the
    real directory behind the view.
    """
    _check(
        _libc.mount(os.fsencode(source), os.fsencode(target), None, MS_BIND | MS_REC, None),
        "bind mount",
        target,
    )
    if read_only:
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
        result = _libc.mount(None, os.fsencode(target), None, flags, None)
        if result != 0:
            err = ctypes.get_errno()
            _libc.umount2(os.fsencode(target), MNT_DETACH)
            raise OSError(err, f"remount read-only: {os.strerror(err)}", str(target))


def make_private(target: Path) -> None:
    """Stop mount events under ``target`` from propagating to other namespaces."""
    _check(_libc.mount(None, os.fsencode(target), None, MS_PRIVATE | MS_REC, None), "mount", target)


def unmount(target: Path) -> None:
    """Lazily detach whatever is mounted on ``target`` (never following a symlink)."""
    _check(_libc.umount2(os.fsencode(target), MNT_DETACH | UMOUNT_NOFOLLOW), "umount", target)


def mounts_under(path: Path) -> list[Path]:
    """Every mount point at or below ``path``, deepest first, from /proc/self/mountinfo.

    ``os.path.ismount`` cannot be used: it misses a bind mount of a directory
    from the same filesystem.
    """
    root = os.path.realpath(path)
    found: list[Path] = []
    with open("/proc/self/mountinfo", "rb") as info:
        for line in info:
            point = _unescape(line.split()[4].decode("utf-8", "surrogateescape"))
            if point == root or point.startswith(root.rstrip("/") + "/"):
                found.append(Path(point))
    # Deepest first; the same point may be stacked several times.
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal \ooo.
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def unmount_all_under(path: Path) -> None:
    """Detach every mount at or below ``path`` (stacked ones included)."""
    for point in mounts_under(path):
        try:
            unmount(point)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno != errno.EINVAL:  # EINVAL: already gone
                raise


def is_mountpoint(path: Path) -> bool:
    """Return whether something is mounted exactly on ``path``."""
    return Path(os.path.realpath(path)) in mounts_under(path)
