"""JWKS caching, the authenticator's rules, and cursor pagination."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devgen.kit.auth.tokens import Authenticator, CachedJWKS
from devgen.kit.errors import Unauthorized, ValidationFailed
from devgen.kit.pagination import decode_cursor, encode_cursor


def _jwks(private, kid):
    public = jwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    return {"keys": [{**public, "kid": kid, "alg": "EdDSA", "use": "sig"}]}


class _Issuer:
    def __init__(self):
        self.private = Ed25519PrivateKey.generate()
        self.kid = "k1"
        self.fetches = 0

    async def fetch(self):
        self.fetches += 1
        return _jwks(self.private, self.kid)

    def token(self, kid=None, **claims):
        now = int(time.time())
        body = {
            "iss": "iss",
            "aud": "aud",
            "sub": str(uuid.uuid4()),
            "tid": str(uuid.uuid4()),
            "typ": "access",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
            "roles": ["member"],
            "scope": "read write",
            **claims,
        }
        return jwt.encode(body, self.private, algorithm="EdDSA", headers={"kid": kid or self.kid})


class _NoIntrospection:
    async def introspect(self, token):
        return None


def _authenticator(issuer, **kwargs):
    return Authenticator(
        CachedJWKS(issuer.fetch, min_refetch_seconds=kwargs.pop("min_refetch", 0)),
        _NoIntrospection(),
        issuer="iss",
        audience="aud",
    )


async def test_keys_are_fetched_once_and_tokens_verified_locally():
    issuer = _Issuer()
    auth = _authenticator(issuer)
    for _ in range(5):
        principal = await auth.authenticate(issuer.token())
    assert principal.roles == frozenset({"member"})
    assert principal.scopes == frozenset({"read", "write"})
    assert issuer.fetches == 1


async def test_unknown_kid_refetches_exactly_once():
    issuer = _Issuer()
    auth = _authenticator(issuer)
    await auth.authenticate(issuer.token())
    with pytest.raises(Unauthorized, match="unknown key"):
        await auth.authenticate(issuer.token(kid="rotated-in"))
    assert issuer.fetches == 2
    # After a rotation the new key is found by that one refetch.
    issuer.private, issuer.kid = Ed25519PrivateKey.generate(), "k2"
    await auth.authenticate(issuer.token())
    assert issuer.fetches == 3


async def test_refetch_is_rate_limited_against_floods_of_made_up_kids():
    issuer = _Issuer()
    auth = _authenticator(issuer, min_refetch=60)
    await auth.authenticate(issuer.token())
    for n in range(20):
        with pytest.raises(Unauthorized):
            await auth.authenticate(issuer.token(kid=f"made-up-{n}"))
    assert issuer.fetches == 1


async def test_api_key_without_introspection_answer_is_refused():
    auth = _authenticator(_Issuer())
    with pytest.raises(Unauthorized):
        await auth.authenticate("dgk_whatever")


def test_cursor_round_trip_and_foreign_cursor_is_a_validation_error():
    item = uuid.uuid4()
    assert decode_cursor(encode_cursor(42, item)) == (42, item)
    for bad in ("not base64!!", "eyJ4Ijox", encode_cursor(1, item)[:-3]):
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)


async def test_a_refused_api_key_is_not_introspected_again_at_once():
    asked: list[str] = []

    class Refusing:
        async def introspect(self, token: str):
            asked.append(token)
            return None

    class NoKeys:
        async def key_for(self, kid: str):
            return None

    authenticator = Authenticator(
        NoKeys(), Refusing(), issuer="i", audience="a", introspection_cache_seconds=5
    )
    for _ in range(50):
        with pytest.raises(Unauthorized):
            await authenticator.authenticate("dgk_made-up")
    assert asked == ["dgk_made-up"]
