"""The real RabbitMQ on 127.0.0.1:5672 for tests: reachability, unique names, chaos, cleanup.

In CI (``CI=true``) an unreachable broker fails the test loudly; elsewhere the
test is skipped with the reason. Every test gets its own name prefix, so
parallel runs never share an exchange or a queue.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from urllib.parse import urlsplit

import pytest

from tests.helpers import eventually_sync

AMQP_URL = os.environ.get("DEVGEN_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unreachable_reason() -> str | None:
    """Why RabbitMQ cannot be used, or None when it answers.

    Speaks the first step of AMQP 0-9-1 over a plain socket (no event loop
    needed): a broker answers the protocol header with ``Connection.Start``.
    """
    try:
        import aio_pika  # noqa: F401
    except ImportError:
        return "aio-pika is not installed (pip install 'devgen[rabbitmq]')"
    url = urlsplit(AMQP_URL)
    address = (url.hostname or "127.0.0.1", url.port or 5672)
    try:
        with socket.create_connection(address, timeout=3) as sock:
            sock.sendall(b"AMQP\x00\x00\x09\x01")
            frame = sock.recv(8)
    except OSError as exc:
        return f"RabbitMQ at {address[0]}:{address[1]} is not reachable: {exc}"
    if not frame or frame[0] != 1:
        return f"{address[0]}:{address[1]} does not answer like an AMQP 0-9-1 broker"
    return None


_checked: list[str | None] = []


def require_broker() -> None:
    """Fail (CI) or skip (elsewhere) when the broker is not there; checked once per run."""
    if not _checked:
        _checked.append(unreachable_reason())
    reason = _checked[0]
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)


def unique_prefix(label: str = "t") -> str:
    """A bus prefix no other test (or test run) uses."""
    return f"devgen-test-{label}-{uuid.uuid4().hex[:10]}"


async def delete_topology(prefix: str, services: list[str]) -> None:
    """Remove the exchange and the queues a test declared."""
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL, timeout=5)
    try:
        channel = await connection.channel()
        for service in services:
            for name in (f"{prefix}.{service}", f"{prefix}.{service}.dead"):
                await channel.queue_delete(name)
        await channel.exchange_delete(f"{prefix}.events")
    finally:
        await connection.close()


async def queue_depth(name: str) -> int:
    """Messages ready in a queue (0 when it does not exist)."""
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL, timeout=5)
    try:
        channel = await connection.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
        except Exception:  # noqa: BLE001
            return 0
        return int(queue.declaration_result.message_count or 0)
    finally:
        await connection.close()


def rabbitmqctl(*args: str, timeout: float = 120) -> None:
    """Run ``rabbitmqctl`` (the tests run as root next to the broker)."""
    binary = shutil.which("rabbitmqctl")
    if binary is None:
        if IN_CI:
            pytest.fail("rabbitmqctl is not installed")
        pytest.skip("rabbitmqctl is not installed")
    subprocess.run([binary, *args], check=True, capture_output=True, timeout=timeout)


def restart_app_in_background(down_seconds: float) -> subprocess.Popen[bytes]:
    """``stop_app``, wait, ``start_app`` in a child process (the test keeps running)."""
    script = f"rabbitmqctl stop_app && sleep {down_seconds} && rabbitmqctl start_app"
    return subprocess.Popen(
        ["sh", "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def ensure_running() -> None:
    """``start_app`` (a no-op when running); used in ``finally`` blocks after chaos."""
    binary = shutil.which("rabbitmqctl")
    if binary is not None:
        subprocess.run([binary, "start_app"], capture_output=True, timeout=120)
        eventually_sync(
            unreachable_reason,
            until=lambda reason: reason is None,
            timeout=60,
            interval=0.5,
            what="RabbitMQ back up",
        )
