"""Password hashing with argon2id, off the event loop, in constant-ish time."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from devgen.services.identity.settings import IdentitySettings


class Passwords:
    """Hashes and checks passwords with the configured argon2id parameters."""

    def __init__(self, settings: IdentitySettings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Checked when the e-mail is unknown, so that answer takes as long as a real check.
        self._decoy_hash = self._hasher.hash("devgen-decoy-password")

    async def hash(self, password: str) -> str:
        """An argon2id hash of ``password`` (computed in a worker thread)."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` matches; checks a decoy when there is no hash."""
        target = password_hash or self._decoy_hash
        try:
            await asyncio.to_thread(self._hasher.verify, target, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether the hash was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(password_hash)
