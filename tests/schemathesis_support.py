"""Run schemathesis against one service's OpenAPI, through the all-in-one platform.

The schema is the service's own; requests go through the gateway to it (the
paths are the same), so services that need identity (for its keys) work. A
registered user's token is provided for the authenticated operations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.python import asgi

from devgen.kit.settings import CoreSettings, DatabaseSettings, RateLimitSettings, Settings
from devgen.runtime.allinone import build_platform
from tests.helpers import PASSWORD, unique_email


def platform_schema(service: str, data_dir: Path) -> tuple[Any, dict[str, str]]:
    """The service's schema bound to a fresh platform, and auth headers for it."""
    settings = Settings(
        core=CoreSettings(env="test", data_dir=data_dir),
        database=DatabaseSettings(database_url=f"sqlite+aiosqlite:///{data_dir}/{{service}}.db"),
        rate_limit=RateLimitSettings(rate_limit_enabled=False),
    )
    platform = build_platform(settings, migrate_on_startup=True)
    document = dict(platform.state.upstream_apps[service].openapi())
    # Internal endpoints are not routed by the gateway (their own tests call the service).
    document["paths"] = {
        path: item for path, item in document["paths"].items() if not path.startswith("/internal/")
    }
    schema = schemathesis.openapi.from_dict(document)
    schema.app = platform
    email = unique_email("fuzz")
    with asgi.get_client(platform) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        login = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        token = login.json()["data"]["access_token"]
    return schema.exclude(path_regex=r"^/(health|ready|metrics)$"), {
        "Authorization": f"Bearer {token}"
    }


def credentials_for(case: Any, headers: dict[str, str]) -> dict[str, str]:
    """The auth headers to send with ``case``: none when the case mutated its headers.

    A negative case that drops the required ``Authorization`` header must go
    out without it (and get its 401); adding the token back would turn it
    into a valid request that the server rightly accepts.
    """
    meta = case.meta
    if meta is not None and meta.is_negative_at(ParameterLocation.HEADER):
        return {}
    return headers
