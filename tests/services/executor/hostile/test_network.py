"""No network: the host's loopback is unreachable and DNS resolves nothing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from devgen.services.executor.sandbox import Verdict

if TYPE_CHECKING:
    from tests.services.executor.conftest import RunPython, Unharmed


async def test_cannot_reach_a_listener_on_host_loopback(py: RunPython, unharmed: Unharmed) -> None:
    connections = 0

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    code = f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2)
    print("connected")
except OSError as exc:
    print(type(exc).__name__)
print(sorted(name for _, name in socket.if_nameindex()))
"""
    try:
        result = await py(code)
    finally:
        server.close()
        await server.wait_closed()
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"ConnectionRefusedError\n['lo']\n"
    assert connections == 0
    await unharmed()


async def test_dns_lookup_fails(py: RunPython, unharmed: Unharmed) -> None:
    code = """
import socket
for name in ("example.com", "pypi.org"):
    try:
        socket.getaddrinfo(name, 443)
        print("resolved")
    except socket.gaierror:
        print("gaierror")
"""
    result = await py(code)
    assert result.verdict is Verdict.SUCCEEDED, result
    assert result.stdout == b"gaierror\ngaierror\n"
    await unharmed()
