"""Turn an ``ExecuteRequest`` into a checked plan, before anything is stored or run.

Everything a client can get wrong is found here: unknown runtime, bad or
too many files, oversized input, limits above the server maxima, an argv
the sandbox would refuse. A plan also carries its two fingerprints: the
cache key (what determines the result) and the request hash (what makes a
retry with the same ``Idempotency-Key`` the same request).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from devgen.kit.errors import PayloadTooLarge, ValidationFailed
from devgen.services.executor.encoding import decode
from devgen.services.executor.environments import Target
from devgen.services.executor.runtimes import Runtime
from devgen.services.executor.sandbox import (
    InvalidRequestError,
    LimitExceededError,
    LimitMaxima,
    Limits,
    SandboxRequest,
)
from devgen.services.executor.schemas import ExecuteRequest, FileContent
from devgen.services.executor.settings import ExecutorSettings


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """A request checked and resolved: exactly what will run."""

    target: Target
    command: list[str]
    files: dict[str, bytes]
    stdin: bytes
    limits: Limits
    collect: list[str]
    cache: bool
    cache_key: str
    request_hash: str


def _files(body: ExecuteRequest, settings: ExecutorSettings) -> dict[str, bytes]:
    if len(body.files) > settings.executor_max_files:
        raise ValidationFailed(
            f"at most {settings.executor_max_files} files may be sent",
            details={"field": "files", "max_files": settings.executor_max_files},
        )
    files: dict[str, bytes] = {}
    for path, value in body.files.items():
        content = value if isinstance(value, FileContent) else FileContent(content=value)
        try:
            files[path] = decode(content.content, content.encoding)
        except ValueError as exc:
            raise ValidationFailed(f"file {path!r}: {exc}", details={"field": "files"}) from exc
    total = sum(len(content) for content in files.values())
    if total > settings.executor_max_files_bytes:
        raise PayloadTooLarge(
            f"the files total {total} bytes, above {settings.executor_max_files_bytes}",
            details={"max_files_bytes": settings.executor_max_files_bytes},
        )
    return files


def _stdin(body: ExecuteRequest, settings: ExecutorSettings) -> bytes:
    try:
        stdin = decode(body.stdin, body.stdin_encoding)
    except ValueError as exc:
        raise ValidationFailed(f"stdin: {exc}", details={"field": "stdin"}) from exc
    if len(stdin) > settings.executor_max_stdin_bytes:
        raise PayloadTooLarge(
            f"stdin is {len(stdin)} bytes, above {settings.executor_max_stdin_bytes}",
            details={"max_stdin_bytes": settings.executor_max_stdin_bytes},
        )
    return stdin


def effective_limits(
    requested: dict[str, Any], defaults: dict[str, Any], maxima: LimitMaxima
) -> Limits:
    """The request's limits over the environment's defaults over the server's.

    An environment default above a server maximum is lowered to it; a
    request above one is refused (422), never silently lowered.
    """
    merged = {name: min(value, getattr(maxima, name)) for name, value in defaults.items()}
    merged.update(requested)
    try:
        limits = Limits(**merged)
    except ValidationError as exc:
        errors = [
            {"location": f"limits.{'.'.join(str(p) for p in e['loc'])}", "message": e["msg"]}
            for e in exc.errors()
        ]
        raise ValidationFailed("The limits are not valid.", details={"errors": errors}) from exc
    try:
        limits.check_within(maxima)
    except LimitExceededError as exc:
        fields = {name: {"requested": v, "maximum": m} for name, (v, m) in exc.fields.items()}
        raise ValidationFailed(str(exc), details={"limits": fields}) from exc
    return limits


def _command(body: ExecuteRequest, runtime: Runtime, files: dict[str, bytes]) -> list[str]:
    if body.command is not None:
        return [*body.command, *body.args]
    assert body.entry is not None
    if body.entry not in files:
        raise ValidationFailed(
            f"the entry file {body.entry!r} is not among the files", details={"field": "entry"}
        )
    return [*runtime.interpreter, body.entry, *body.args]


def _digest(value: Any) -> str:
    return hashlib.sha256(
        json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


def plan_execution(
    body: ExecuteRequest,
    target: Target,
    runtime: Runtime,
    settings: ExecutorSettings,
) -> ExecutionPlan:
    """Check ``body`` against the settings and resolve it to an :class:`ExecutionPlan`."""
    files = _files(body, settings)
    stdin = _stdin(body, settings)
    if len(body.collect) > settings.executor_max_collect:
        raise ValidationFailed(
            f"at most {settings.executor_max_collect} result files may be collected",
            details={"field": "collect"},
        )
    limits = effective_limits(
        body.limits.model_dump(exclude_none=True), target.default_limits, settings.maxima
    )
    command = _command(body, runtime, files)
    try:
        SandboxRequest(
            command=command, files=files, stdin=stdin, limits=limits, collect=body.collect
        ).validate()
    except InvalidRequestError as exc:
        raise ValidationFailed(str(exc)) from exc
    cache_key = _digest(
        {
            "runtime": target.runtime,
            "build": target.build_key,
            "files": sorted((p, hashlib.sha256(c).hexdigest()) for p, c in files.items()),
            "command": command,
            "stdin": hashlib.sha256(stdin).hexdigest(),
            "limits": limits.model_dump(),
            "collect": list(body.collect),
        }
    )
    return ExecutionPlan(
        target=target,
        command=command,
        files=files,
        stdin=stdin,
        limits=limits,
        collect=list(body.collect),
        cache=body.cache,
        cache_key=cache_key,
        request_hash=_digest({"cache_key": cache_key, "cache": body.cache}),
    )
