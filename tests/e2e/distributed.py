"""The distributed shape for end-to-end tests: every service its own process, behind the gateway.

PostgreSQL (a database per service) and RabbitMQ, as in production; the
test reaches the platform only through the real gateway process.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests import databases
from tests.e2e.support import Process, sandbox_uid_base
from tests.events import broker
from tests.runtime.processes import isolated_env

SERVICES = ("identity", "audit", "storage", "executor", "codegen", "orchestrator")
_WITH_EVENTS = ("identity", "storage", "executor", "codegen", "audit")


@contextmanager
def distributed_platform(
    tmp_path: Path, services: Sequence[str] = SERVICES, **settings: str
) -> Iterator[dict[str, Process]]:
    """Start ``services`` and a gateway in front of them (key ``gateway``); stop them after."""
    reason = databases.postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    broker.require_broker()
    label = uuid.uuid4().hex[:8]
    prefix = broker.unique_prefix(f"e2e-{label}")
    database_url = f"{databases.POSTGRES_SERVER}/devgen_e2e_{label}_{{service}}"
    processes = {name: Process(["serve", name], {}, tmp_path / name) for name in services}
    processes["gateway"] = Process(["serve", "gateway"], {}, tmp_path / "gateway")
    urls = {f"DEVGEN_{name.upper()}_URL": process.url for name, process in processes.items()}
    for index, (name, process) in enumerate(processes.items()):
        process.env = isolated_env(
            tmp_path / name / "data",
            DEVGEN_DATABASE_URL=database_url,
            DEVGEN_DATABASE_POOL_SIZE="5",
            DEVGEN_BUS_URL=broker.AMQP_URL,
            DEVGEN_BUS_PREFIX=prefix,
            DEVGEN_ORCHESTRATOR_POLL_SECONDS="0.2",
            DEVGEN_EXECUTOR_UID_BASE=sandbox_uid_base(index + 1),
            DEVGEN_RATE_LIMIT_ENABLED="false",
            **urls,
            **settings,
        )
    try:
        for process in processes.values():
            process.start()
        yield processes
    finally:
        for process in processes.values():
            process.stop()
        asyncio.run(databases.drop_postgres(database_url, [s for s in services if s != "gateway"]))
        with contextlib.suppress(Exception):  # tidying only; another test may restart the broker
            asyncio.run(broker.delete_topology(prefix, [s for s in _WITH_EVENTS if s in services]))
