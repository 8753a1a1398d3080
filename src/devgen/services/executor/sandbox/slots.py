"""Execution slots: one per concurrent execution, each with its own host uid/gid.

The sandbox owns the pool (callers just ``await run``): a slot is taken for
the whole execution and given back only once its process tree is gone, so a
uid never has two executions at once. That is what makes ``RLIMIT_NPROC``
(counted per real uid, host-wide) a per-execution limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Slot:
    """A slot index and the unprivileged host identity that goes with it."""

    index: int
    uid: int
    gid: int


class SlotPool:
    """A fixed set of slots handed out first come, first served."""

    def __init__(self, size: int, *, base_uid: int, base_gid: int) -> None:
        if size < 1:
            raise ValueError("the slot pool needs at least one slot")
        self.size = size
        self._free: asyncio.Queue[Slot] = asyncio.Queue()
        for index in range(size):
            self._free.put_nowait(Slot(index, base_uid + index, base_gid + index))

    @property
    def available(self) -> int:
        """How many slots are free right now."""
        return self._free.qsize()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[Slot]:
        """Hold a slot for the duration of the ``async with`` block."""
        slot = await self._free.get()
        try:
            yield slot
        finally:
            self._free.put_nowait(slot)
