"""Run inside the sandbox, in a generated project's directory: schemathesis against its app.

Sent as a file with the project (it imports nothing of devgen's): it serves ``app.main:app``
with uvicorn on 127.0.0.1 (the sandbox has no other network), on a fresh SQLite database
and with generated secrets, signs in when the service has accounts, and runs
``schemathesis run`` against the served OpenAPI document with every default check, in
the phases ``--phases`` names (all four by default, the stateful one included).

With ``--processes N`` the phases are shared out over up to N schemathesis processes run at
once, each against a server and a database of its own (one process's deletes cannot make
another's stateful sequence fail), so the check uses more than one core. Their outputs are
printed one after the other, followed by one summary line of all, and their reports are
merged into one.

schemathesis writes its JSON report to ``--report``; this script adds the names of the
checks it ran to it. Past ``--budget-seconds`` it interrupts schemathesis, which then
reports what it did (``stop_reason: interrupted``) rather than being killed by the sandbox
with nothing said. Exit status: schemathesis' own (the worst of them), or 2 when the
service would not start.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_START_SECONDS = 60.0
_WATCH_SECONDS = 0.2
_PASSWORD = "contract-" + secrets.token_urlsafe(12)
_SUMMARY = re.compile(r"^=+ (.+?) =+$", re.MULTILINE)
PHASES = ("examples", "coverage", "fuzzing", "stateful")
# Relative CPU of each phase on the generated services (the library example: coverage
# ~2.2 s, fuzzing ~1.5 s, stateful ~0.8 s; examples only where the schema has examples).
_PHASE_COST = {"coverage": 3, "fuzzing": 2, "stateful": 1, "examples": 0}


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


@dataclass
class _Check:
    """One schemathesis process over some phases, against a server of its own."""

    phases: list[str]
    report: Path
    server: subprocess.Popen[bytes]
    log: Path | None = None
    checker: subprocess.Popen[bytes] | None = None
    status: int | None = None


def phase_groups(phases: list[str], processes: int) -> list[list[str]]:
    """``phases`` over at most ``processes`` schemathesis processes: the costliest phase to
    the least loaded process first, each process's phases in schemathesis' order."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(processes, len(phases))))]
    loads = [0] * len(groups)
    for phase in sorted(phases, key=lambda name: -_PHASE_COST.get(name, 1)):
        least = loads.index(min(loads))
        groups[least].append(phase)
        loads[least] += _PHASE_COST.get(phase, 1)
    order = {name: index for index, name in enumerate(PHASES)}
    return [sorted(group, key=lambda name: order.get(name, len(order))) for group in groups]


def _watch(checks: list[_Check], deadline: float) -> int:
    """The checks' worst exit status once all ended; interrupted past ``deadline``, all
    stopped (status 2) as soon as one's server dies."""
    while True:
        running = [check for check in checks if check.status is None]
        if not running:
            return max(check.status or 0 for check in checks)
        for check in running:
            assert check.checker is not None
            with contextlib.suppress(subprocess.TimeoutExpired):
                check.status = check.checker.wait(timeout=_WATCH_SECONDS / len(running))
        if any(check.server.poll() is not None for check in checks):
            # Nothing left to check (schemathesis may still be waiting for the schema).
            for check in checks:
                _stop(check, signal.SIGKILL)
            return 2
        if time.monotonic() > deadline:
            print("contract: out of time, interrupting schemathesis", file=sys.stderr)
            for check in checks:
                _stop(check, signal.SIGINT)
            return max(check.status or 0 for check in checks)


def _stop(check: _Check, how: signal.Signals) -> None:
    """Send ``how`` to a running schemathesis and wait (killing it if it lingers)."""
    if check.checker is None or check.status is not None:
        return
    check.checker.send_signal(how)
    try:
        check.status = check.checker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        check.checker.kill()
        check.status = check.checker.wait()


def _check_names() -> list[str]:
    try:
        import schemathesis.specs.openapi.checks  # noqa: F401  # registers the OpenAPI checks
        from schemathesis.checks import CHECKS
    except ImportError:
        return []
    return sorted(CHECKS.get_all_names())


def merge_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One schemathesis JSON report from those of processes that ran different phases."""
    merged = dict(reports[0])
    merged["running_time"] = max(_number(report.get("running_time")) for report in reports)
    merged["complete"] = all(report.get("complete") is True for report in reports)
    stopped = [report.get("stop_reason") for report in reports]
    merged["stop_reason"] = next((why for why in stopped if why != "completed"), "completed")
    merged["exit_code"] = max(_number(report.get("exit_code")) for report in reports)
    phases: dict[str, Any] = {}
    for report in reports:
        for name, phase in (report.get("phases") or {}).items():
            if name not in phases or _ran(phase) > _ran(phases[name]):
                phases[name] = phase
    merged["phases"] = phases
    cases: dict[str, float] = {}
    for report in reports:
        for key, value in (report.get("test_cases") or {}).items():
            cases[key] = cases.get(key, 0) + _number(value)
    merged["test_cases"] = cases
    merged["failures"] = _merged_failures(reports)
    merged["errors"] = [error for report in reports for error in report.get("errors") or []]
    warnings: dict[str, list[Any]] = {}
    for report in reports:
        for name, items in (report.get("warnings") or {}).items():
            known = warnings.setdefault(name, [])
            known += [item for item in items or [] if item not in known]
    merged["warnings"] = warnings
    rates: dict[str, dict[str, Any]] = {}
    for report in reports:
        for operation, by_phase in (report.get("valid_rates") or {}).items():
            rates.setdefault(operation, {}).update(by_phase or {})
    merged["valid_rates"] = rates
    return merged


def _ran(phase: Any) -> int:
    """How much a report says of a phase: 2 it ran, 1 its process skipped it (nothing to
    do), 0 its process was not asked to run it."""
    if not isinstance(phase, dict) or phase.get("skip_reason") == "disabled":
        return 0
    return 1 if phase.get("status") == "skip" else 2


def _number(value: Any) -> Any:
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _merged_failures(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Failure groups of the same kind (code and title) as one: counts added, operations
    joined."""
    groups: dict[tuple[Any, Any], dict[str, Any]] = {}
    for report in reports:
        for group in report.get("failures") or []:
            key = (group.get("code"), group.get("title"))
            if key not in groups:
                groups[key] = {**group, "operations": list(group.get("operations") or [])}
                continue
            known = groups[key]
            known["count"] = _number(known.get("count")) + _number(group.get("count"))
            known["operations"] += [
                op for op in group.get("operations") or [] if op not in known["operations"]
            ]
    return list(groups.values())


def _serve(scratch: Path, index: int, api_token: str) -> tuple[str, dict[str, str], Any]:
    """A server of the app on a fresh SQLite database; its base URL, environment, process."""
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{scratch}/contract-{index}.db",
        "MIGRATE_ON_START": "true",
        "API_TOKEN": api_token,
        "SECRET_KEY": secrets.token_urlsafe(48),
    }
    serve = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    serve += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    # Its request log (a JSON line per case) would bury schemathesis' output; its errors
    # (standard error) stay.
    server = subprocess.Popen(  # noqa: S603 - fixed arguments
        serve, env=environment, stdout=subprocess.DEVNULL
    )
    return f"http://127.0.0.1:{port}", environment, server


def _start(
    check: _Check,
    base: str,
    environment: dict[str, str],
    args: argparse.Namespace,
    shipped: dict[str, object] | None,
) -> None:
    """Start ``check``'s schemathesis against the server at ``base`` (``shipped``: the
    project's own OpenAPI document, if any); raises when the service cannot be signed in to."""
    api_token = environment["API_TOKEN"]
    command = [sys.executable, "-m", "schemathesis.cli", "run", f"{base}/openapi.json"]
    if shipped is not None and not _has_accounts(shipped):
        # The static token is known: schemathesis starts (imports, a second or two)
        # while the service does, and waits for its schema.
        token = api_token
        command += ["--wait-for-schema", str(_START_SECONDS)]
    else:
        token = _bearer(base, _wait_until_up(base, check.server), api_token)
    command += ["--header", f"Authorization: Bearer {token}", "--no-color"]
    command += ["--max-examples", str(args.max_examples), "--seed", str(args.seed)]
    command += ["--workers", "1", "--generation-database", "none"]
    command += ["--phases", ",".join(check.phases)]
    command += ["--report", "json", "--report-json-path", str(check.report)]
    if check.log is None:
        check.checker = subprocess.Popen(command, env=environment)  # noqa: S603
        return
    with check.log.open("wb") as log:
        check.checker = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, env=environment, stdout=log, stderr=subprocess.STDOUT
        )


def _print_outputs(checks: list[_Check]) -> None:
    """Each process's output in turn (they ran at once), then one summary line of all."""
    summaries = []
    for check in checks:
        assert check.log is not None
        text = check.log.read_text(encoding="utf-8", errors="replace")
        print(f"contract: phases {', '.join(check.phases)}", flush=True)
        print(text, flush=True)
        lines = _SUMMARY.findall(text)
        summaries.append(f"{', '.join(check.phases)}: {lines[-1] if lines else 'no summary'}")
    print(f"{'=' * 10} {'; '.join(summaries)} {'=' * 10}", flush=True)


def main() -> int:
    """Serve the app, run schemathesis against it, stop the app; schemathesis' exit status."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--report", default="contract.json")
    parser.add_argument("--max-examples", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-seconds", type=float, default=3600.0)
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    deadline = time.monotonic() + args.budget_seconds
    groups = phase_groups([p for p in args.phases.split(",") if p], args.processes)
    alone = len(groups) == 1
    shipped = _shipped_document()
    api_token = secrets.token_urlsafe(32)
    checks: list[_Check] = []
    with tempfile.TemporaryDirectory(prefix="contract-") as directory:
        scratch = Path(directory)
        try:
            started = []
            for index, phases in enumerate(groups):
                base, environment, server = _serve(scratch, index, api_token)
                check = _Check(
                    phases=phases,
                    report=Path(args.report) if alone else scratch / f"report-{index}.json",
                    server=server,
                    log=None if alone else scratch / f"output-{index}.txt",
                )
                checks.append(check)
                started.append((check, base, environment))
            for check, base, environment in started:
                try:
                    _start(check, base, environment, args, shipped)
                except (RuntimeError, urllib.error.URLError, KeyError, ValueError) as exc:
                    print(f"contract: {exc}", file=sys.stderr)
                    for running in checks:
                        _stop(running, signal.SIGKILL)
                    return 2
            status = _watch(checks, deadline)
            if not alone:
                _print_outputs(checks)
            dead = [check.server for check in checks if check.server.poll() is not None]
            if dead:
                print(
                    f"contract: the service exited with status {dead[0].returncode}",
                    file=sys.stderr,
                )
                return 2
            if not alone:
                reports = [
                    json.loads(check.report.read_text(encoding="utf-8"))
                    for check in checks
                    if check.report.is_file()
                ]
                if len(reports) == len(checks):
                    Path(args.report).write_text(json.dumps(merge_reports(reports)), "utf-8")
        finally:
            for check in checks:
                check.server.terminate()
            for check in checks:
                check.server.wait(timeout=10)
    report = Path(args.report)
    if report.is_file():
        data = json.loads(report.read_text(encoding="utf-8"))
        data["checks"] = _check_names()
        report.write_text(json.dumps(data), encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
