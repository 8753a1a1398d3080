"""The examples with rules, end to end over HTTP through one real ``devgen up``.

All runs are started at once (the executor runs the generated suites side by
side) and each is then checked: the run succeeded, its generated tests passed
in the sandbox, the contract held, the artifact downloads, the report is complete,
and audit has the run's events and verifies.

The six examples chosen carry every rule kind the examples have, both kinds of
authentication and a many-to-many link (checked below, so a new kind of rule in
an example must join them); the examples without rules are plain CRUD, their
suites are run by ``tests/services/codegen/test_example_suites.py``. Running all
fourteen here took a third of the suite's time for no further path through the
platform.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from devgen.services.codegen.engines.context import build_project
from devgen.services.codegen.spec import validate_spec
from tests.e2e.support import EXAMPLES, Process, User, all_in_one, example, example_names, sign_up

# Setting the module's runs up (every example's generated suite) counts against the first test;
# one xdist worker runs the module, so the examples run once, not once per worker.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200), pytest.mark.xdist_group("e2e-examples")]

REPORT_KEYS = {
    "report_version",
    "run",
    "requirement",
    "spec",
    "user_stories",
    "acceptance_criteria",
    "criteria_summary",
    "tests",
    "coverage",
    "validation",
    "unparsed",
    "assumptions",
    "engine",
    "usage",
    "repair",
    "timings",
    "files",
}


END_TO_END = ("blog", "fleet", "helpdesk", "inventory", "library", "todo")


def test_the_examples_run_end_to_end_cover_every_rule_kind_and_auth_mode() -> None:
    def features(name: str) -> set[str]:
        spec = json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8"))
        project = build_project(validate_spec(spec))
        auth = {"accounts"} if project.accounts else {"token"} if project.auth else {"open"}
        links = {"link"} if project.links else set()
        return {rule.kind for _, rule in project.rules} | auth | links

    every = set().union(*(features(name) for name in example_names()))
    assert set().union(*(features(name) for name in END_TO_END)) == every
    assert set(END_TO_END) <= set(example_names())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """One all-in-one platform for every example."""
    # As many sandboxes as cores: more would only slow each one down towards its wall-time
    # limit (waiting in the executor's queue does not count); the limits themselves are
    # raised for machines busy with other test suites: the 168 tests of `conference`
    # have run into the default 30 s of CPU time while the other test worker ran.
    process = all_in_one(
        tmp_path_factory.mktemp("examples"),
        DEVGEN_EXECUTOR_WORKERS=str(max(2, os.cpu_count() or 2)),
        DEVGEN_EXECUTOR_MAX_WALL_TIME_S="180",
        DEVGEN_ORCHESTRATOR_TEST_WALL_TIME_SECONDS="180",
        DEVGEN_EXECUTOR_MAX_CPU_TIME_S="120",
        DEVGEN_ORCHESTRATOR_TEST_CPU_TIME_SECONDS="120",
    )
    process.start()
    yield process
    process.stop()


@dataclass(frozen=True)
class Finished:
    """Who ran the examples and how each run ended."""

    url: str
    token: str
    tenant_id: str
    runs: dict[str, dict[str, Any]]


async def _run_every_example(url: str) -> Finished:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        user = await sign_up(http)
        names = list(END_TO_END)
        started = await asyncio.gather(*(user.start_run(requirement=example(n)) for n in names))
        done = await asyncio.gather(*(user.finished(run["id"], seconds=900) for run in started))
        return Finished(url, user.token, user.tenant_id, dict(zip(names, done, strict=True)))


@pytest.fixture(scope="module")
def finished(server: Process) -> Finished:
    """Every example's run, started together, once all have ended."""
    return asyncio.run(_run_every_example(server.url))


@pytest.fixture
async def user(finished: Finished) -> AsyncIterator[User]:
    """The user who started the runs, with a client of this test's own."""
    async with httpx.AsyncClient(base_url=finished.url, timeout=60) as http:
        yield User(http, "", finished.token, "", finished.tenant_id)


@pytest.mark.parametrize("name", END_TO_END)
async def test_the_example_becomes_a_tested_service(
    finished: Finished, user: User, name: str
) -> None:
    run = finished.runs[name]
    test_step = next(step for step in run["steps"] if step["step"] == "test")
    assert run["state"] == "succeeded", json.dumps([run["error"], test_step["output"]])
    assert run["tests"]["all_passed"] is True
    assert run["tests"]["total"] > 0
    assert run["tests"]["failed"] == run["tests"]["error"] == 0
    steps = {step["step"]: step["state"] for step in run["steps"]}
    assert steps == {
        "analyze": "succeeded",
        "generate": "succeeded",
        "validate": "succeeded",
        "test": "succeeded",
        "repair": "skipped",
        "contract": "succeeded",
        "package": "succeeded",
    }

    download = await user.http.get(run["artifact_url"], headers=user.headers)
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    report = json.loads(archive.read("report.json"))
    assert set(report) >= REPORT_KEYS
    assert "## User stories and acceptance criteria" in archive.read("REPORT.md").decode()
    assert set(report["files"]) <= set(archive.namelist())
    assert report["tests"]["all_passed"] is True
    assert len(report["tests"]["results"]) == run["tests"]["total"]
    criteria = report["acceptance_criteria"]
    assert criteria
    assert {c["status"] for c in criteria} <= {"passed", "untested"}
    assert all(c["tests"] for c in criteria if c["status"] == "passed")
    assert report["coverage"]["percent"] > 80
    assert {t["step"] for t in report["timings"]} >= {"analyze", "generate", "validate", "test"}
    assert report["engine"]["engine"] == "template"

    records = await user.audit_of(run["id"], until="orchestrator.run.succeeded")
    actions = [record["action"] for record in records]
    assert actions[0] == "orchestrator.run.created"
    # analyze, generate, validate, test, contract, package (repair is skipped)
    assert actions.count("orchestrator.step.succeeded") == 6
    assert all(record["tenant_id"] == user.tenant_id for record in records)


async def test_the_audit_chain_of_the_tenant_verifies(finished: Finished, user: User) -> None:
    report = await user.call("GET", "/api/v1/audit/verify")
    assert report["valid"] is True, report
