"""``POST /api/v1/execute`` and reading executions back, through HTTP."""

from __future__ import annotations

import base64

import httpx

from tests.helpers import Account, assert_error
from tests.services.executor.api.conftest import Execute, wait_finished


async def test_an_entry_file_runs_and_the_result_comes_back(execute: Execute) -> None:
    response = await execute(files={"main.py": "print('hello')"}, entry="main.py", wait=True)

    assert response.status_code == 200, response.text
    body = response.json()
    data = body["data"]
    assert data["status"] == "finished"
    assert data["verdict"] == "succeeded"
    assert data["command"] == ["python3", "main.py"]
    assert data["result"]["stdout"] == "hello\n"
    assert data["result"]["stdout_encoding"] == "utf-8"
    assert data["result"]["isolation"]["mode"] == "bwrap"
    assert data["result"]["isolation"]["seccomp"] is True
    assert body["metadata"] == {"replayed": False, "cache_hit": False}


async def test_command_args_and_stdin(execute: Execute) -> None:
    response = await execute(
        files={"echo.py": "import sys\nprint(sys.argv[1:], sys.stdin.read())"},
        command=["python3", "echo.py"],
        args=["a", "b c"],
        stdin="from stdin",
        wait=True,
    )

    assert response.json()["data"]["result"]["stdout"] == "['a', 'b c'] from stdin\n"


async def test_base64_files_and_stdin_are_bytes(execute: Execute) -> None:
    blob = bytes(range(256))
    response = await execute(
        files={
            "blob.bin": {"content": base64.b64encode(blob).decode(), "encoding": "base64"},
            "main.py": "import sys\n"
            "data = open('blob.bin', 'rb').read()\n"
            "sys.stdout.buffer.write(data + sys.stdin.buffer.read())\n",
        },
        entry="main.py",
        stdin=base64.b64encode(b"\xff\xfe").decode(),
        stdin_encoding="base64",
        wait=True,
    )

    result = response.json()["data"]["result"]
    assert result["stdout_encoding"] == "base64"
    assert base64.b64decode(result["stdout"]) == blob + b"\xff\xfe"


async def test_without_wait_the_answer_is_202_and_the_result_comes_later(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    response = await execute(files={"main.py": "print(6 * 7)"}, entry="main.py")

    assert response.status_code == 202, response.text
    execution_id = response.json()["data"]["id"]
    assert response.headers["location"] == f"/api/v1/executions/{execution_id}"
    assert response.json()["data"]["status"] in ("queued", "running")
    finished = await wait_finished(client, owner, execution_id)
    assert finished["verdict"] == "succeeded"
    assert finished["result"]["stdout"] == "42\n"


async def test_a_failing_program_reports_its_exit_code(execute: Execute) -> None:
    response = await execute(
        files={"main.py": "import sys\nprint('bad', file=sys.stderr)\nsys.exit(3)"},
        entry="main.py",
        wait=True,
    )

    data = response.json()["data"]
    assert data["verdict"] == "failed"
    assert data["exit_code"] == 3
    assert data["result"]["stderr"] == "bad\n"


async def test_limits_are_applied_and_reported(execute: Execute) -> None:
    response = await execute(
        files={"main.py": "import time\ntime.sleep(5)"},
        entry="main.py",
        limits={"wall_time_s": 0.5},
        wait=True,
    )

    data = response.json()["data"]
    assert data["verdict"] == "wall_time_limit"
    assert data["limits"]["wall_time_s"] == 0.5
    assert data["result"]["limits"]["wall_time_s"] == 0.5


async def test_other_runtimes_run_entry_files(execute: Execute) -> None:
    response = await execute(
        runtime="sh", files={"run.sh": "echo from sh; echo $((6*7))"}, entry="run.sh", wait=True
    )

    data = response.json()["data"]
    assert data["command"] == ["sh", "run.sh"]
    assert data["result"]["stdout"] == "from sh\n42\n"


async def test_result_files_come_back_as_text_or_base64(execute: Execute) -> None:
    response = await execute(
        files={
            "main.py": "import os\n"
            "open('out/report.xml', 'w').write('<ok/>')\n"
            "open('out/raw.bin', 'wb').write(b'\\x00\\xff')\n"
            "os.symlink('/etc/passwd', 'out/link')\n",
            "out/.keep": "",
        },
        entry="main.py",
        collect=["out/report.xml", "out/raw.bin", "out/link", "out/missing"],
        wait=True,
    )

    files = response.json()["data"]["result"]["files"]
    assert files["out/report.xml"] == {
        "status": "ok",
        "size": 5,
        "encoding": "utf-8",
        "content": "<ok/>",
    }
    assert files["out/raw.bin"]["encoding"] == "base64"
    assert base64.b64decode(files["out/raw.bin"]["content"]) == b"\x00\xff"
    assert files["out/link"] == {
        "status": "not_regular",
        "size": None,
        "encoding": None,
        "content": None,
    }
    assert files["out/missing"]["status"] == "missing"


async def test_get_returns_the_execution_with_its_result(
    execute: Execute, client: httpx.AsyncClient, owner: Account
) -> None:
    created = (await execute(files={"main.py": "print(1)"}, entry="main.py", wait=True)).json()

    response = await client.get(
        f"/api/v1/executions/{created['data']['id']}", headers=owner.headers
    )

    assert response.status_code == 200
    assert response.json()["data"] == created["data"]


async def test_an_unknown_execution_is_404(client: httpx.AsyncClient, owner: Account) -> None:
    response = await client.get(
        "/api/v1/executions/00000000-0000-4000-8000-000000000000", headers=owner.headers
    )

    assert_error(response, 404, "NOT_FOUND")
