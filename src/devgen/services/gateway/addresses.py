"""Who the client is: its address, believing ``X-Forwarded-For`` only from trusted proxies.

A proxy appends the address it received the request from, so the chain is
read from the right: addresses of trusted proxies are skipped and the first
untrusted one is the client. A client that is not a trusted proxy cannot
choose its own address by sending the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import Scope

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientOrigin:
    """Where a request really came from."""

    address: str
    scheme: str
    peer_trusted: bool


def _parse_networks(entries: Iterable[str]) -> tuple[_Network, ...]:
    networks: list[_Network] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(
                f"DEVGEN_TRUSTED_PROXIES: {entry!r} is neither an IP address nor a network"
            ) from exc
    return tuple(networks)


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


class ClientAddressResolver:
    """Resolves the client address and scheme of a request from its peer and headers."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self._trusted = _parse_networks(trusted_proxies)

    def is_trusted(self, address: str) -> bool:
        """Whether ``address`` belongs to a configured trusted proxy."""
        if not self._trusted:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._trusted)

    def resolve(self, scope: Scope) -> ClientOrigin:
        """The client's address and the scheme it used."""
        client = scope.get("client")
        peer = client[0] if client else "unknown"
        scheme = str(scope.get("scheme", "http"))
        if not self.is_trusted(peer):
            return ClientOrigin(peer, scheme, peer_trusted=False)
        chain = [
            hop.strip()
            for value in _header_values(scope, b"x-forwarded-for")
            for hop in value.split(",")
            if hop.strip()
        ]
        address = peer
        for hop in reversed(chain):
            try:
                ipaddress.ip_address(hop)
            except ValueError:
                # A trusted proxy never writes garbage: what is left of it is the
                # client's own claim, so stop at the last proxy we believed.
                break
            address = hop
            if not self.is_trusted(hop):
                break
        forwarded_proto = _header_values(scope, b"x-forwarded-proto")
        if forwarded_proto:
            candidate = forwarded_proto[-1].split(",")[-1].strip().lower()
            if candidate in {"http", "https"}:
                scheme = candidate
        return ClientOrigin(address, scheme, peer_trusted=True)
