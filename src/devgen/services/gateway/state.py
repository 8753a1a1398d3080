"""What the gateway builds at start-up and every request uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.types import ASGIApp

from devgen.kit.settings import ServiceUrls
from devgen.services.gateway.addresses import ClientAddressResolver
from devgen.services.gateway.ratelimit import GatewayRateLimiter
from devgen.services.gateway.settings import GatewaySettings
from devgen.services.gateway.upstream import HttpUpstream


@dataclass(frozen=True)
class GatewayState:
    """Where each service is, how to reach it, and the limits in front of it.

    ``in_process`` holds the services mounted beside the gateway (all-in-one);
    any other service is reached over HTTP at its URL in ``urls``.
    """

    settings: GatewaySettings
    urls: ServiceUrls
    resolver: ClientAddressResolver
    limiter: GatewayRateLimiter
    http: HttpUpstream
    in_process: Mapping[str, ASGIApp] = field(default_factory=dict)

    def deployed(self) -> list[str]:
        """Services this gateway can reach: in process first, then those with a URL."""
        remote = [
            name
            for name in type(self.urls).model_fields
            if name != "gateway_url" and getattr(self.urls, name)
        ]
        names = list(self.in_process)
        names += [name.removesuffix("_url") for name in remote]
        return list(dict.fromkeys(names))
