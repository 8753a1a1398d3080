"""Recovery without a wait: the executor killed mid-run, the run done soon after it is back.

The distributed shape through the real gateway. While the run's tests run in
the sandbox, the executor is killed with SIGKILL and started again; the
orchestrator's circuit breaker, opened by the failed calls meanwhile, lets a
call through as soon as the executor answers its health check, the step runs
the tests again, and the run finishes within 8 s of the executor being back.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.distributed import distributed_platform
from tests.e2e.support import Process, example, sign_up
from tests.e2e.test_crash import _test_step_running

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.rabbitmq]

BACK_TO_DONE_SECONDS = 8.0


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[dict[str, Process]]:
    with distributed_platform(tmp_path, DEVGEN_LOG_LEVEL="INFO") as platform:
        yield platform


async def test_a_killed_executor_costs_the_run_no_more_than_8_s_once_it_is_back(
    platform: dict[str, Process],
) -> None:
    executor, orchestrator = platform["executor"], platform["orchestrator"]
    async with httpx.AsyncClient(base_url=platform["gateway"].url, timeout=60) as http:
        user = await sign_up(http)
        started = await user.start_run(requirement=example("library"))
        _, execution_id = await _test_step_running(user, started["id"])
        executor.kill()
        killed_at = time.monotonic()
        executor.start()  # returns once the executor answers /health
        back_at = time.monotonic()
        run = await user.finished(started["id"], seconds=120)
        done_at = time.monotonic()
        assert run["state"] == "succeeded", run["error"]
        executions = await user.call("GET", "/api/v1/executions", params={"limit": 50})
    verdicts = {e["id"]: e["verdict"] for e in executions}
    assert verdicts[execution_id] == "killed"
    assert run["tests"]["execution_id"] != execution_id
    print(  # the figures, for the record (pytest -s)
        f"executor down {back_at - killed_at:.1f} s; run done {done_at - back_at:.1f} s later"
    )
    assert done_at - back_at <= BACK_TO_DONE_SECONDS, orchestrator.log()[-4000:]
    # The breaker opened while the executor was down, and that was logged.
    assert '"circuit_breaker_changed"' in orchestrator.log()
