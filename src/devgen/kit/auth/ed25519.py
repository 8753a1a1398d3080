"""Ed25519 signing keys as services store and publish them: PEM at rest, JWK in public.

Identity signs access tokens and audit signs checkpoints with the same kind
of key. The private half is kept as PKCS#8 PEM in the service's database,
encrypted (PKCS#8 ``ENCRYPTED PRIVATE KEY``) with ``DEVGEN_KEY_ENCRYPTION_KEY``
when one is configured, so a copy of the database alone signs nothing.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import SecretStr

ALGORITHM = "EdDSA"
_ENCRYPTED_MARKER = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


class KeyEncryptionError(ValueError):
    """A stored private key cannot be opened with the configured key-encryption key."""


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as JOSE writes bytes."""
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    """The bytes of unpadded base64url ``text``."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_jwk(private: Ed25519PrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK (RFC 8037 ``OKP``/``Ed25519``) of ``private``, named ``kid``."""
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": ALGORITHM}


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """The verification key of a JWK made by ``public_jwk``."""
    return Ed25519PublicKey.from_public_bytes(unb64url(str(jwk["x"])))


def private_pem(private: Ed25519PrivateKey, kek: SecretStr | None) -> str:
    """``private`` as PKCS#8 PEM, encrypted with ``kek`` when there is one."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(kek.get_secret_value().encode())
        if kek is not None
        else serialization.NoEncryption()
    )
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def is_encrypted(pem: str) -> bool:
    """Whether a stored PEM is encrypted."""
    return pem.lstrip().startswith(_ENCRYPTED_MARKER)


def load_private_pem(pem: str, kek: SecretStr | None) -> Ed25519PrivateKey:
    """The private key in ``pem``; ``KeyEncryptionError`` when ``kek`` cannot open it."""
    encrypted = is_encrypted(pem)
    if encrypted and kek is None:
        raise KeyEncryptionError(
            "a stored signing key is encrypted but DEVGEN_KEY_ENCRYPTION_KEY is not set"
        )
    password = kek.get_secret_value().encode() if encrypted and kek is not None else None
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=password)
    except ValueError as exc:
        raise KeyEncryptionError(
            "a stored signing key cannot be decrypted with DEVGEN_KEY_ENCRYPTION_KEY"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyEncryptionError("a stored signing key is not an Ed25519 key")
    return key


def reencrypted(pem: str, kek: SecretStr | None) -> str | None:
    """``pem`` protected as configured now, or None when it already is.

    A key stored before a key-encryption key was configured gets encrypted;
    the reverse (a configured key removed) is refused by ``load_private_pem``.
    """
    if kek is None or is_encrypted(pem):
        return None
    return private_pem(load_private_pem(pem, None), kek)
