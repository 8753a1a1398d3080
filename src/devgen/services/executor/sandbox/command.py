"""Build the bwrap command line of one execution, and the host files it binds.

:func:`build_command` is pure: paths and descriptor numbers in, strings out,
so the exact isolation flags are unit-tested without running anything.
:func:`write_etc` and :func:`write_dev` fill the directories bound as the
sandbox's ``/etc`` and ``/dev`` (prepared once, at start).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

WORKSPACE = PurePosixPath("/workspace")
# Paths inside the sandbox (each is a private, size-capped bind, not the host's).
HOME = "/tmp"  # noqa: S108
TMP = "/tmp"  # noqa: S108
# /var/tmp and /dev/shm are symlinks into the one capped /tmp: two fewer binds.
TMP_LINKS = {"/var/tmp": TMP, "/dev/shm": "/tmp/.shm"}  # noqa: S108
# The only device nodes (name: major, minor): no tty, no pts, nothing with a driver behind it.
DEVICES: dict[str, tuple[int, int]] = {
    "null": (1, 3),
    "zero": (1, 5),
    "full": (1, 7),
    "random": (1, 8),
    "urandom": (1, 9),
}
DEV_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
    "shm": TMP_LINKS["/dev/shm"],  # noqa: S108 - the sandbox's own, capped /tmp
}
LANG = "C.UTF-8"
HOSTNAME = "sandbox"
BASE_PATH = ("/usr/local/bin", "/usr/bin", "/bin")

# Top-level runtime directories: bound read-only, or recreated as the same
# symlink when the host has merged /usr (/bin -> usr/bin).
SYSTEM_DIRS: tuple[str, ...] = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# Host entries under /etc the dynamic loader, libc and Debian's alternatives
# want; they are copied (as files or symlinks) into the executor's own /etc at
# start. Never /etc as a whole: /etc/shadow, ssh keys and the platform's
# configuration live there.
HOST_ETC_ENTRIES: tuple[str, ...] = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "alternatives",
    "localtime",
)
NAMESPACE_FLAGS: tuple[str, ...] = (
    "--unshare-user",
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-net",
    "--unshare-uts",
    "--unshare-cgroup-try",
)
NAMESPACES: tuple[str, ...] = ("user", "ipc", "pid", "net", "uts", "mount", "cgroup")


@dataclass(frozen=True, slots=True)
class View:
    """A host directory (already made reachable by the slot uid) shown read-only inside."""

    host: Path
    inside: PurePosixPath


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the execution runs as: outside (host) and inside the user namespace."""

    host_uid: int
    host_gid: int
    inside_uid: int = 1000
    inside_gid: int = 1000


@dataclass(frozen=True, slots=True)
class Fds:
    """Descriptor numbers as the child sees them (they are passed through unchanged).

    bwrap reads its options from ``args`` (``--args``): until the host has
    written them it waits, which is when the host lowers bwrap's rlimits
    (see :class:`.process.Supervisor`). It reports the program's pid on
    ``info`` right after cloning it. With ``block`` it then waits before
    exec'ing the program, for the host to move it into a cgroup; without, it
    does not wait (a round trip through a busy event loop costs more than the
    whole rest of the setup).
    """

    args: int
    seccomp: int
    info: int
    block: int | None = None


@dataclass(frozen=True, slots=True)
class BwrapCommand:
    """The argv to spawn, and the options bwrap reads from its ``--args`` descriptor.

    The argv holds nothing but bwrap, ``--args`` and the command: should the
    options never arrive (the host died before writing them), bwrap runs the
    command in an empty root, where nothing can be exec'd.
    """

    argv: list[str]
    options: list[str]

    def options_payload(self) -> bytes:
        """The NUL-separated bytes bwrap's ``--args`` expects."""
        return b"".join(os.fsencode(option) + b"\0" for option in self.options)


def system_binds(root: Path = Path("/")) -> list[str]:
    """The argv fragment binding the runtime (``/usr``, ``/lib*``, ``/bin``...) read-only."""
    args: list[str] = []
    for name in SYSTEM_DIRS:
        host = root / name.lstrip("/")
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), name]
        elif host.is_dir():
            args += ["--ro-bind", str(host), name]
    return args


def search_path(views: Sequence[View], path_first: Sequence[PurePosixPath]) -> str:
    """``PATH`` inside: the given bin dirs first, then each runtime view's ``bin``."""
    dirs = [str(p) for p in path_first]
    dirs += [str(view.inside / "bin") for view in views]
    dirs += list(BASE_PATH)
    return ":".join(dict.fromkeys(dirs))


def build_command(
    *,
    bwrap: str,
    identity: Identity,
    fds: Fds,
    workspace_root: Path,
    synth_etc: Path,
    synth_dev: Path,
    system: Sequence[str],
    views: Sequence[View],
    path_first: Sequence[PurePosixPath],
    command: Sequence[str],
) -> BwrapCommand:
    """Return bwrap's argv and its options.

    It is spawned already as the slot's uid (see :mod:`creds`), with no
    ``setpriv`` and no ``prlimit`` exec in between: the host sets bwrap's
    rlimits while bwrap waits for its options. ``workspace_root`` is the
    per-execution tmpfs holding ``work`` and ``tmp``; ``synth_etc`` and
    ``synth_dev`` the directories :func:`write_etc` and :func:`write_dev`
    filled; ``system`` comes from :func:`system_binds` (computed once).
    """
    options = [
        *NAMESPACE_FLAGS,
        "--disable-userns",
        "--uid",
        str(identity.inside_uid),
        "--gid",
        str(identity.inside_gid),
        "--hostname",
        HOSTNAME,
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        # The program is pid 1 of its namespace, a direct child of bwrap: its
        # exit tears the namespace down at once (no daemon survives), and bwrap
        # reaps it, so its CPU time reaches our wait4().
        "--as-pid-1",
        "--clearenv",
        "--setenv",
        "PATH",
        search_path(views, path_first),
        "--setenv",
        "HOME",
        HOME,
        "--setenv",
        "LANG",
        LANG,
        *system,
        # One bind for the whole synthesized /etc: each bind costs bwrap two mounts.
        "--ro-bind",
        str(synth_etc),
        "/etc",
    ]
    for view in views:
        options += ["--ro-bind", str(view.host), str(view.inside)]
    options += [
        "--proc",
        "/proc",
        # One bind for all of /dev (write_dev's devices and links on a
        # read-only tmpfs) instead of a tmpfs, a bind per device and a remount.
        "--dev-bind",
        str(synth_dev),
        "/dev",
        "--bind",
        str(workspace_root / "tmp"),
        TMP,
        "--bind",
        str(workspace_root / "work"),
        str(WORKSPACE),
        "--symlink",
        TMP,
        "/var/tmp",  # noqa: S108 - a link into the capped /tmp
        # The sandbox root is bwrap's own unbounded tmpfs: make it read-only so
        # the only writable places are the capped binds above.
        "--remount-ro",
        "/",
        "--chdir",
        str(WORKSPACE),
        "--seccomp",
        str(fds.seccomp),
        "--info-fd",
        str(fds.info),
    ]
    if fds.block is not None:
        options += ["--block-fd", str(fds.block)]
    return BwrapCommand(argv=[bwrap, "--args", str(fds.args), "--", *command], options=options)


def write_etc(target: Path, identity: Identity, host_etc: Path = Path("/etc")) -> None:
    """Fill the empty directory ``target`` with the sandbox's ``/etc``.

    Synthesized files plus copies of the host entries in :data:`HOST_ETC_ENTRIES`.
    """
    for name, text in synth_etc_contents(identity).items():
        (target / name).write_text(text)
        (target / name).chmod(0o644)
    for name in HOST_ETC_ENTRIES:
        _copy_entry(host_etc / name, target / name)


def write_dev(target: Path) -> None:
    """Fill the empty directory ``target`` with the sandbox's ``/dev``.

    ``target`` must be on a filesystem that allows device nodes (the sandbox
    mounts a small tmpfs without ``nodev`` there, and remounts it read-only
    once this is done): the :data:`DEVICES`, read-write for everyone like the
    host's, and the :data:`DEV_LINKS` symlinks.
    """
    for name, (major, minor) in DEVICES.items():
        os.mknod(target / name, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(target / name, 0o666)  # noqa: S103 - like the host's /dev/null: the umask must not narrow it
    for name, link in DEV_LINKS.items():
        (target / name).symlink_to(link)


def _copy_entry(source: Path, target: Path) -> None:
    """Copy a file, a symlink (as a symlink) or a directory of those; skip the rest."""
    if source.is_symlink():
        target.symlink_to(os.readlink(source))
    elif source.is_dir():
        target.mkdir(mode=0o755)
        for entry in os.scandir(source):
            _copy_entry(Path(entry.path), target / entry.name)
    elif source.is_file():
        shutil.copyfile(source, target)
        target.chmod(0o644)


def synth_etc_contents(identity: Identity) -> dict[str, str]:
    """The synthesized ``/etc`` files: a user for the inside uid, localhost only."""
    return {
        "passwd": (
            "root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
            f"sandbox:x:{identity.inside_uid}:{identity.inside_gid}:sandbox:{HOME}:/bin/sh\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        ),
        "group": f"root:x:0:\nsandbox:x:{identity.inside_gid}:\nnogroup:x:65534:\n",
        "hosts": f"127.0.0.1 localhost {HOSTNAME}\n::1 localhost ip6-localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    }
