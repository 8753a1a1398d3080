"""Bad requests get a clear 4xx and nothing is stored or run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import Account, assert_error
from tests.services.executor.api.conftest import Execute

ENTRY = {"files": {"main.py": "print(1)"}, "entry": "main.py"}


@pytest.fixture
def executor_overrides() -> dict[str, str]:
    return {"DEVGEN_EXECUTOR_MAX_FILES": "3", "DEVGEN_EXECUTOR_MAX_FILES_BYTES": "4096"}


async def _nothing_stored(client: httpx.AsyncClient, owner: Account) -> None:
    listed = await client.get("/api/v1/executions", headers=owner.headers)
    assert listed.json()["data"] == []


ESCAPES: list[tuple[dict[str, Any], str]] = [
    ({"files": {"../escape.py": "x"}, "entry": "main.py"}, "files"),
    ({"files": {"a/../../escape.py": "x"}, "entry": "main.py"}, "files"),
    ({"files": {"/etc/passwd": "x"}, "entry": "main.py"}, "files"),
    ({"files": {"./main.py": "x"}, "entry": "main.py"}, "files"),
    ({"files": {"a//b.py": "x"}, "entry": "main.py"}, "files"),
    ({"files": {"ok.py": "x"}, "entry": "../ok.py"}, "entry"),
    ({**ENTRY, "collect": ["../../etc/shadow"]}, "collect"),
    ({**ENTRY, "collect": ["/etc/shadow"]}, "collect"),
    ({"files": {"a\x00b": "x"}, "entry": "main.py"}, "files"),
]


async def test_paths_escaping_the_workspace_are_refused(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    for body, field in ESCAPES:
        response = await execute(**body, wait=True)

        error = assert_error(response, 422, "VALIDATION_ERROR")
        assert any(field in e["location"] for e in error["details"]["errors"]), (body, error)
    await _nothing_stored(client, owner)


async def test_command_or_entry_is_required(execute: Execute) -> None:
    for body, message in [
        ({"files": {"main.py": "x"}}, "exactly one of"),
        ({**ENTRY, "command": ["python3"]}, "exactly one of"),
        ({"files": {"main.py": "x"}, "command": []}, "at least 1"),
    ]:
        error = assert_error(await execute(**body), 422, "VALIDATION_ERROR")

        assert message in str(error["details"]), body


async def test_too_many_files_is_422(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    files = {f"f{i}.py": "" for i in range(4)}

    error = assert_error(await execute(files=files, command=["true"]), 422, "VALIDATION_ERROR")

    assert error["details"]["max_files"] == 3
    await _nothing_stored(client, owner)


async def test_files_over_the_size_limit_are_413(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    error = assert_error(
        await execute(files={"big.txt": "x" * 5000}, command=["true"]), 413, "PAYLOAD_TOO_LARGE"
    )

    assert error["details"]["max_files_bytes"] == 4096
    await _nothing_stored(client, owner)


async def test_a_body_over_the_request_limit_is_413_before_parsing(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    # The body limit is 2 x (files + stdin) + 1 MiB: far above any valid request.
    response = await execute(files={"big.txt": "x" * (4 * 1024 * 1024)}, command=["true"])

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    await _nothing_stored(client, owner)


async def test_limits_above_the_server_maxima_are_422(execute: Execute) -> None:
    response = await execute(**ENTRY, limits={"wall_time_s": 61, "memory_bytes": 2**40})

    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["limits"]["wall_time_s"] == {"requested": 61.0, "maximum": 60.0}
    assert "memory_bytes" in error["details"]["limits"]


async def test_limits_below_the_minima_are_422(execute: Execute) -> None:
    error = assert_error(await execute(**ENTRY, limits={"memory_bytes": 1024}), 422)

    assert error["details"]["errors"][0]["location"] == "limits.memory_bytes"


async def test_unknown_limit_names_are_422(execute: Execute) -> None:
    assert_error(await execute(**ENTRY, limits={"network": True}), 422, "VALIDATION_ERROR")


async def test_an_entry_file_must_be_sent(execute: Execute) -> None:
    response = await execute(files={"other.py": "x"}, entry="main.py")

    assert assert_error(response, 422)["details"]["field"] == "entry"


async def test_invalid_base64_is_422(execute: Execute) -> None:
    response = await execute(
        files={"main.py": {"content": "not base64!", "encoding": "base64"}}, entry="main.py"
    )

    assert_error(response, 422, "VALIDATION_ERROR")


async def test_an_unknown_environment_is_404(execute: Execute) -> None:
    response = await execute(**ENTRY, environment="no-such-environment")

    assert_error(response, 404, "NOT_FOUND")


async def test_a_runtime_that_does_not_match_the_environment_is_422(execute: Execute) -> None:
    response = await execute(**ENTRY, environment="python-service", runtime="node")

    assert assert_error(response, 422)["details"]["field"] == "runtime"


async def test_nul_bytes_in_arguments_are_422(execute: Execute) -> None:
    assert_error(await execute(files={}, command=["echo", "a\x00b"]), 422, "VALIDATION_ERROR")


async def test_an_invalid_idempotency_key_is_422(execute: Execute) -> None:
    response = await execute(**ENTRY, headers={"Idempotency-Key": "has space"})

    assert_error(response, 422, "VALIDATION_ERROR")
