"""Errors only a proxy has: the service behind it failed to answer."""

from __future__ import annotations

from devgen.kit.errors import DevgenError


class BadGateway(DevgenError):
    """The upstream service could not be reached or broke the connection."""

    status_code = 502
    code = "BAD_GATEWAY"
    default_message = "The service behind the gateway could not be reached."


class GatewayTimeout(DevgenError):
    """The upstream service did not answer in time."""

    status_code = 504
    code = "GATEWAY_TIMEOUT"
    default_message = "The service behind the gateway did not answer in time."
