"""The public keys that verify identity's access tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from devgen.services.identity.state import State

router = APIRouter(tags=["auth"])


@router.get("/.well-known/jwks.json", summary="Published signing keys (JWKS)")
async def jwks(state: State, response: Response) -> dict[str, Any]:
    """Ed25519 public keys, current and recently retired, by ``kid``."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return await state.keys.jwks()
