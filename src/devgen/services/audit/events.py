"""What audit consumes: every event on the bus (``#``), each appended to its tenant's chain.

Audit emits no events of its own (recording them would feed itself).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.events import Consumer, Event
from devgen.services.audit import service


async def on_any_event(session: AsyncSession, event: Event) -> None:
    """Record ``event`` (the inbox, and the event id's uniqueness, make a repeat a no-op)."""
    await service.record_event(session, event)


consumers = (Consumer("#", on_any_event),)
