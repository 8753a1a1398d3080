"""Events: a transactional outbox, a relay to the bus, and idempotent consumers.

A service emits inside its service layer, in the request's transaction::

    await emit(session, "identity.user.registered", subject=user.id, data={"email": ...})

and consumes by declaring handlers on its ``ServiceDefinition``::

    consumers=(Consumer("identity.user.registered", on_user_registered),)

with ``add_event_tables(Base.metadata)`` giving its schema the outbox, inbox
and dead-letter tables. See docs/events.md.
"""

from devgen.kit.events.consumer import Consumer, Handler
from devgen.kit.events.envelope import Event, InvalidEvent
from devgen.kit.events.outbox import FROM_CONTEXT, emit
from devgen.kit.events.tables import add_event_tables

__all__ = [
    "FROM_CONTEXT",
    "Consumer",
    "Event",
    "Handler",
    "InvalidEvent",
    "add_event_tables",
    "emit",
]
