"""Tools to forge tokens the way an attacker would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def b64(data: bytes) -> str:
    """Unpadded URL-safe base64."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def segment(value: dict[str, Any]) -> str:
    """A JWT header or payload segment."""
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims_like(valid_token: str, **overrides: Any) -> dict[str, Any]:
    """The claims of a real token, changed as given (``None`` removes a claim)."""
    claims = jwt.decode(valid_token, options={"verify_signature": False})
    claims["jti"] = uuid.uuid4().hex
    for name, value in overrides.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def sign(claims: dict[str, Any], private_key: Any, kid: str, **header: Any) -> str:
    """A correctly signed EdDSA token with extra header fields."""
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers={"kid": kid, **header})


def unsigned(claims: dict[str, Any], kid: str) -> str:
    """``alg: none``."""
    return f"{segment({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{segment(claims)}."


def hs256_with(claims: dict[str, Any], secret: bytes, kid: str) -> str:
    """HS256 with a secret the attacker knows (e.g. the public key): key confusion."""
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': kid})}.{segment(claims)}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def attacker_key() -> tuple[Any, dict[str, str]]:
    """A fresh Ed25519 key pair and its public JWK."""
    private = Ed25519PrivateKey.generate()
    public = jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return private, public


def now() -> int:
    """Seconds since the epoch."""
    return int(time.time())
