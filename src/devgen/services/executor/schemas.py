"""The executor's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from devgen.services.executor.encoding import Encoding
from devgen.services.executor.sandbox import InvalidRequestError
from devgen.services.executor.sandbox.request import workspace_path

RuntimeName = Literal["python3", "node", "bash", "sh"]
Status = Literal["queued", "running", "finished"]
VerdictName = Literal[
    "succeeded",
    "failed",
    "time_limit",
    "wall_time_limit",
    "memory_limit",
    "output_limit",
    "killed",
    "internal_error",
]
BuildStatus = Literal["pending", "building", "ready", "failed"]


def _relative_path(value: str) -> str:
    # The sandbox's own rule (no absolute paths, no '.', '..' or empty parts,
    # no NUL), applied here so a bad path is a 422 before anything is stored.
    try:
        workspace_path(value, what="file")
    except InvalidRequestError as exc:
        raise ValueError(str(exc)) from exc
    return value


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL bytes")
    return value


FilePath = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_relative_path)]
"""A workspace-relative path: ``src/app.py``, never ``/etc/x`` or ``../x``."""

Arg = Annotated[str, Field(max_length=32 * 1024), AfterValidator(_no_nul)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileContent(_Strict):
    """A file given with its encoding (a plain string means UTF-8 text)."""

    content: str
    encoding: Encoding = "utf-8"


class LimitsIn(_Strict):
    """Limits asked for; each one left out takes the environment's or the server's default."""

    wall_time_s: float | None = Field(default=None, gt=0, examples=[10.0])
    cpu_time_s: float | None = Field(default=None, gt=0, examples=[5.0])
    memory_bytes: int | None = Field(default=None, gt=0, examples=[268435456])
    cpus: float | None = Field(
        default=None,
        gt=0,
        examples=[1.0],
        description="CPU share of the whole execution in cores (needs a cgroup; see "
        "`result.isolation.cpu`).",
    )
    processes: int | None = Field(default=None, gt=0, examples=[64])
    stack_bytes: int | None = Field(default=None, gt=0)
    open_files: int | None = Field(default=None, gt=0)
    file_size_bytes: int | None = Field(default=None, gt=0)
    workspace_bytes: int | None = Field(default=None, gt=0)
    output_bytes: int | None = Field(default=None, gt=0)


class ExecuteRequest(_Strict):
    """What to run, in what, with which files and limits.

    Give ``command`` (an argv) or ``entry`` (a file run with the runtime's
    interpreter); ``args`` are appended to either. ``runtime`` defaults to
    ``python3``; an ``environment`` (id or built-in name, e.g.
    ``python-service``) brings its runtime and packages.
    """

    runtime: RuntimeName | None = None
    environment: str | None = Field(default=None, min_length=1, max_length=64)
    files: dict[FilePath, str | FileContent] = Field(default_factory=dict)
    command: list[Arg] | None = Field(default=None, min_length=1, max_length=1000)
    entry: FilePath | None = None
    args: list[Arg] = Field(default_factory=list, max_length=1000)
    stdin: str = ""
    stdin_encoding: Encoding = "utf-8"
    limits: LimitsIn = Field(default_factory=LimitsIn)
    collect: list[FilePath] = Field(default_factory=list, max_length=1000)
    wait: bool = Field(default=False, description="Answer with the result (up to a cap).")
    cache: bool = Field(default=False, description="Reuse the result of an identical execution.")

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "environment": "python-service",
                    "files": {"tests/test_x.py": "def test_x():\n    assert True\n"},
                    "command": ["python", "-m", "pytest", "-q", "--junitxml=junit.xml"],
                    "collect": ["junit.xml"],
                    "wait": True,
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _command_or_entry(self) -> ExecuteRequest:
        if (self.command is None) == (self.entry is None):
            raise ValueError("give exactly one of `command` and `entry`")
        return self


class CollectedFileRead(BaseModel):
    """A result file: ``content`` is set for ``ok`` and ``truncated`` (the first bytes)."""

    status: Literal["ok", "truncated", "missing", "not_regular"]
    size: int | None = Field(description="The size the file had, when it was a regular file.")
    encoding: Encoding | None = None
    content: str | None = None


class ExecutionResultRead(BaseModel):
    """What the program did. Output is UTF-8 text, or base64 when it is not valid UTF-8."""

    exit_code: int | None
    signal: int | None
    stdout: str
    stdout_encoding: Encoding
    stdout_truncated: bool
    stderr: str
    stderr_encoding: Encoding
    stderr_truncated: bool
    cpu_time_s: float
    wall_time_s: float
    peak_memory_bytes: int | None
    limits: dict[str, Any]
    isolation: dict[str, Any]
    files: dict[str, CollectedFileRead]
    detail: str


class ExecutionSummary(BaseModel):
    """An execution without its output (lists)."""

    id: uuid.UUID
    status: Status
    verdict: VerdictName | None
    exit_code: int | None
    reason: str | None = Field(description="Why it was killed or failed before running.")
    runtime: RuntimeName
    environment: str | None = Field(description="The environment's name or id.")
    environment_id: uuid.UUID | None
    command: list[str]
    limits: dict[str, Any]
    collect: list[str]
    cache: bool
    cache_hit: bool
    cached_from: uuid.UUID | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ExecutionRead(ExecutionSummary):
    """An execution; ``result`` is set once it finished and ran."""

    result: ExecutionResultRead | None


class RuntimeRead(BaseModel):
    """An interpreter executions can use."""

    name: RuntimeName
    version: str | None
    path: str


class EnvironmentCreate(_Strict):
    """A dependency set: requirement strings such as ``requests>=2.31``, ``attrs``."""

    runtime: Literal["python3"] = "python3"
    packages: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100, examples=[["attrs>=23", "requests==2.32.3"]]
    )


class EnvironmentRead(BaseModel):
    """An environment and the state of its build."""

    id: uuid.UUID
    name: str | None = Field(description="Set for built-in environments, e.g. python-service.")
    builtin: bool
    runtime: RuntimeName
    packages: list[str]
    status: BuildStatus
    error: str | None
    default_limits: dict[str, Any]
    created_at: datetime | None
    build_started_at: datetime | None
    build_finished_at: datetime | None


class BuildLogRead(BaseModel):
    """The build's output so far (pip's log)."""

    id: uuid.UUID
    status: BuildStatus
    log: str
