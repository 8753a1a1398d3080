"""The principal of the request being served, for code that is not handed it.

Set by the authentication dependency; read by ``devgen.kit.events.emit`` to
fill in an event's actor and tenant when the caller does not name them.
"""

from __future__ import annotations

from contextvars import ContextVar

from devgen.kit.auth.principal import Principal
from devgen.kit.context import current_request_id

# Paired with the request id: an in-process ASGI call (tests, the all-in-one
# gateway) runs in the caller's task, so a value set by one request would
# otherwise still be visible to the next one served by the same task.
_principal_var: ContextVar[tuple[str | None, Principal] | None] = ContextVar(
    "devgen_principal", default=None
)


def set_current_principal(principal: Principal) -> None:
    """Remember ``principal`` as the caller of the current request."""
    _principal_var.set((current_request_id(), principal))


def current_principal() -> Principal | None:
    """The authenticated caller of the current request, if any."""
    found = _principal_var.get()
    if found is None or found[0] != current_request_id():
        return None
    return found[1]
