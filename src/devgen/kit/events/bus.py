"""What the relay and the consumers need from a bus; both buses provide it.

A bus routes an event to every consuming service whose patterns match its
type (RabbitMQ topic semantics). ``publish`` hands events over and returns,
per event, a future that says when the bus has it for good: ``True`` once
confirmed, ``False`` when no consumer is declared for its type (the relay
leaves such an event in the outbox), an exception when publishing failed
(the relay retries with back-off).

Besides the consuming services, a process may *listen*: every listener, in
every process, sees every matching event once it is published, with no
inbox, no retries and no acknowledgement. That is for state a process keeps
in memory (a cache to drop entries from), never for work: a listener that
was disconnected is told it may have missed events (``on_gap``) and is not
``live`` until it is back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from devgen.kit.events.consumer import ConsumerGroup
from devgen.kit.events.envelope import Event

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    """An outbox row on its way to the bus: the event's id and type, and its JSON."""

    id: str
    type: str
    body: bytes


Listener = Callable[[Event], None]
"""Called with each matching event as it passes; must be cheap and must not raise."""
GapHandler = Callable[[], None]
"""Called when a listener may have missed events (its connection dropped or came back)."""


class Listening(Protocol):
    """A listener on a bus, as its owner sees it."""

    @property
    def live(self) -> bool:
        """Whether events are reaching the listener now (False while disconnected)."""
        ...

    async def close(self) -> None:
        """Stop listening."""
        ...


class EventBus(Protocol):
    """The in-process bus or RabbitMQ, as the relay and the consumers see them."""

    def declare(self, group: str, patterns: Sequence[str]) -> None:
        """Say that ``group`` (a service) consumes ``patterns``; done before ``start``."""
        ...

    async def start(self) -> None:
        """Connect (shared buses count their users; only the first start connects)."""
        ...

    async def stop(self) -> None:
        """Disconnect when the last user stops."""
        ...

    async def publish(self, events: Sequence[OutgoingEvent]) -> list[asyncio.Future[bool]]:
        """Hand ``events`` over in order; one future per event (see the module docstring)."""
        ...

    async def consume(self, group: ConsumerGroup) -> None:
        """Start delivering the events ``group`` declared to its handlers."""
        ...

    async def stop_consuming(self, group: str) -> None:
        """Stop delivering to ``group``; unacknowledged events are delivered again later."""
        ...

    async def listen(
        self, patterns: Sequence[str], listener: Listener, on_gap: GapHandler
    ) -> Listening:
        """Call ``listener`` for every event matching ``patterns`` that any process publishes."""
        ...

    def status(self) -> tuple[bool, str]:
        """``(ready, detail)`` for ``/ready``."""
        ...


def retry_delay(attempt: int, base: float, cap: float = 30.0) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (exponential, capped)."""
    return float(min(cap, base * (2 ** max(0, attempt - 1))))


class Batcher:
    """Takes batches off a queue, waiting a moment for more only while busy.

    Bigger batches make fewer, larger transactions. Waiting for stragglers
    pays off under load and costs latency when the bus is quiet, so the wait
    applies only after a batch that was at least half full.
    """

    def __init__(self, limit: int, wait: float) -> None:
        self.limit = limit
        self.wait = wait
        self._busy = False

    async def take(self, queue: asyncio.Queue[T]) -> list[T]:
        """The next item and whatever follows it, up to ``limit``."""
        batch = await take_batch(queue, self.limit, self.wait if self._busy else 0.0)
        self._busy = len(batch) * 2 >= self.limit
        return batch


async def take_batch(queue: asyncio.Queue[T], limit: int, wait: float) -> list[T]:
    """The next item, and up to ``limit`` in all that arrive within ``wait`` seconds."""
    batch = [await queue.get()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while len(batch) < limit:
        if not queue.empty():
            batch.append(queue.get_nowait())
            continue
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        try:
            async with asyncio.timeout(remaining):  # not wait_for: see devgen.kit.waiting
                batch.append(await queue.get())
        except TimeoutError:
            break
    return batch
