"""The bwrap command carries every isolation flag, and binds nothing it must not."""

import os
from pathlib import Path, PurePosixPath

from devgen.services.executor.sandbox import command as cmd


def _command(block: int | None = None) -> cmd.BwrapCommand:
    return cmd.build_command(
        bwrap="/usr/bin/bwrap",
        identity=cmd.Identity(60003, 60003),
        fds=cmd.Fds(args=4, seccomp=5, info=6, block=block),
        workspace_root=Path("/state/runs/abc"),
        synth_etc=Path("/state/etc"),
        synth_dev=Path("/state/dev"),
        system=cmd.system_binds(),
        views=[cmd.View(Path("/state/views/0"), PurePosixPath("/opt/python"))],
        path_first=[],
        command=["python3", "main.py"],
    )


def _argv(block: int | None = None) -> list[str]:
    """The options, as bwrap sees them once read from ``--args``."""
    return _command(block).options


def test_argv_is_bwrap_reading_its_options_then_the_command() -> None:
    command = _command()
    # No prlimit or setpriv exec: rlimits and the uid drop happen in the spawning thread.
    assert command.argv == ["/usr/bin/bwrap", "--args", "4", "--", "python3", "main.py"]
    assert "--" not in command.options
    payload = command.options_payload()
    assert payload.endswith(b"\0")
    assert payload.split(b"\0")[:-1] == [o.encode() for o in command.options]


def test_every_isolation_flag_is_present() -> None:
    argv = _argv()
    for flag in (
        "--unshare-user",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        "--as-pid-1",
        "--clearenv",
    ):
        assert flag in argv, flag
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert argv[argv.index("--seccomp") + 1] == "5"
    assert argv[argv.index("--info-fd") + 1] == "6"
    assert argv[argv.index("--uid") + 1] == "1000"
    assert "--share-net" not in argv
    remounted = [argv[i + 1] for i, a in enumerate(argv) if a == "--remount-ro"]
    assert remounted == ["/"]  # /dev is a read-only filesystem of its own


def test_block_fd_only_when_asked() -> None:
    assert "--block-fd" not in _argv()
    argv = _argv(block=7)
    assert argv[argv.index("--block-fd") + 1] == "7"


def test_dev_is_one_bind_of_the_prepared_directory() -> None:
    argv = _argv()
    devices = [(argv[i + 1], argv[i + 2]) for i, a in enumerate(argv) if a == "--dev-bind"]
    assert devices == [("/state/dev", "/dev")]
    assert "--dev" not in argv  # no /dev/pts, no /dev/tty


def test_prepared_dev_holds_only_harmless_devices(tmp_path: Path) -> None:
    cmd.write_dev(tmp_path)
    devices = {p.name for p in tmp_path.iterdir() if not p.is_symlink() and p.is_char_device()}
    assert devices == {"null", "zero", "full", "random", "urandom"}
    links = {p.name: str(p.readlink()) for p in tmp_path.iterdir() if p.is_symlink()}
    assert links["shm"] == "/tmp/.shm"
    assert links["fd"] == "/proc/self/fd"
    assert (tmp_path / "null").stat().st_rdev == os.makedev(1, 3)


def test_environment_is_minimal() -> None:
    argv = _argv()
    env = {argv[i + 1]: argv[i + 2] for i, a in enumerate(argv) if a == "--setenv"}
    assert set(env) == {"PATH", "HOME", "LANG"}
    assert env["PATH"].startswith("/opt/python/bin:")


def test_no_host_secret_location_is_bound() -> None:
    argv = _argv()
    sources = [argv[i + 1] for i, a in enumerate(argv) if a in ("--bind", "--ro-bind")]
    for source in sources:
        assert source not in ("/", "/root", "/home", "/etc"), source
        assert not source.startswith(("/root", "/home", "/etc")), source
    assert argv[argv.index("/state/etc") + 1] == "/etc"  # the synthesized copy


def test_workspace_and_temp_dirs_come_from_the_run_tmpfs() -> None:
    argv = _argv()
    binds = {argv[i + 2]: argv[i + 1] for i, a in enumerate(argv) if a == "--bind"}
    assert binds == {"/workspace": "/state/runs/abc/work", "/tmp": "/state/runs/abc/tmp"}
    links = {argv[i + 2]: argv[i + 1] for i, a in enumerate(argv) if a == "--symlink"}
    assert links["/var/tmp"] == "/tmp"


def test_synthesized_etc_has_no_secrets(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    cmd.write_etc(tmp_path / "etc", cmd.Identity(60000, 60000))
    names = {p.name for p in (tmp_path / "etc").iterdir()}
    assert {"passwd", "group", "hosts", "nsswitch.conf"} <= names
    assert "shadow" not in names
    assert "sandbox:x:1000:1000" in (tmp_path / "etc" / "passwd").read_text()
