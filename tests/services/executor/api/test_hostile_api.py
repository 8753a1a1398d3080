"""Hostile programs sent through ``POST /execute``: the service keeps the sandbox's promises.

The library's hostile suite (tests/services/executor/hostile/) covers every
case against ``Sandbox.run``; these check the service wires it the same way
(slot uids, limits, no platform secrets, data directory out of reach,
shared environments read-only) and that the pool bounds a burst.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from devgen.kit.settings import Settings
from tests.helpers import Account, eventually
from tests.services.executor.api.conftest import SERVICE_BASE_UID, Execute
from tests.services.executor.conftest import slot_processes

COUNT_FORKS = """
import os, time
made = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    made += 1
print(made)
"""

BOMB = """
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
"""


async def _run(execute: Execute, code: str, **body: Any) -> dict[str, Any]:
    response = await execute(files={"main.py": code}, entry="main.py", wait=True, **body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def _still_fine(execute: Execute) -> None:
    assert slot_processes(SERVICE_BASE_UID, 2) == []
    after = await _run(execute, "print('still fine')")
    assert after["result"]["stdout"] == "still fine\n"


async def test_a_fork_bomb_is_capped_and_leaves_nothing_behind(execute: Execute) -> None:
    counted = await _run(execute, COUNT_FORKS, limits={"processes": 16})
    bomb = await _run(execute, BOMB, limits={"processes": 32, "wall_time_s": 2})

    assert counted["verdict"] == "succeeded"
    assert counted["result"]["stdout"] == "15\n"
    assert bomb["verdict"] == "wall_time_limit"
    await _still_fine(execute)


async def test_no_network_not_even_the_hosts_loopback(execute: Execute) -> None:
    connections = 0

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    code = f"""
import socket
for target in (("127.0.0.1", {port}), ("pypi.org", 443)):
    try:
        socket.create_connection(target, timeout=2)
        print("connected")
    except OSError as exc:
        print(type(exc).__name__)
"""
    try:
        data = await _run(execute, code)
    finally:
        server.close()
        await server.wait_closed()

    assert data["result"]["stdout"] == "ConnectionRefusedError\ngaierror\n"
    assert connections == 0


async def test_the_platforms_secrets_are_invisible(
    execute: Execute, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVGEN_SECRET", "hunter2-do-not-leak")
    code = """
import os
print(sorted(os.environ))
for pid in filter(str.isdigit, os.listdir("/proc")):
    with open(f"/proc/{pid}/environ", "rb") as f:
        if b"hunter2" in f.read():
            print("LEAK", pid)
"""

    data = await _run(execute, code)

    assert data["result"]["stdout"] == "['HOME', 'LANG', 'PATH', 'PWD']\n"


async def test_the_data_directory_is_out_of_reach(execute: Execute, settings: Settings) -> None:
    database = settings.database.url_for("executor", settings.core.data_dir).split("///")[-1]
    code = f"""
import os
for path in ({database!r}, {str(settings.core.data_dir)!r}, "/etc/shadow", "/root/.ssh"):
    print(os.path.exists(path))
print(os.listdir("/root") if os.path.exists("/root") else [])
"""

    data = await _run(execute, code)

    lines = data["result"]["stdout"].splitlines()
    assert lines[:4] == ["False"] * 4
    # At most the path down to the interpreter's own prefix (a pyenv install), read-only.
    assert lines[4] in ("[]", "['.pyenv']")


async def test_a_shared_environment_cannot_be_poisoned(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    created = await client.post(
        "/api/v1/environments", json={"packages": ["iniconfig"]}, headers=owner.headers
    )
    environment_id = created.json()["data"]["id"]

    async def status() -> str:
        response = await client.get(f"/api/v1/environments/{environment_id}", headers=owner.headers)
        return str(response.json()["data"]["status"])

    built = await eventually(status, until=lambda s: s != "building", timeout=120, what="a build")
    assert built == "ready"
    code = """
import iniconfig, os, sys
target = os.path.join(os.path.dirname(iniconfig.__file__), "__init__.py")
try:
    open(target, "a").write("print('poisoned')")
    print("wrote")
except OSError as exc:
    print("refused")
for line in open("/proc/self/mountinfo"):
    fields = line.split()
    if fields[4] == sys.prefix:
        print(fields[5].split(",")[0])
"""

    data = await _run(execute, code, environment=environment_id)

    # Refused (the files are not the sandbox user's), and the whole venv is a read-only mount.
    assert data["result"]["stdout"] == "refused\nro\n"


async def test_fifty_parallel_requests_are_bounded_and_none_is_lost(
    client: httpx.AsyncClient, owner: Account, execute: Execute
) -> None:
    code = (
        "import os, sys, time\n"
        "n = sys.stdin.read()\n"
        "assert os.listdir('.') == ['main.py'], os.listdir('.')\n"
        "time.sleep(0.05)\n"
        "print(n)\n"
    )

    responses = await asyncio.gather(
        *(
            execute(files={"main.py": code}, entry="main.py", stdin=str(n), wait=True)
            for n in range(50)
        )
    )

    accepted = [(n, r) for n, r in enumerate(responses) if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    # Two workers and a tenant share of 32 queue places: the rest must retry.
    assert len(accepted) >= 34, [r.status_code for r in responses]
    for response in refused:
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
    slots = set()
    for n, response in accepted:
        data = response.json()["data"]
        assert data["verdict"] == "succeeded", data
        assert data["result"]["stdout"] == f"{n}\n"
        slots.add(data["result"]["isolation"]["slot"])
    assert slots <= {0, 1}
    listed = await client.get("/api/v1/executions?limit=100", headers=owner.headers)
    assert len(listed.json()["data"]) == len(accepted)
    await _still_fine(execute)
