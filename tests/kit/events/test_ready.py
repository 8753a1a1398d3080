"""``/ready`` checks the bus: 503 while RabbitMQ cannot be reached, 200 once it can."""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx
import pytest

from tests.events import broker
from tests.kit.events.conftest import event_settings, start_pair


async def _ready(app) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        return await http.get("/ready")


async def test_an_unreachable_broker_makes_the_service_unready(tmp_path, behaviour):
    settings = event_settings(tmp_path, bus_url="amqp://guest:guest@127.0.0.1:1/")
    async with AsyncExitStack() as stack:
        pair = await start_pair(settings, behaviour, stack)
        response = await _ready(pair.producer)
        assert response.status_code == 503
        failing = response.json()["error"]["details"]["failing"]
        assert failing["bus"]["detail"] == "rabbitmq: not connected"


@pytest.mark.rabbitmq
async def test_a_connected_broker_is_ready(tmp_path, behaviour):
    broker.require_broker()
    prefix = broker.unique_prefix("ready")
    settings = event_settings(tmp_path, bus_url=broker.AMQP_URL, bus_prefix=prefix)
    try:
        async with AsyncExitStack() as stack:
            pair = await start_pair(settings, behaviour, stack)
            assert await pair.producer.state.bus.wait_ready(10)
            response = await _ready(pair.consumer)
            assert response.status_code == 200
            assert response.json()["dependencies"]["bus"] == {"status": "ok", "detail": "rabbitmq"}
    finally:
        await broker.delete_topology(prefix, ["consumer"])


async def test_either_bus_is_ready_once_started(pair):
    response = await _ready(pair.producer)
    assert response.json()["dependencies"]["bus"]["status"] == "ok"
