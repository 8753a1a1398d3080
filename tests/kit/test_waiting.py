"""``wait_event``: a deadline wait that never swallows a cancellation."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

import pytest

from devgen.kit.waiting import wait_event

Waiter = Callable[[asyncio.Event], Awaitable[object]]


async def test_it_says_whether_the_event_came_before_the_deadline() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    event.set()
    assert await wait_event(event, 10) is True


async def _stop_as_the_event_arrives(waiter: Waiter, turns: int) -> tuple[bool, asyncio.Task]:
    """Set the event, let ``turns`` loop turns pass, then cancel the waiting task.

    Returns whether ``cancel()`` was accepted (the task had not finished) and the task.
    """
    event = asyncio.Event()
    task = asyncio.create_task(waiter(event))
    for _ in range(3):
        await asyncio.sleep(0)  # the waiter is parked on the event
    event.set()
    for _ in range(turns):
        await asyncio.sleep(0)
    accepted = task.cancel()
    await asyncio.wait([task])
    return accepted, task


@pytest.mark.parametrize("turns", [0, 1, 2])
async def test_an_accepted_cancel_always_cancels(turns: int) -> None:
    accepted, task = await _stop_as_the_event_arrives(lambda e: wait_event(e, 10), turns)
    assert task.cancelled() == accepted


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="wait_for keeps cancellations on 3.12+")
async def test_the_race_is_real_with_wait_for_on_this_python() -> None:
    # What wait_event exists to avoid: wait_for waits in an inner task; one
    # turn completes it, and the outer task, cancelled before it resumes,
    # returns the inner result as though no one had asked it to stop.
    async def with_wait_for(event: asyncio.Event) -> None:
        await asyncio.wait_for(event.wait(), 10)

    accepted, task = await _stop_as_the_event_arrives(with_wait_for, turns=1)
    assert accepted
    assert not task.cancelled()
