"""``contract``: schemathesis against the generated service, in the sandbox.

Every default check, in the phases of ``DEVGEN_ORCHESTRATOR_CONTRACT_PHASES`` (by default
all four; the stateful one follows the OpenAPI links from a create
to the routes of the created row), shared out over ``DEVGEN_ORCHESTRATOR_CONTRACT_PROCESSES``
schemathesis processes run at once. The result goes into the report (``REPORT.md``,
``report.json``); a server error (5xx) then fails the run (``CONTRACT_SERVER_ERROR``, see
``lifecycle``), its artifact kept as the report of what went wrong, as with failing tests.
The step itself fails only when schemathesis could not run.

In the default workflow it runs beside ``validate`` and ``test`` (it needs only the
generated files), so its time overlaps theirs; a ``repair`` that changes the files checks
the contract again on what it hands over (:func:`check_contract`), and that result is the
one packaged and judged.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from devgen.services.orchestrator.contract import (
    REPORT_FILE,
    contract_command,
    contract_files,
    summarise_contract,
)
from devgen.services.orchestrator.steps.base import StepContext, StepError, StepOutcome
from devgen.services.orchestrator.steps.testing import execute_body, execute_once
from devgen.services.orchestrator.steps.types import ContractOptions

SERVED_APP = "app/main.py"


async def check_contract(
    context: StepContext,
    files: Mapping[str, str],
    *,
    label: str = "contract",
    options: ContractOptions | None = None,
) -> dict[str, Any] | None:
    """Run schemathesis on ``files`` once for ``label`` in this attempt.

    Returns the step outputs ``contract`` and ``contract_verdict``, or ``None`` when the
    project has no app to serve. Raises ``CONTRACT_NOT_RUN`` when schemathesis could not run.
    """
    if SERVED_APP not in files:
        return None
    settings = context.settings
    max_examples = settings.orchestrator_contract_max_examples
    phases = settings.orchestrator_contract_phases
    wall = settings.orchestrator_contract_wall_time_seconds
    if options is not None:
        max_examples = options.max_examples or max_examples
        phases = options.phases or phases
        wall = options.wall_time_seconds or wall
    # The same run checks the same cases again (a retried attempt, a takeover).
    seed = zlib.crc32(str(context.run_id).encode())
    body = execute_body(
        context,
        contract_files(files),
        wall,
        # Time left for schemathesis to stop and report before the sandbox's limit.
        command=contract_command(
            max_examples=max_examples,
            seed=seed,
            budget_seconds=max(wall - 15, wall / 2),
            phases=phases,
            processes=settings.orchestrator_contract_processes,
        ),
        collect=[REPORT_FILE],
    )
    body["limits"]["cpu_time_s"] = min(settings.orchestrator_contract_cpu_time_seconds, wall)
    body["limits"]["cpus"] = float(settings.orchestrator_contract_processes)
    execution = await execute_once(context, body, label=label, what="contract")
    result = summarise_contract(execution, max_examples=max_examples, seed=seed)
    result["execution_id"] = execution["id"]
    if not result["ran"]:
        raise StepError(
            "CONTRACT_NOT_RUN",
            f"The contract check could not run: {result['problem']}.",
            details={"execution_id": execution["id"], "output": result["output"][-2000:]},
        )
    await context.progress(
        "contract checked", summary=result["summary_line"], failures=result["failure_count"]
    )
    # The count on its own: small enough to stay inline for the run's verdict.
    verdict = {key: result[key] for key in ("server_errors", "server_error_operations")}
    return {"contract": result, "contract_verdict": verdict}


class ContractStep:
    """Runs schemathesis once per attempt against the project's app."""

    async def run(self, context: StepContext) -> StepOutcome:
        """Check the ``files`` input against its own OpenAPI document."""
        files: dict[str, str] = dict(await context.input("files"))
        options = context.options if isinstance(context.options, ContractOptions) else None
        output = await check_contract(context, files, options=options)
        if output is None:
            return StepOutcome.skip(f"the project has no {SERVED_APP} to serve")
        return StepOutcome(output=output)
