"""The collaborators storage's endpoints need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from devgen.kit.db import Database
from devgen.services.storage.archives import ArchiveLimits
from devgen.services.storage.backends import BlobStore
from devgen.services.storage.settings import StorageSettings


@dataclass(frozen=True)
class StorageState:
    """Settings, the blob store, the staging directory and the archive workers."""

    settings: StorageSettings
    store: BlobStore
    database: Database
    staging: Path
    archive_limits: ArchiveLimits
    archive_workers: CapacityLimiter


def _state(request: Request) -> StorageState:
    state: StorageState = request.app.state.storage
    return state


State = Annotated[StorageState, Depends(_state)]
