"""A stand-in for the executor service's ``POST /api/v1/execute``, for codegen's API tests.

It answers in the executor's shape (an execution with ``result.files``). In ``run`` mode it
runs the command *locally, without any sandbox*, so it is only ever given projects the
template engine generated in the test itself; other modes answer a fixed status, as a
missing (404), busy (429) or down (503) executor would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class FakeExecutor:
    """Records ``/execute`` requests; runs them locally or answers ``status``."""

    def __init__(self, status: int | None = None) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.app = Starlette(routes=[Route("/api/v1/execute", self._execute, methods=["POST"])])

    async def _execute(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append(body)
        if self.status is not None:
            error = {"code": "SERVICE_UNAVAILABLE", "message": "down", "details": {}}
            return JSONResponse({"error": error}, status_code=self.status)
        execution = await anyio.to_thread.run_sync(_run, body)
        return JSONResponse({"data": execution, "metadata": {}})


def _run(body: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="fake-executor-") as tmp:
        root = Path(tmp)
        for path, content in body["files"].items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        command = [
            sys.executable if body["command"][0] == "python" else body["command"][0],
            *body["command"][1:],
        ]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
        env |= {"PYTHONPATH": str(root), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        done = subprocess.run(
            command,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=body["limits"]["wall_time_s"],
            check=False,
        )
        files = {}
        for name in body["collect"]:
            path = root / name
            if path.is_file():
                content = path.read_text(encoding="utf-8")
                files[name] = {
                    "status": "ok",
                    "size": len(content),
                    "encoding": "utf-8",
                    "content": content,
                }
            else:
                files[name] = {"status": "missing", "size": None, "encoding": None, "content": None}
    return {
        "id": str(uuid.uuid4()),
        "status": "finished",
        "verdict": "succeeded" if done.returncode == 0 else "failed",
        "exit_code": done.returncode,
        "result": {
            "exit_code": done.returncode,
            "stdout": done.stdout,
            "stdout_encoding": "utf-8",
            "stderr": done.stderr,
            "stderr_encoding": "utf-8",
            "files": files,
        },
    }
