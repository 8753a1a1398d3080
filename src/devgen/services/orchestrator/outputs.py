"""Step outputs: small values inline in the task, large ones in storage by reference.

A generated project is a hundred kilobytes or more; keeping every version
of it in the orchestrator's rows would bloat them and every read of a run.
An output value whose JSON is larger than ``DEVGEN_ORCHESTRATOR_INLINE_OUTPUT_BYTES``
is uploaded to storage as a JSON file and replaced by a reference::

    {"$ref": "storage:file", "file_id": "...", "sha256": "...", "size": 123456}

The upload is labelled with the run and a key derived from the step and
attempt; a step taken over after a crash finds its earlier upload by that
label instead of storing the value twice. Once the run has ended, every
upload labelled with it is deleted (:meth:`OutputStore.remove_run`): the
artifact is what stays.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx

from devgen.services.orchestrator.calls import CallFailed, ServiceCaller

REF_MARKER = "storage:file"
FILES_PATH = "/api/v1/files"
RUN_LABEL = "devgen-run"
KEY_LABEL = "devgen-output"


def is_ref(value: Any) -> bool:
    """Whether ``value`` is a reference to an output kept in storage."""
    return isinstance(value, dict) and value.get("$ref") == REF_MARKER


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True).encode()


def _multipart(name: str, body: bytes, labels: dict[str, str]) -> tuple[bytes, str]:
    request = httpx.Request(
        "POST",
        "http://storage.internal/",
        files={"file": (name, body, "application/json")},
        data={"labels": json.dumps(labels)},
    )
    return request.read(), request.headers["Content-Type"]


class OutputStore:
    """Puts large output values into storage and reads them back."""

    def __init__(self, services: ServiceCaller, inline_bytes: int) -> None:
        self._services = services
        self._inline_bytes = inline_bytes

    async def externalise(self, output: dict[str, Any], *, run_id: str, key: str) -> dict[str, Any]:
        """``output`` with each too-large value replaced by a reference."""
        kept: dict[str, Any] = {}
        for name, value in output.items():
            body = _encode(value)
            if len(body) <= self._inline_bytes or is_ref(value):
                kept[name] = value
                continue
            kept[name] = await self._upload(body, run_id=run_id, key=f"{key}-{name}")
        return kept

    async def resolve(self, value: Any) -> Any:
        """The value behind a reference (anything else as it is)."""
        if not is_ref(value):
            return value
        response = await self._services.request(
            "storage", "GET", f"{FILES_PATH}/{value['file_id']}/content"
        )
        if response.status_code != 200:
            raise CallFailed(
                "storage",
                response.status_code,
                "OUTPUT_UNAVAILABLE",
                f"A step output kept in storage could not be read (HTTP {response.status_code}).",
                retryable=response.status_code >= 500,
            )
        if hashlib.sha256(response.content).hexdigest() != value["sha256"]:
            raise CallFailed(
                "storage", 200, "OUTPUT_CORRUPT", "A stored step output changed.", retryable=False
            )
        return json.loads(response.content)

    async def remove_run(self, run_id: str) -> int:
        """Delete every output kept in storage for ``run_id``; how many were deleted.

        Found by the run's label, so uploads no task recorded (a crash between
        upload and commit) go too. What is already gone counts as deleted.
        """
        removed = 0
        while True:
            found = await self._services.call(
                "storage",
                "GET",
                FILES_PATH,
                params=[("label", f"{RUN_LABEL}={run_id}"), ("limit", "100")],
            )
            if not found:
                return removed
            for item in found:
                await self._services.call(
                    "storage", "DELETE", f"{FILES_PATH}/{item['id']}", expect=(204, 404)
                )
                removed += 1

    async def _upload(self, body: bytes, *, run_id: str, key: str) -> dict[str, Any]:
        digest = hashlib.sha256(body).hexdigest()
        labels = {RUN_LABEL: run_id, KEY_LABEL: key[:256]}
        found = await self._services.call(
            "storage",
            "GET",
            FILES_PATH,
            params=[
                ("label", f"{KEY_LABEL}={labels[KEY_LABEL]}"),
                ("label", f"{RUN_LABEL}={run_id}"),
            ],
        )
        for item in found or []:
            if item["sha256"] == digest:
                return _ref(item)
        content, content_type = _multipart(f"{key[:200]}.json", body, labels)
        stored = await self._services.call(
            "storage",
            "POST",
            FILES_PATH,
            content=content,
            headers={"Content-Type": content_type},
        )
        return _ref(stored)


def _ref(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "$ref": REF_MARKER,
        "file_id": item["id"],
        "sha256": item["sha256"],
        "size": item["size"],
    }
