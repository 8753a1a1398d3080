"""Run inside the sandbox, in a generated project's directory: schemathesis against its app.

Sent as a file with the project (it imports nothing of devgen's): it serves ``app.main:app``
with uvicorn on 127.0.0.1 (the sandbox has no other network), on a fresh SQLite database
and with generated secrets, signs in when the service has accounts, and runs
``schemathesis run`` against the served OpenAPI document with every default check, in
the phases ``--phases`` names (all four by default, the stateful one included).
schemathesis writes its JSON report to ``--report``; this script adds the names of the
checks it ran to it. Past ``--budget-seconds`` it
interrupts schemathesis, which then reports what it did (``stop_reason: interrupted``)
rather than being killed by the sandbox with nothing said. Exit status: schemathesis'
own, or 2 when the service would not start.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

_START_SECONDS = 60.0
_WATCH_SECONDS = 0.2
_PASSWORD = "contract-" + secrets.token_urlsafe(12)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _request(url: str, body: dict[str, str] | None = None) -> dict[str, object]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - a loopback http URL built here
        url, data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
        answer: dict[str, object] = json.loads(response.read() or b"{}")
        return answer


def _wait_until_up(base: str, server: subprocess.Popen[bytes]) -> dict[str, object]:
    """The OpenAPI document, once the server answers; raises if it exits or never does."""
    deadline = time.monotonic() + _START_SECONDS
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the service exited at start-up with status {server.returncode}")
        try:
            return _request(f"{base}/openapi.json")
        except (urllib.error.URLError, ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise RuntimeError("the service did not answer within a minute") from None
            time.sleep(0.1)


def _has_accounts(document: dict[str, object]) -> bool:
    paths = document.get("paths") or {}
    return isinstance(paths, dict) and "/auth/login" in paths


def _shipped_document() -> dict[str, object] | None:
    """The project's own ``openapi.json`` (generated projects ship it), if readable."""
    try:
        document = json.loads(Path("openapi.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _bearer(base: str, document: dict[str, object], api_token: str) -> str:
    """The token to send: an account's (registered and signed in) or the static API token."""
    if not _has_accounts(document):
        return api_token
    account = {"email": f"contract-{secrets.token_hex(4)}@example.com", "password": _PASSWORD}
    _request(f"{base}/auth/register", account)
    return str(_request(f"{base}/auth/login", account)["access_token"])


def _run_until(
    command: list[str],
    environment: dict[str, str],
    deadline: float,
    server: subprocess.Popen[bytes],
) -> int:
    """schemathesis' exit status; interrupted past ``deadline``, stopped if the server dies."""
    checker = subprocess.Popen(command, env=environment)  # noqa: S603 - fixed arguments
    while True:
        try:
            return checker.wait(timeout=_WATCH_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        if server.poll() is not None:
            # Nothing left to check (schemathesis may still be waiting for the schema).
            checker.kill()
            checker.wait()
            return 2
        if time.monotonic() > deadline:
            print("contract: out of time, interrupting schemathesis", file=sys.stderr)
            checker.send_signal(signal.SIGINT)
            try:
                return checker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                checker.kill()
                return checker.wait()


def _check_names() -> list[str]:
    try:
        import schemathesis.specs.openapi.checks  # noqa: F401  # registers the OpenAPI checks
        from schemathesis.checks import CHECKS
    except ImportError:
        return []
    return sorted(CHECKS.get_all_names())


def main() -> int:
    """Serve the app, run schemathesis against it, stop the app; schemathesis' exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", default="contract.json")
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-seconds", type=float, default=3600.0)
    parser.add_argument("--phases", default="examples,coverage,fuzzing,stateful")
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget_seconds
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    api_token = secrets.token_urlsafe(32)
    with tempfile.TemporaryDirectory(prefix="contract-") as scratch:
        environment = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{scratch}/contract.db",
            "MIGRATE_ON_START": "true",
            "API_TOKEN": api_token,
            "SECRET_KEY": secrets.token_urlsafe(48),
        }
        serve = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
        serve += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
        server = subprocess.Popen(serve, env=environment)  # noqa: S603 - fixed arguments
        try:
            shipped = _shipped_document()
            command = [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json"]
            if shipped is not None and not _has_accounts(shipped):
                # The static token is known: schemathesis starts (imports, a second or two)
                # while the service does, and waits for its schema.
                token = api_token
                command += ["--wait-for-schema", str(_START_SECONDS)]
            else:
                try:
                    token = _bearer(base, _wait_until_up(base, server), api_token)
                except (RuntimeError, urllib.error.URLError, KeyError, ValueError) as exc:
                    print(f"contract: {exc}", file=sys.stderr)
                    return 2
            command += ["--header", f"Authorization: Bearer {token}", "--no-color"]
            command += ["--max-examples", str(args.max_examples), "--seed", str(args.seed)]
            command += ["--workers", "1", "--generation-database", "none"]
            command += ["--phases", args.phases]
            command += ["--report", "json", "--report-json-path", args.report]
            status = _run_until(command, environment, deadline, server)
            if server.poll() is not None:
                print(
                    f"contract: the service exited with status {server.returncode}",
                    file=sys.stderr,
                )
                return 2
        finally:
            server.terminate()
            server.wait(timeout=10)
    report = Path(args.report)
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        data["checks"] = _check_names()
        report.write_text(json.dumps(data), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
