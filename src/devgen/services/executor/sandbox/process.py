"""Spawn one sandboxed process tree and watch it: gate, timer, output caps, reaping.

No thread and no shell: the child is started with ``subprocess.Popen`` (vfork
fast path) from the event loop thread, its exit is watched through a pidfd,
and it is reaped with ``wait4`` so its resource usage is known. Being spawned
from the loop thread matters: bwrap's ``--die-with-parent`` ties the tree to
the thread that forked it.

The gate (bwrap ``--info-fd``, optionally ``--block-fd``): bwrap reports the
host pid of the process that will become the program; we keep a pidfd on it
to kill the whole namespace and to wait for its end. When the host must act
before the program starts (joining a cgroup), bwrap also waits on the block
pipe; the gate then fails closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import structlog

from devgen.services.executor.sandbox import creds
from devgen.services.executor.sandbox.request import OutputChunk, Stream

log = structlog.get_logger(__name__)

_READ_SIZE = 64 * 1024
_SETUP_TIMEOUT_S = 10.0  # bwrap reports its child pid within milliseconds; this is a fence
_REAP_TIMEOUT_S = 5.0


class StopReason(StrEnum):
    """Why the supervisor stopped the tree (or ``EXITED`` if it stopped by itself)."""

    EXITED = "exited"
    WALL_TIME = "wall_time"
    OUTPUT = "output"
    CANCELLED = "cancelled"
    SETUP_FAILED = "setup_failed"


@dataclass(slots=True)
class Gate:
    """Our ends of bwrap's info (and optional block) pipes, and what to run in between.

    Without ``block_write`` bwrap does not wait: the info only gives us a
    handle (pidfd) on the program for killing and for waiting its end.
    """

    info_read: int
    block_write: int | None = None
    on_child: Callable[[int], None] | None = None


@dataclass(slots=True)
class _Capture:
    cap: int
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False
    eof: bool = False

    def data(self) -> bytes:
        return b"".join(self.chunks)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the supervisor saw."""

    reason: StopReason
    wait_status: int | None
    rusage: resource.struct_rusage | None
    wall_time_s: float
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    detail: str = ""


def _memfd_with(data: bytes) -> int:
    fd = os.memfd_create("stdin", os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _pidfd_if_same(pid: int, pid_ns: int) -> int | None:
    """A pidfd on ``pid`` if it still is the process bwrap reported, else ``None``.

    bwrap does not wait for us, so the program may already be gone and its
    pid reused; the pidfd is kept only if, once opened, the pid still lives
    in the sandbox's pid namespace. Otherwise it would be a root-held handle
    on some unrelated process.
    """
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    try:
        same = os.stat(f"/proc/{pid}/ns/pid").st_ino == pid_ns
    except OSError:
        same = False
    if not same:
        os.close(pidfd)
        return None
    return pidfd


def _reap(proc: subprocess.Popen[bytes]) -> tuple[int, resource.struct_rusage]:
    """wait4 a child whose pidfd is readable (so it does not block); keep its rusage."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not reap it again
    return status, usage


def _has_data(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


def _kill(pidfd: int | None) -> None:
    if pidfd is None:
        return
    with contextlib.suppress(ProcessLookupError, OSError):
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)


async def _readable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    future: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not future.done():
            future.set_result(None)

    loop.add_reader(fd, ready)
    try:
        await future
    finally:
        loop.remove_reader(fd)


class Supervisor:
    """Run one argv to completion under a wall timer and output caps."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes,
        pass_fds: Sequence[int],
        gate: Gate | None,
        wall_time_s: float,
        output_cap: int,
        on_output: Callable[[OutputChunk], None] | None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        stop: asyncio.Event | None = None,
        kill_group: bool = False,
        spawn_as: tuple[int, int] | None = None,
        on_spawned: Callable[[int], None] | None = None,
    ) -> None:
        self._argv = list(argv)
        self._stdin = stdin
        self._pass_fds = tuple(pass_fds)
        self._gate = gate
        self._wall = wall_time_s
        self._on_output = on_output
        self._cwd = cwd
        self._env = env if env is not None else {}
        self._stop = stop
        self._kill_group = kill_group
        self._spawn_as = spawn_as
        self._on_spawned = on_spawned
        self._pid: int | None = None
        self._captures: dict[Stream, _Capture] = {
            "stdout": _Capture(output_cap),
            "stderr": _Capture(output_cap),
        }
        self._over_cap = asyncio.Event()
        self._target_pidfd: int | None = None  # the program (pid 1 of its namespace)
        self._outer_pidfd: int | None = None
        self._held_block: int | None = None  # bwrap's gate, kept shut until the tree is dead

    async def run(self) -> Outcome:
        """Spawn, supervise and reap. Cancelling the awaiting task kills the tree first."""
        loop = asyncio.get_running_loop()
        stdin_fd = _memfd_with(self._stdin)
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        try:
            proc = self._spawn(stdin_fd, out_w, err_w)
        except BaseException:
            extra = (self._gate.info_read, self._gate.block_write) if self._gate else ()
            for fd in (out_r, err_r, *extra):
                if fd is not None:
                    os.close(fd)
            raise
        finally:
            # The child has its copies; ours would keep pipes open forever.
            for fd in (stdin_fd, out_w, err_w, *self._pass_fds):
                os.close(fd)
        for fd in (out_r, err_r):
            os.set_blocking(fd, False)
        self._pid = proc.pid
        self._outer_pidfd = os.pidfd_open(proc.pid)
        self._target_pidfd = None  # known once bwrap reports it (see _open_gate)
        readers: dict[Stream, int] = {"stdout": out_r, "stderr": err_r}
        for stream, fd in readers.items():
            loop.add_reader(fd, self._on_readable, stream, fd)
        started = time.monotonic()
        reason = StopReason.EXITED
        detail = ""
        try:
            if self._gate is not None:
                detail = await self._open_gate(loop)
                if detail:
                    reason = StopReason.SETUP_FAILED
            started = time.monotonic()
            if reason is StopReason.EXITED:
                reason = await self._watch(loop)
        except asyncio.CancelledError:
            self._kill_all()
            await asyncio.shield(self._finish(loop, proc, readers))
            raise
        if reason is not StopReason.EXITED:
            self._kill_all()
        wall = time.monotonic() - started
        status, usage = await self._finish(loop, proc, readers)
        out, err = self._captures["stdout"], self._captures["stderr"]
        return Outcome(
            reason=reason,
            wait_status=status,
            rusage=usage,
            wall_time_s=wall,
            stdout=out.data(),
            stderr=err.data(),
            stdout_truncated=out.truncated,
            stderr_truncated=err.truncated,
            detail=detail,
        )

    def _spawn(self, stdin_fd: int, out_w: int, err_w: int) -> subprocess.Popen[bytes]:
        """Start the child; run ``on_spawned(pid)`` at once, with the same credentials.

        Popen returns as soon as the child exec'd (vfork fast path): it does
        not block the loop, and it runs on the loop thread on purpose. Under
        the slot's credentials ``on_spawned`` may act on the child as its
        owner (lower its rlimits) without any capability.
        """
        identity = (
            creds.thread_identity(*self._spawn_as)
            if self._spawn_as is not None
            else contextlib.nullcontext()
        )
        failure: Exception | None = None
        with identity:
            proc = self._popen(stdin_fd, out_w, err_w)
            if self._on_spawned is not None:
                try:
                    self._on_spawned(proc.pid)
                except Exception as exc:  # noqa: BLE001 - re-raised below, after the kill
                    failure = exc
        if failure is not None:
            proc.kill()
            proc.wait()
            raise failure
        return proc

    def _popen(self, stdin_fd: int, out_w: int, err_w: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - argv built from fixed parts, no shell
            self._argv,
            stdin=stdin_fd,
            stdout=out_w,
            stderr=err_w,
            pass_fds=self._pass_fds,
            env=self._env,
            cwd=self._cwd,
            close_fds=True,
            start_new_session=True,
        )

    async def _open_gate(self, loop: asyncio.AbstractEventLoop) -> str:
        """Learn the program's pid, set its limits, release bwrap. Return an error text.

        Fails closed: bwrap treats EOF on the block pipe like a go, so on any
        failure (or cancellation) the pipe stays open until the tree is dead
        (:meth:`_finish` closes it).
        """
        assert self._gate is not None
        gate = self._gate
        self._held_block = gate.block_write
        try:
            try:
                raw = await asyncio.wait_for(
                    self._read_info(loop, gate.info_read), _SETUP_TIMEOUT_S
                )
                info = json.loads(raw)
                child, pid_ns = int(info["child-pid"]), int(info["pid-namespace"])
            except (TimeoutError, ValueError, KeyError, TypeError) as exc:
                return f"bwrap did not report its child ({type(exc).__name__})"
            self._target_pidfd = _pidfd_if_same(child, pid_ns)
            if gate.on_child is not None:
                gate.on_child(child)
            if gate.block_write is not None:
                os.write(gate.block_write, b"1")
                os.close(gate.block_write)
                self._held_block = None
        except Exception as exc:  # noqa: BLE001 - any failure here must stop the run
            return f"could not prepare the sandboxed process: {type(exc).__name__}: {exc}"
        finally:
            os.close(gate.info_read)
        return ""

    @staticmethod
    async def _read_info(loop: asyncio.AbstractEventLoop, fd: int) -> bytes:
        os.set_blocking(fd, False)
        chunks: list[bytes] = []
        while True:
            await _readable(loop, fd)
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                continue
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if b"}" in chunk:
                return b"".join(chunks)

    async def _watch(self, loop: asyncio.AbstractEventLoop) -> StopReason:
        assert self._outer_pidfd is not None
        exited = asyncio.ensure_future(_readable(loop, self._outer_pidfd))
        over = asyncio.ensure_future(self._over_cap.wait())
        waiters: set[asyncio.Future[object]] = {exited, over}  # type: ignore[arg-type]
        stop = asyncio.ensure_future(self._stop.wait()) if self._stop is not None else None
        if stop is not None:
            waiters.add(stop)  # type: ignore[arg-type]
        try:
            done, _ = await asyncio.wait(
                waiters, timeout=self._wall, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waiters:
                waiter.cancel()
            # Let each waiter run its cleanup (remove_reader) before the pidfd
            # gets a new reader in _finish.
            await asyncio.gather(*waiters, return_exceptions=True)
        if exited in done:
            return StopReason.EXITED
        if over in done:
            return StopReason.OUTPUT
        if stop is not None and stop in done:
            return StopReason.CANCELLED
        return StopReason.WALL_TIME

    def _on_readable(self, stream: Stream, fd: int) -> None:
        capture = self._captures[stream]
        try:
            chunk = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            if not capture.eof:
                capture.eof = True
                asyncio.get_running_loop().remove_reader(fd)
            return
        room = capture.cap - capture.size
        if len(chunk) > room:
            chunk = chunk[:room]
            capture.truncated = True
            self._over_cap.set()
        if chunk:
            capture.chunks.append(chunk)
            capture.size += len(chunk)
            if self._on_output is not None:
                try:
                    self._on_output(OutputChunk(stream, chunk))
                except Exception:  # a broken listener must not break the execution
                    log.exception("sandbox.on_output_failed")

    def _kill_all(self) -> None:
        """Kill the program; bwrap, its parent, then reaps it and exits by itself.

        Killing the program (pid 1 of its pid namespace) makes the kernel kill
        everything else in the namespace. bwrap is left alone on purpose: if
        it died first, the program's zombie would be reparented to the host's
        init and hold the slot uid's process count until reaped there.
        """
        if self._target_pidfd is not None:
            _kill(self._target_pidfd)
        else:
            self._kill_outer()

    def _kill_outer(self) -> None:
        _kill(self._outer_pidfd)
        if self._kill_group and self._pid is not None:
            # Unsafe mode has no pid namespace: the session is the best handle.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._pid, signal.SIGKILL)

    async def _finish(
        self,
        loop: asyncio.AbstractEventLoop,
        proc: subprocess.Popen[bytes],
        readers: dict[Stream, int],
    ) -> tuple[int | None, resource.struct_rusage | None]:
        """Reap the outer process, make sure the namespace is gone, drain output."""
        assert self._outer_pidfd is not None
        try:
            await asyncio.wait_for(_readable(loop, self._outer_pidfd), _REAP_TIMEOUT_S)
        except TimeoutError:
            self._kill_outer()
            await _readable(loop, self._outer_pidfd)
        if self._kill_group:
            # The leader is a zombie until reaped, so its group id is still ours.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        status, usage = _reap(proc)
        if self._target_pidfd is not None:
            # When the program (pid 1) is gone the namespace is being torn down;
            # kill anyway (idempotent) and wait until the kernel is done.
            _kill(self._target_pidfd)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_readable(loop, self._target_pidfd), _REAP_TIMEOUT_S)
        self._drain(loop, readers)
        for fd in (self._outer_pidfd, self._target_pidfd, self._held_block):
            if fd is not None:
                os.close(fd)
        self._outer_pidfd = self._target_pidfd = self._held_block = None
        return status, usage

    def _drain(self, loop: asyncio.AbstractEventLoop, readers: dict[Stream, int]) -> None:
        # Every writer in the namespace is dead: what is left is buffered in the
        # pipe. Read it without waiting (a stray writer outside a namespace, in
        # the unsafe mode, must not hold us).
        for stream, fd in readers.items():
            capture = self._captures[stream]
            if not capture.eof:
                loop.remove_reader(fd)
            while not capture.eof and not capture.truncated and _has_data(fd):
                self._on_readable(stream, fd)
            os.close(fd)
