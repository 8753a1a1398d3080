"""Waiting with a deadline without losing a cancellation.

On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that arrives
while the awaited thing completes (python/cpython#86296, fixed in 3.12). A
background loop that waits that way can then outlive the ``cancel()`` meant
to stop it, and the shutdown that awaits the loop hangs. ``asyncio.timeout``
(3.11+) tracks cancellations properly, so every deadline wait uses it.
"""

from __future__ import annotations

import asyncio
import contextlib


async def wait_event(event: asyncio.Event, seconds: float) -> bool:
    """Wait until ``event`` is set or ``seconds`` pass; whether it is set."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
