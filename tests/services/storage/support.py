"""Helpers storage's tests share: uploads, zips, accounts, and a look inside the blob store."""

from __future__ import annotations

import functools
import io
import os
import socket
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
from moto.server import ThreadedMotoServer

from tests.helpers import Account, add_member, login, register

MIB = 1024 * 1024
FILES = "/api/v1/files"
ARTIFACTS = "/api/v1/artifacts"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class S3StandIn:
    """moto's S3 in server mode on a free loopback port: a stand-in for real S3."""

    access_key = "testing"
    secret_key = "testing"  # moto accepts any credentials

    def __init__(self) -> None:
        self.port = _free_port()
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def environment(self, bucket: str) -> dict[str, str]:
        """Storage settings pointing at a new bucket on this server."""
        return {
            "DEVGEN_STORAGE_BACKEND": "s3",
            "DEVGEN_S3_BUCKET": bucket,
            "DEVGEN_S3_ENDPOINT_URL": self.endpoint,
            "DEVGEN_S3_REGION": "us-east-1",
            "DEVGEN_S3_ACCESS_KEY_ID": self.access_key,
            "DEVGEN_S3_SECRET_ACCESS_KEY": self.secret_key,
            "DEVGEN_S3_ADDRESSING_STYLE": "path",
            "DEVGEN_S3_CREATE_BUCKET": "true",
        }

    @functools.cached_property
    def client(self) -> Any:
        """A plain boto3 client, to look at buckets without going through storage."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )


@dataclass
class BlobCounter:
    """Lists the keys of the stored blobs, whichever backend holds them."""

    list_keys: Callable[[], set[str]]

    @classmethod
    def for_directory(cls, root: Path) -> BlobCounter:
        return cls(lambda: {p.name for p in root.rglob("*") if p.is_file()})

    @classmethod
    def for_s3(cls, server: S3StandIn, storage_app: Any) -> BlobCounter:
        bucket = storage_app.state.storage.store.bucket
        client = server.client

        def keys() -> set[str]:
            listing = client.list_objects_v2(Bucket=bucket)
            return {item["Key"].rsplit("/", 1)[-1] for item in listing.get("Contents", [])}

        return cls(keys)

    def keys(self) -> set[str]:
        return self.list_keys()

    def count(self) -> int:
        return len(self.list_keys())


def upload(
    data: bytes,
    filename: str = "notes.txt",
    content_type: str = "text/plain",
    **fields: str,
) -> dict[str, Any]:
    """Keyword arguments for an httpx multipart upload of ``data``."""
    return {"files": {"file": (filename, data, content_type)}, "data": fields}


async def put_file(
    client: httpx.AsyncClient,
    who: Account | dict[str, str],
    data: bytes,
    filename: str = "notes.txt",
    content_type: str = "text/plain",
    **fields: str,
) -> httpx.Response:
    """``POST /api/v1/files`` as ``who`` (an account or auth headers)."""
    headers = who.headers if isinstance(who, Account) else who
    return await client.post(
        FILES, headers=headers, **upload(data, filename, content_type, **fields)
    )


async def stored(client: httpx.AsyncClient, who: Account, data: bytes, **kwargs: Any) -> dict:
    """Upload ``data`` and return the new file's metadata (fails the test otherwise)."""
    response = await put_file(client, who, data, **kwargs)
    assert response.status_code == 201, response.text
    body: dict = response.json()["data"]
    return body


def zip_bytes(entries: dict[str, bytes], **kwargs: Any) -> bytes:
    """A zip of ``entries`` written by Python's zipfile."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, **kwargs) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def random_bytes(size: int) -> bytes:
    """Incompressible bytes."""
    return os.urandom(size)


async def api_key(client: httpx.AsyncClient, account: Account, *scopes: str) -> dict[str, str]:
    """Auth headers with a new API key of ``account`` holding ``scopes``."""
    response = await client.post(
        "/api/v1/api-keys", json={"name": "script", "scopes": list(scopes)}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['data']['secret']}"}


async def _in_tenant(client: httpx.AsyncClient, account: Account, tenant_id: str) -> Account:
    tokens = await login(client, account.email, tenant_id=tenant_id)
    return Account(
        account.email,
        account.password,
        account.user_id,
        tenant_id,
        tokens["access_token"],
        tokens["refresh_token"],
    )


async def team(client: httpx.AsyncClient, *roles: str) -> dict[str, Account]:
    """A new team tenant: its owner and one member per role, each signed in to it."""
    owner = await register(client)
    created = await client.post("/api/v1/tenants", json={"name": "Team"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    team_id = created.json()["data"]["id"]
    people = {"owner": await _in_tenant(client, owner, team_id)}
    for role in roles:
        person = await register(client)
        await add_member(client, people["owner"], person, role)
        people[role] = await _in_tenant(client, person, team_id)
    return people
