"""Fixtures of the deployment tests."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"


@pytest.fixture(scope="module")
def production_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of deploy/k8s whose production overlay has the secrets.env an operator writes."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree, ignore=shutil.ignore_patterns("secrets.env"))
    (tree / "overlays" / "production" / "secrets.env").write_text(
        f"DEVGEN_SERVICE_SECRET={secrets.token_hex(32)}\n"
        "DEVGEN_DATABASE_URL=postgresql+asyncpg://devgen:pw@db:5432/devgen_{service}\n"
        "DEVGEN_BUS_URL=amqp://devgen:pw@mq:5672/\n"
    )
    return tree
