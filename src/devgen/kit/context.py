"""Per-request context that outgoing calls and log lines pick up.

Held in context variables so the service client can propagate the request
id and the caller's credential without every function passing them along.
"""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("devgen_request_id", default=None)
authorization_var: ContextVar[str | None] = ContextVar("devgen_authorization", default=None)
client_address_var: ContextVar[str | None] = ContextVar("devgen_client_address", default=None)
user_agent_var: ContextVar[str | None] = ContextVar("devgen_user_agent", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return request_id_var.get()
