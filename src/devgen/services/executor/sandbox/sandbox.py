"""The public entry point: :class:`Sandbox` runs a :class:`SandboxRequest`.

Life cycle: ``async with Sandbox(environment=..., config=...) as sandbox`` (or
``await sandbox.start()`` / ``await sandbox.close()``); ``await
sandbox.check()`` proves the host can isolate; ``await sandbox.run(request)``
runs one execution. The sandbox owns a pool of slots (one host uid each); a
``run`` waits for a free slot, so concurrency is bounded by ``config.slots``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType

import structlog

from devgen.services.executor.sandbox import cgroup_probe, mounts, seccomp
from devgen.services.executor.sandbox import command as cmd
from devgen.services.executor.sandbox.cgroups import (
    EXEC_PREFIX,
    CgroupParent,
    ExecutionGroup,
    parent_name,
)
from devgen.services.executor.sandbox.config import SandboxConfig
from devgen.services.executor.sandbox.errors import (
    InvalidRequestError,
    SandboxUnavailableError,
    UnsafeModeRefusedError,
)
from devgen.services.executor.sandbox.launch import OptionsGate
from devgen.services.executor.sandbox.probe import INSTALL_HINT, HostCapabilities, probe_host
from devgen.services.executor.sandbox.process import Gate, Supervisor
from devgen.services.executor.sandbox.request import EnvMount, SandboxRequest
from devgen.services.executor.sandbox.result import Isolation, SandboxResult, Verdict
from devgen.services.executor.sandbox.runner import build_result, early_result, rlimits_for
from devgen.services.executor.sandbox.slots import Slot, SlotPool
from devgen.services.executor.sandbox.workspace import Workspace

log = structlog.get_logger(__name__)

PRODUCTION = "production"
_THREAD_WRITE_BYTES = 1024 * 1024  # bigger payloads are written off the event loop

# A mount may not be, or contain, one of these: they hold secrets or the host.
_NEVER_CONTAIN = ("/", "/root", "/home", "/etc", "/var/lib", "/run", "/boot")
# ... nor sit inside one of these.
_NEVER_INSIDE = ("/proc", "/sys", "/dev", "/run", "/etc")
# Where a mount may not land inside the sandbox: it would hide the sandbox's own.
_RESERVED_TARGETS = ("/proc", "/dev", "/etc", cmd.TMP, *cmd.TMP_LINKS, str(cmd.WORKSPACE))


class Sandbox:
    """Runs untrusted commands in an isolated, limited, disposable environment."""

    def __init__(self, *, environment: str, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.environment = environment
        if self.config.mode == "unsafe-none" and environment == PRODUCTION:
            raise UnsafeModeRefusedError(
                'mode="unsafe-none" runs code without any isolation and is refused in production'
            )
        self._started = False
        self._start_lock = asyncio.Lock()
        self._staged: dict[Path, Path] = {}  # real host dir -> its view under state_dir
        self._runtime_views: list[cmd.View] = []
        self._views_lock = asyncio.Lock()
        self._pool = SlotPool(
            self.config.slots, base_uid=self.config.base_uid, base_gid=self.config.base_gid
        )
        self._host: HostCapabilities | None = None
        self._cgroups: CgroupParent | None = None
        self._system: list[str] = []
        self._seccomp = b""
        self._self_mounted = False

    @property
    def host(self) -> HostCapabilities | None:
        """What :meth:`start` probed (``None`` before, or in the unsafe mode)."""
        return self._host

    @property
    def cgroup_parent(self) -> CgroupParent | None:
        """The devgen-owned group executions' groups go under (``None``: rlimits)."""
        return self._cgroups

    @property
    def resources(self) -> str:
        """What bounds executions: ``cgroup-v2``, ``cgroup-v1`` or ``rlimit`` (once started)."""
        return self._cgroups.kind if self._cgroups is not None else "rlimit"

    @property
    def _state(self) -> Path:
        return self.config.state_dir

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Probe the host and prepare the state directory. Idempotent."""
        async with self._start_lock:
            if self._started:
                return
            if self.config.mode == "bwrap":
                self._start_bwrap()
            self._started = True

    def _start_bwrap(self) -> None:
        host = probe_host(
            bwrap=self.config.bwrap,
            prlimit=self.config.prlimit,
            cgroup_parent=self.config.cgroup_parent,
        )
        problems = host.problems()
        if host.cgroup_problem:
            problems.append(f"cgroup_parent unusable: {host.cgroup_problem}")
        if problems:
            raise SandboxUnavailableError("; ".join(problems))
        self._host = host
        state = self._state
        state.mkdir(mode=0o711, parents=True, exist_ok=True)
        _require_traversable(state)
        self._start_cgroups()  # before any mount: it may refuse to start
        if not mounts.is_mountpoint(state):
            # A private bind of the state dir on itself: our per-run mounts do
            # not propagate into other mount namespaces (nor running sandboxes).
            mounts.bind_mount(state, state, read_only=False)
            self._self_mounted = True
        mounts.make_private(state)
        for sub in ("runs", "views"):
            (state / sub).mkdir(mode=0o711, exist_ok=True)
            # Search-only for others: the slot uids must traverse, never list.
            os.chmod(state / sub, 0o711)  # noqa: S103
        self._cleanup_stale()
        # Run directories (one mkdir/rmdir per execution, each a mount point)
        # live on a tmpfs too: no journal write on the hot path.
        mounts.mount_tmpfs(
            state / "runs", size_bytes=1 << 20, inodes=65536, uid=0, gid=0, mode=0o711
        )
        etc = state / "etc"
        etc.mkdir(mode=0o755, exist_ok=True)
        # A small tmpfs: hundreds of /etc/alternatives links are written in
        # RAM, not through a busy disk's journal (that took ~0.5 s per start).
        mounts.mount_tmpfs(etc, size_bytes=8 << 20, inodes=8192, uid=0, gid=0, mode=0o755)
        cmd.write_etc(etc, cmd.Identity(0, 0))
        dev = state / "dev"
        dev.mkdir(mode=0o755, exist_ok=True)
        # Device nodes need a filesystem without nodev: a tiny tmpfs of our own,
        # read-only (superblock and all) once the five devices are in.
        mounts.mount_tmpfs(
            dev, size_bytes=64 << 10, inodes=64, uid=0, gid=0, mode=0o755, devices=True
        )
        cmd.write_dev(dev)
        mounts.remount_read_only(dev)
        self._runtime_views = [
            cmd.View(self._stage_view(runtime), PurePosixPath(os.path.realpath(runtime)))
            for runtime in self.config.runtime_dirs
        ]
        self._system = cmd.system_binds()
        # memfd pages are charged to the memory cgroup; without one nothing bounds them.
        self._seccomp = seccomp.filter_bytes(deny_memfd=self._cgroups is None)
        log.info(
            "sandbox.started",
            bwrap=host.bwrap_version,
            cgroup_layout=host.cgroup_layout,
            resources=self.resources,
            cpu_quota=bool(self._cgroups and self._cgroups.cpu),
            slots=self.config.slots,
            state_dir=str(state),
        )

    def _start_cgroups(self) -> None:
        """Pick the cgroup layout (or rlimits) and remove groups a dead process left."""
        choice = cgroup_probe.choose(
            mode=self.config.cgroups,
            name=parent_name(self._state),
            delegated=self.config.cgroup_parent,
            root=self.config.cgroup_root,
            slots=self.config.slots,
        )
        if choice.notes:
            log.info("sandbox.cgroups", chosen=choice.kind, notes=list(choice.notes))
        if choice.parent is None and self.config.cgroups == "auto":
            log.warning(
                "sandbox.no_cgroups",
                message="no usable cgroup: memory and processes are bounded per process "
                "(rlimits), the CPU share not at all",
                notes=list(choice.notes),
            )
        self._cgroups = choice.parent
        if self._cgroups is not None:
            self._cgroups.remove_stale()

    def _cleanup_stale(self) -> None:
        """Undo what a previous process that died mid-run left mounted.

        Only unmount and rmdir: never a recursive delete, which would go
        through a leftover view into the real directory behind it.
        """
        for sub in ("runs", "views", "etc", "dev"):
            mounts.unmount_all_under(self._state / sub)
            with contextlib.suppress(FileNotFoundError):
                for entry in (self._state / sub).iterdir():
                    with contextlib.suppress(OSError):
                        entry.rmdir()

    async def close(self) -> None:
        """Unmount the runtime views and the state directory. Idempotent."""
        async with self._start_lock:
            if not self._started:
                return
            self._staged.clear()
            self._runtime_views.clear()
            self._cleanup_stale()
            if self._cgroups is not None:
                self._cgroups.close()
                self._cgroups = None
            if self._self_mounted:
                with contextlib.suppress(OSError):
                    mounts.unmount(self._state)
                self._self_mounted = False
            self._started = False

    async def check(self) -> None:
        """Prove that executions can be isolated here; raise a clear error if not.

        Runs ``true`` through the whole chain (uid drop, namespaces, seccomp,
        limits). Raises :class:`SandboxUnavailableError` with the fix.
        """
        await self.start()
        if self.config.mode == "unsafe-none":
            return
        result = await self.run(SandboxRequest(command=["true"]))
        if result.verdict is not Verdict.SUCCEEDED:
            raise SandboxUnavailableError(
                "bwrap could not create the sandbox "
                f"({result.verdict}: {result.detail} {result.stderr_text.strip()}). "
                "It needs user namespaces (sysctl user.max_user_namespaces > 0, "
                "kernel.unprivileged_userns_clone=1 on Debian kernels, no AppArmor "
                f"userns restriction); {INSTALL_HINT}"
            )

    async def run(
        self, request: SandboxRequest, *, stop: asyncio.Event | None = None
    ) -> SandboxResult:
        """Run one execution and return its result.

        Raises :class:`InvalidRequestError` (nothing ran) for a malformed
        request or limits above the server maxima. Setting ``stop`` kills the
        tree and yields verdict ``killed``; cancelling the awaiting task kills
        the tree too, then re-raises ``CancelledError``.
        """
        request.validate()
        request.limits.check_within(self.config.maxima)
        await self.start()
        if self.config.mode == "unsafe-none":
            return await self._run_unsafe(request, stop)
        views = [await self._view_for(mount) for mount in request.env_mounts]
        async with self._pool.slot() as slot:
            return await self._run_bwrap(request, slot, views, stop)

    async def _view_for(self, mount: EnvMount) -> cmd.View:
        inside = mount.inside
        if any(_is_within(Path(inside), Path(r)) for r in _RESERVED_TARGETS) or inside == Path("/"):
            raise InvalidRequestError(f"env mount target {inside} would hide a sandbox directory")
        async with self._views_lock:
            host = self._stage_view(mount.source)
        return cmd.View(host, inside)

    def _stage_view(self, source: Path) -> Path:
        """Make ``source`` reachable by the slot uids under ``views/`` (cached)."""
        real = Path(os.path.realpath(source))
        self._check_mountable(real, given=source)
        if real in self._staged:
            return self._staged[real]
        view = self._state / "views" / str(len(self._staged))
        view.mkdir(mode=0o755, exist_ok=True)
        # bwrap runs as the slot uid and cannot reach e.g. /root/.pyenv by
        # path; a bind under the state dir (0711) makes just this dir reachable.
        mounts.bind_mount(real, view, read_only=True)
        self._staged[real] = view
        return view

    def _check_mountable(self, real: Path, *, given: Path) -> None:
        if not real.is_dir():
            raise InvalidRequestError(f"mount source {given} is not a directory")
        inside_forbidden = [*_NEVER_INSIDE, self._state, *self.config.protected_paths]
        contain_forbidden = [*_NEVER_CONTAIN, self._state, *self.config.protected_paths]
        for path in contain_forbidden:
            if _is_within(Path(os.path.realpath(path)), real):
                raise InvalidRequestError(f"mount source {given} contains protected {path}")
        for path in inside_forbidden:
            if _is_within(real, Path(os.path.realpath(path))):
                raise InvalidRequestError(f"mount source {given} is inside protected {path}")

    def _isolation(self, slot: Slot) -> Isolation:
        kind = self._cgroups.kind if self._cgroups is not None else None
        return Isolation(
            mode="bwrap",
            namespaces=cmd.NAMESPACES,
            resources=kind or "rlimit",
            memory=kind or "rlimit-as",
            processes=kind or "rlimit-nproc",
            cpu=kind if kind is not None and self._cgroups and self._cgroups.cpu else "none",
            seccomp=True,
            host_uid=slot.uid,
            slot=slot.index,
        )

    async def _run_bwrap(
        self,
        request: SandboxRequest,
        slot: Slot,
        env_views: Sequence[cmd.View],
        stop: asyncio.Event | None,
    ) -> SandboxResult:
        host = self._host
        assert host is not None
        assert host.bwrap
        limits = request.limits
        run_id = uuid.uuid4().hex
        cgroup_parent = self._cgroups
        isolation = self._isolation(slot)
        bound = log.bind(run_id=run_id, slot=slot.index)
        workspace: Workspace | None = None
        cgroup: ExecutionGroup | None = None
        gate: OptionsGate | None = None
        try:
            workspace = Workspace.create(
                self._state / "runs" / run_id,
                size_bytes=limits.workspace_bytes,
                owner=(slot.uid, slot.gid),
                mount=True,
            )
            await self._write_files(workspace, request)
            if cgroup_parent is not None:
                cgroup = cgroup_parent.group(f"{EXEC_PREFIX}{run_id}")
                cgroup.create(limits)
            gate = OptionsGate(rlimits_for(limits, address_space=cgroup is None))
            seccomp_r, seccomp_w = os.pipe2(os.O_CLOEXEC)
            os.write(seccomp_w, self._seccomp)  # a few hundred bytes: fits the pipe buffer
            os.close(seccomp_w)
            info_r, info_w = os.pipe2(os.O_CLOEXEC)
            # Only joining a cgroup needs bwrap to wait for the host.
            block_r, block_w = os.pipe2(os.O_CLOEXEC) if cgroup is not None else (None, None)
            path_first = [
                view.inside / "bin"
                for view, mount in zip(env_views, request.env_mounts, strict=True)
                if mount.bin_on_path
            ]
            bwrap = cmd.build_command(
                bwrap=host.bwrap,
                identity=cmd.Identity(slot.uid, slot.gid),
                fds=cmd.Fds(args=gate.child_fd, seccomp=seccomp_r, info=info_w, block=block_r),
                workspace_root=workspace.root,
                synth_etc=self._state / "etc",
                synth_dev=self._state / "dev",
                system=self._system,
                views=[*self._runtime_views, *env_views],
                path_first=path_first,
                command=request.command,
            )
            gate.load(bwrap.options_payload())
            child_fds = [gate.child_fd, seccomp_r, info_w]
            child_fds += [block_r] if block_r is not None else []
            supervisor = Supervisor(
                bwrap.argv,
                stdin=request.stdin,
                pass_fds=child_fds,
                gate=Gate(
                    info_read=info_r,
                    block_write=block_w,
                    on_child=cgroup.attach if cgroup is not None else None,
                ),
                spawn_as=(slot.uid, slot.gid),
                on_spawned=gate.release,
                wall_time_s=limits.wall_time_s,
                output_cap=limits.output_bytes,
                on_output=request.on_output,
                stop=stop,
            )
            outcome = await supervisor.run()
            oom = cgroup.oom_killed() if cgroup is not None else None
            peak = cgroup.peak_memory() if cgroup is not None else None
            files = workspace.collect(request.collect, cap_bytes=limits.file_size_bytes)
        except asyncio.CancelledError:
            # The tree is already dead (the supervisor kills it before
            # re-raising); record the verdict the caller will not receive.
            bound.info("sandbox.executed", verdict=str(Verdict.KILLED), cancelled=True)
            raise
        except InvalidRequestError:
            raise
        except Exception as exc:  # noqa: BLE001 - any host-side failure is an internal_error
            bound.exception("sandbox.internal_error")
            return early_result(
                request, isolation, f"{type(exc).__name__}: {exc}", Verdict.INTERNAL_ERROR
            )
        finally:
            if gate is not None:
                gate.close()
            if cgroup is not None:
                cgroup.destroy()
            if workspace is not None:
                workspace.destroy()
        result = build_result(
            outcome, request, isolation, files, oom=oom, peak=peak, via_bwrap=True
        )
        bound.info(
            "sandbox.executed",
            verdict=str(result.verdict),
            wall_s=round(result.wall_time_s, 4),
            cpu_s=round(result.cpu_time_s, 4),
        )
        return result

    async def _write_files(self, workspace: Workspace, request: SandboxRequest) -> None:
        if sum(len(c) for c in request.files.values()) > _THREAD_WRITE_BYTES:
            await asyncio.to_thread(workspace.write_files, request.files)
        else:
            workspace.write_files(request.files)

    async def _run_unsafe(
        self, request: SandboxRequest, stop: asyncio.Event | None
    ) -> SandboxResult:
        log.warning(
            "sandbox.unsafe_execution",
            message='mode="unsafe-none": this code runs WITHOUT isolation, as the service user',
            environment=self.environment,
        )
        isolation = Isolation(mode="unsafe-none")
        root = Path(tempfile.mkdtemp(prefix="devgen-exec-")) / "run"
        workspace = Workspace.create(
            root, size_bytes=request.limits.workspace_bytes, owner=None, mount=False
        )
        try:
            workspace.write_files(request.files)
            path = cmd.search_path(
                [cmd.View(d, PurePosixPath(d)) for d in self.config.runtime_dirs],
                [m.inside / "bin" for m in request.env_mounts if m.bin_on_path],
            )
            supervisor = Supervisor(
                request.command,
                stdin=request.stdin,
                pass_fds=(),
                gate=None,
                wall_time_s=request.limits.wall_time_s,
                output_cap=request.limits.output_bytes,
                on_output=request.on_output,
                cwd=str(workspace.path("work")),
                env={"PATH": path, "HOME": str(workspace.path("tmp")), "LANG": cmd.LANG},
                stop=stop,
                kill_group=True,
            )
            try:
                outcome = await supervisor.run()
            except FileNotFoundError as exc:
                # As a shell (or bwrap's execvp) would report it: a failure, exit 127.
                return early_result(
                    request, isolation, f"command not found: {exc}", Verdict.FAILED, 127
                )
            files = workspace.collect(request.collect, cap_bytes=request.limits.file_size_bytes)
        finally:
            workspace.destroy()
            with contextlib.suppress(OSError):
                root.parent.rmdir()
        return build_result(
            outcome, request, isolation, files, oom=None, peak=None, via_bwrap=False
        )


def _is_within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _require_traversable(path: Path) -> None:
    """Every ancestor of ``path`` must let other users search it (the slot uids do)."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise SandboxUnavailableError(
                f"state_dir {path}: {directory} is not searchable by other users "
                "(mode o+x needed, the executions run as unprivileged uids); "
                "choose a state_dir such as /var/lib/devgen-executor"
            )
