"""Who runs what, and what happens to executions whose executor went away.

Each executor instance has an :class:`Owner` id (host, pid, process start
time, a random token). A running execution carries its owner and a
heartbeat the owner renews. An execution is *orphaned* when its owner is
known dead (same host: the process is gone, or it is this very process but
not a live instance of it) or, for another host, when its lease expired.

At start-up :func:`recover` marks orphaned executions ``killed`` with a
reason and queues every ``queued`` one again; :class:`LeaseKeeper` then
renews the leases, applies cancellations made through other processes and
reaps executions orphaned later.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog

from devgen.kit.db import Database, utcnow
from devgen.services.executor import events, repository
from devgen.services.executor.pool import ExecutionPool

log = structlog.get_logger(__name__)

ORPHANED_REASON = (
    "interrupted: the executor running it stopped (restart or crash) before it finished"
)

# Tokens of the executor instances alive in this process: several apps can
# share a process (tests, the all-in-one shape restarted in place).
_LIVE_TOKENS: set[str] = set()


def process_start(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # Field 22 (start time); the command name (field 2) may hold spaces.
            return stat.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return None


@dataclass(frozen=True, slots=True)
class Owner:
    """The identity of one executor instance."""

    host: str
    pid: int
    started: str
    token: str

    @classmethod
    def current(cls) -> Owner:
        """A new identity for an instance of this process, registered as alive."""
        pid = os.getpid()
        owner = cls(socket.gethostname(), pid, process_start(pid) or "", secrets.token_hex(6))
        _LIVE_TOKENS.add(owner.token)
        return owner

    def retire(self) -> None:
        """This instance stopped: executions it still owns are orphans."""
        _LIVE_TOKENS.discard(self.token)

    def __str__(self) -> str:
        return f"{self.host}|{self.pid}|{self.started}|{self.token}"

    @classmethod
    def parse(cls, text: str | None) -> Owner | None:
        """The owner written in a row, or ``None`` if it is not one."""
        parts = (text or "").split("|")
        if len(parts) != 4 or not parts[1].isdigit():
            return None
        return cls(parts[0], int(parts[1]), parts[2], parts[3])

    def known_dead(self) -> bool:
        """Whether this owner certainly no longer runs anything (same host only)."""
        if self.host != socket.gethostname():
            return False
        if self.pid == os.getpid():
            return self.token not in _LIVE_TOKENS
        return process_start(self.pid) != self.started


async def reap_orphans(database: Database, lease_s: float) -> list[uuid.UUID]:
    """Mark orphaned running executions ``killed``; return their ids."""
    now = utcnow()
    async with database.transaction() as session:
        rows = await repository.running_rows(session)
        expired = now - timedelta(seconds=lease_s)
        orphans = []
        for execution_id, owner_text, heartbeat in rows:
            owner = Owner.parse(owner_text)
            if owner is None or owner.known_dead() or heartbeat is None or heartbeat < expired:
                orphans.append(execution_id)
        for execution_id in orphans:
            row = await repository.finish(
                session,
                execution_id,
                verdict="killed",
                now=now,
                reason=ORPHANED_REASON,
                only_if=(repository.RUNNING,),
            )
            if row is not None:
                await events.emit(
                    session,
                    events.EXECUTION_FINISHED,
                    subject=str(execution_id),
                    tenant_id=row.tenant_id,
                    data={"id": execution_id, "verdict": "killed", "reason": ORPHANED_REASON},
                )
    if orphans:
        log.warning("executor.orphans_killed", count=len(orphans))
    return orphans


async def recover(database: Database, pool: ExecutionPool, lease_s: float) -> int:
    """At start-up: kill orphans, queue again what was queued. Returns how many were queued."""
    await reap_orphans(database, lease_s)
    async with database.transaction() as session:
        queued = await repository.queued_ids(session)
    for execution_id, tenant_id in queued:
        pool.submit(execution_id, tenant_id)
    if queued:
        log.info("executor.recovered_queue", count=len(queued))
    return len(queued)


class LeaseKeeper:
    """A background task: heartbeats, remote cancellations and late orphans."""

    def __init__(
        self,
        database: Database,
        pool: ExecutionPool,
        owner: Owner,
        *,
        heartbeat_s: float,
        lease_s: float,
        on_reaped: Callable[[uuid.UUID], None],
    ) -> None:
        self._database = database
        self._pool = pool
        self._owner = owner
        self._heartbeat = heartbeat_s
        self._lease = lease_s
        self._on_reaped = on_reaped
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background until :meth:`close`."""
        self._task = asyncio.ensure_future(self._loop())

    async def close(self) -> None:
        """Stop the background task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def tick(self) -> None:
        """One round: renew leases, stop what was cancelled elsewhere, reap orphans."""
        ids = self._pool.running_ids()
        async with self._database.transaction() as session:
            await repository.heartbeat(session, ids, str(self._owner), utcnow())
            cancelled = await repository.cancel_requested(session, ids)
        for execution_id in cancelled:
            self._pool.stop(execution_id)
        for execution_id in await reap_orphans(self._database, self._lease):
            self._on_reaped(execution_id)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat)
            try:
                await self.tick()
            except Exception:  # the next round tries again; a dead keeper would orphan all
                log.exception("executor.lease_tick_failed")
