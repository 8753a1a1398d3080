"""The collaborators audit's endpoints and jobs need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from devgen.kit.db import Database
from devgen.services.audit.settings import AuditSettings
from devgen.services.audit.signing import Signer


@dataclass(frozen=True)
class AuditState:
    """Settings, the database and the key that signs checkpoints."""

    settings: AuditSettings
    database: Database
    signer: Signer


async def _state(request: Request) -> AuditState:
    state: AuditState = request.app.state.audit
    return state


State = Annotated[AuditState, Depends(_state)]
