"""Audit's Ed25519 keys and the signed checkpoints they make.

A checkpoint says "chain C had record ``seq`` whose hash was H" and is
signed with audit's key; the public keys are published as a JWKS, so anyone
holding copies of checkpoints can check a chain later — and notice records
that were removed from its end, which no hash link can show.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth.ed25519 import (
    b64url,
    load_private_pem,
    private_pem,
    public_jwk,
    public_key_from_jwk,
    reencrypted,
    unb64url,
)
from devgen.kit.db import utcnow
from devgen.kit.events.envelope import format_time
from devgen.services.audit.models import AuditCheckpoint, AuditSigningKey


def new_signing_key(kek: SecretStr | None = None) -> AuditSigningKey:
    """A fresh Ed25519 key pair as an (unsaved) row, its private half encrypted with ``kek``."""
    private = Ed25519PrivateKey.generate()
    kid = f"audit-{utcnow():%Y%m%d}-{secrets.token_hex(6)}"
    return AuditSigningKey(
        kid=kid,
        private_pem=private_pem(private, kek),
        public_jwk=public_jwk(private, kid) | {"use": "sig"},
        created_at=utcnow(),
    )


@dataclass(frozen=True)
class Signer:
    """The current signing key and every public key (for verifying older checkpoints)."""

    kid: str
    private_key: Ed25519PrivateKey
    public_keys: dict[str, Ed25519PublicKey]
    jwks: dict[str, Any]


async def load_signer(session: AsyncSession, kek: SecretStr | None = None) -> Signer:
    """Audit's keys, creating the first one on first start (and encrypting clear ones)."""
    keys = list(
        await session.scalars(select(AuditSigningKey).order_by(AuditSigningKey.created_at.desc()))
    )
    active = next((key for key in keys if key.retired_at is None), None)
    if active is None:
        active = new_signing_key(kek)
        session.add(active)
        keys.insert(0, active)
    for key in keys:
        if (protected := reencrypted(key.private_pem, kek)) is not None:
            key.private_pem = protected
    await session.flush()
    private = load_private_pem(active.private_pem, kek)
    public = {key.kid: public_key_from_jwk(key.public_jwk) for key in keys}
    return Signer(active.kid, private, public, {"keys": [dict(key.public_jwk) for key in keys]})


def signed_payload(chain: str, seq: int, hash_: str, kind: str, created_at: datetime) -> bytes:
    """The bytes a checkpoint's signature covers (canonical JSON)."""
    document = {
        "chain": chain,
        "seq": seq,
        "hash": hash_,
        "kind": kind,
        "created_at": format_time(created_at),
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def make_checkpoint(signer: Signer, chain: str, seq: int, hash_: str, kind: str) -> AuditCheckpoint:
    """A signed checkpoint (unsaved)."""
    created_at = utcnow()
    signature = signer.private_key.sign(signed_payload(chain, seq, hash_, kind, created_at))
    return AuditCheckpoint(
        chain=chain,
        seq=seq,
        hash=hash_,
        kind=kind,
        created_at=created_at,
        kid=signer.kid,
        signature=b64url(signature),
    )


def checkpoint_is_authentic(signer: Signer, checkpoint: AuditCheckpoint) -> bool:
    """Whether the checkpoint's signature is valid for its content and key id."""
    key = signer.public_keys.get(checkpoint.kid)
    if key is None:
        return False
    payload = signed_payload(
        checkpoint.chain, checkpoint.seq, checkpoint.hash, checkpoint.kind, checkpoint.created_at
    )
    try:
        key.verify(unb64url(checkpoint.signature), payload)
    except (InvalidSignature, ValueError):
        return False
    return True
