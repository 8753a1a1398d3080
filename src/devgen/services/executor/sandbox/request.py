"""What a caller asks the sandbox to run, validated before anything runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from devgen.services.executor.sandbox.errors import InvalidRequestError
from devgen.services.executor.sandbox.limits import Limits

Stream = Literal["stdout", "stderr"]

MAX_FILES = 10_000
MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255
MAX_ARGV_BYTES = 128 * 1024
MAX_STDIN_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class OutputChunk:
    """A piece of live output, handed to ``SandboxRequest.on_output`` as it arrives."""

    stream: Stream
    data: bytes


@dataclass(frozen=True, slots=True)
class EnvMount:
    """A host directory exposed read-only to the execution (e.g. a virtualenv).

    ``target`` defaults to the same path inside the sandbox, which keeps the
    absolute paths baked into a virtualenv's scripts valid. When ``bin_on_path``
    is set, ``<target>/bin`` is put first on ``PATH``.
    """

    source: Path
    target: PurePosixPath | None = None
    bin_on_path: bool = True

    @property
    def inside(self) -> PurePosixPath:
        """Where the directory appears inside the sandbox."""
        return self.target if self.target is not None else PurePosixPath(self.source)


@dataclass(frozen=True, slots=True)
class SandboxRequest:
    """One execution: files to place in the workspace, a command, limits, files to return.

    ``files`` maps paths relative to the workspace to their content; ``collect``
    names workspace-relative files read back after the run. ``on_output`` is
    called on the event loop with each chunk of output as it arrives (within
    the per-stream cap); it must not block.
    """

    command: Sequence[str]
    files: Mapping[str, bytes] = field(default_factory=dict)
    stdin: bytes = b""
    limits: Limits = field(default_factory=Limits)
    collect: Sequence[str] = ()
    env_mounts: Sequence[EnvMount] = ()
    on_output: Callable[[OutputChunk], None] | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidRequestError` if the request cannot be run as given."""
        if not self.command:
            raise InvalidRequestError("command must not be empty")
        argv_bytes = 0
        for arg in self.command:
            if "\x00" in arg:
                raise InvalidRequestError("command arguments must not contain NUL bytes")
            argv_bytes += len(arg.encode("utf-8", "surrogateescape")) + 1
        if argv_bytes > MAX_ARGV_BYTES:
            raise InvalidRequestError(f"command is longer than {MAX_ARGV_BYTES} bytes")
        if len(self.files) > MAX_FILES:
            raise InvalidRequestError(f"at most {MAX_FILES} files may be sent")
        total = 0
        for name, content in self.files.items():
            workspace_path(name, what="file")
            total += len(content)
        if total > self.limits.workspace_bytes:
            raise InvalidRequestError(
                f"files total {total} bytes, above the workspace size {self.limits.workspace_bytes}"
            )
        for name in self.collect:
            workspace_path(name, what="collect")
        if len(self.stdin) > MAX_STDIN_BYTES:
            raise InvalidRequestError(f"stdin is larger than {MAX_STDIN_BYTES} bytes")
        for mount in self.env_mounts:
            if not mount.source.is_absolute():
                raise InvalidRequestError(f"env mount {mount.source} must be absolute")
            if not mount.inside.is_absolute() or ".." in mount.inside.parts:
                raise InvalidRequestError(f"env mount target {mount.inside} must be absolute")


def workspace_path(name: str, *, what: str) -> tuple[str, ...]:
    """Split a workspace-relative path into components, refusing any escape.

    Refused: absolute paths, ``.``/``..`` or empty components, NUL bytes,
    over-long names. The result is safe to walk with ``openat`` one component
    at a time.
    """
    if not isinstance(name, str) or not name:
        raise InvalidRequestError(f"{what} path must be a non-empty string")
    if "\x00" in name:
        raise InvalidRequestError(f"{what} path {name!r} contains a NUL byte")
    if name.startswith("/"):
        raise InvalidRequestError(f"{what} path {name!r} is absolute; use a relative path")
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > MAX_PATH_BYTES:
        raise InvalidRequestError(f"{what} path {name[:64]!r}... is too long")
    parts = tuple(name.split("/"))
    for part in parts:
        if part in ("", ".", ".."):
            raise InvalidRequestError(
                f"{what} path {name!r} has an empty, '.' or '..' component (path traversal)"
            )
        if len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
            raise InvalidRequestError(f"{what} path {name!r} has a name over 255 bytes")
    return parts
