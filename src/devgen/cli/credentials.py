"""Tokens the client commands keep between runs, in a file only the user can read.

The file lives in the user's config directory (``$XDG_CONFIG_HOME/devgen``,
usually ``~/.config/devgen``) as ``credentials.json``, mode 0600, and holds
one token pair per server plus which server was used last.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer

_FILE_NAME = "credentials.json"


@dataclass(frozen=True)
class StoredLogin:
    """A session at one server."""

    server: str
    email: str
    access_token: str
    refresh_token: str


def credentials_path() -> Path:
    """Where the credentials file is."""
    return Path(typer.get_app_dir("devgen")) / _FILE_NAME


def _read(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {"default": None, "servers": {}}
    except (OSError, ValueError):
        return {"default": None, "servers": {}}
    if not isinstance(document, dict) or not isinstance(document.get("servers"), dict):
        return {"default": None, "servers": {}}
    return document


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    # Created 0600 from the start: the tokens are never readable by others, not even briefly.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=2)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def normalise_server(server: str) -> str:
    """``server`` without a trailing slash, so one server has one entry."""
    return server.rstrip("/")


def load(server: str | None) -> StoredLogin | None:
    """The stored session at ``server`` (or at the last server used)."""
    document = _read(credentials_path())
    key = normalise_server(server) if server else document.get("default")
    entry = document["servers"].get(key) if key else None
    if not isinstance(entry, dict):
        return None
    try:
        return StoredLogin(**entry)
    except TypeError:
        return None


def save(login: StoredLogin) -> Path:
    """Remember ``login`` and make its server the default; returns the file's path."""
    path = credentials_path()
    document = _read(path)
    document["servers"][login.server] = asdict(login)
    document["default"] = login.server
    _write(path, document)
    return path


def forget(server: str) -> None:
    """Drop the session at ``server``."""
    path = credentials_path()
    document = _read(path)
    document["servers"].pop(server, None)
    if document.get("default") == server:
        document["default"] = next(iter(document["servers"]), None)
    _write(path, document)
