"""Codegen's rules: analyse, generate, validate, repair, around the libraries.

CPU-bound work (the English reader, the template engine, ruff and bandit in subprocesses)
runs in worker threads bounded by ``state.workers``, so the event loop keeps serving and a
burst of requests queues instead of forking tools without limit. LLM work is I/O and runs
on the loop. Nothing is stored: the only write is the event that records a generation.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, NoReturn, TypeVar

import anyio
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.client import ServiceClients
from devgen.kit.db import record_and_raise
from devgen.kit.errors import DevgenError, ValidationFailed
from devgen.services.codegen import events
from devgen.services.codegen.analyst import AnalysisError, AnalysisResult, analyze_spec
from devgen.services.codegen.analyst import analyze as read_requirement
from devgen.services.codegen.engines import (
    LANGUAGES,
    TEMPLATES,
    GeneratedProject,
    GenerationError,
    generate,
)
from devgen.services.codegen.engines.hybrid import Extension, HybridEngine, HybridProject
from devgen.services.codegen.engines.llm import (
    Failure,
    LLMEngine,
    LLMError,
    LLMNotConfiguredError,
    LLMProject,
    Meter,
    analyze_with_llm,
)
from devgen.services.codegen.engines.llm.activity import following
from devgen.services.codegen.engines.llm.documents import ROLES, Role
from devgen.services.codegen.errors import (
    analysis_failed,
    generation_failed,
    invalid_spec,
    llm_failed,
)
from devgen.services.codegen.files import path_problem
from devgen.services.codegen.limits import (
    check_budget,
    check_files,
    check_requirement,
    check_spec,
)
from devgen.services.codegen.progress import ProgressRecorder
from devgen.services.codegen.schemas import (
    AnalyzeRead,
    AnalyzeRequest,
    BudgetIn,
    BudgetRead,
    BuildPlanRead,
    Engine,
    ExtensionRead,
    GenerateRead,
    GenerateRequest,
    LanguageRead,
    PlannedFileRead,
    RefusalRead,
    RepairRead,
    RepairRequest,
    SpecSchemaRead,
    TemplateRead,
    TestResultRead,
    TestsRead,
    UsageRead,
    ValidateRead,
    ValidateRequest,
)
from devgen.services.codegen.spec import (
    SPEC_VERSION,
    ServiceSpec,
    SpecValidationError,
    build_plan,
    spec_json_schema,
)
from devgen.services.codegen.state import CodegenState
from devgen.services.codegen.validation import (
    Diagnostic,
    SandboxLimits,
    Severity,
    TestOutcome,
    TestRun,
    TestStatus,
    run_tests,
    static_diagnostics,
)
from devgen.services.codegen.validation.sandbox import skipped

log = structlog.get_logger(__name__)
T = TypeVar("T")
ProgressKey = tuple[uuid.UUID, str]
"""A tenant and the caller's ``Idempotency-Key``: under which a generation's progress is kept."""


async def _in_worker(state: CodegenState, function: Callable[[], T]) -> T:
    return await anyio.to_thread.run_sync(function, limiter=state.workers)


def spec_schema() -> SpecSchemaRead:
    """The spec's JSON Schema and the version it describes."""
    return SpecSchemaRead(spec_version=SPEC_VERSION, json_schema=spec_json_schema())


def templates(state: CodegenState) -> list[TemplateRead]:
    """The template catalog, with the engines this server offers for each."""
    engines: list[Any] = ["template", "llm", "hybrid"] if state.llm is not None else ["template"]
    return [
        TemplateRead(
            name=info.name,
            language=info.language,
            description=info.description,
            generates=list(info.generates),
            engines=engines,
        )
        for info in TEMPLATES.values()
    ]


def languages() -> list[LanguageRead]:
    """The languages some template generates."""
    return [
        LanguageRead(
            name=info.name,
            description=info.description,
            templates=[t.name for t in TEMPLATES.values() if t.language == info.name],
        )
        for info in LANGUAGES.values()
    ]


def _llm(state: CodegenState) -> LLMEngine:
    if state.llm is None:
        raise llm_failed(
            LLMNotConfiguredError(
                "No LLM endpoint is configured on this server (DEVGEN_LLM_BASE_URL); "
                "use the template engine."
            )
        )
    return state.llm


def _meter(engine: LLMEngine, budget: BudgetIn | None, state: CodegenState) -> Meter:
    wanted = check_budget(budget, state.llm_settings)
    return engine.meter(max_tokens=wanted.max_tokens, max_cost_usd=wanted.max_cost_usd)


def _usage(meter: Meter, model: str) -> UsageRead:
    usage = meter.usage
    return UsageRead(
        model=model,
        calls=usage.calls,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cost_usd=round(usage.cost_usd, 6),
        reasoning_tokens=usage.reasoning_tokens,
        billed_failures=usage.billed_failures,
        budget=BudgetRead(
            max_tokens=meter.budget.max_tokens, max_cost_usd=meter.budget.max_cost_usd
        ),
    )


def _analysis_read(result: AnalysisResult, usage: UsageRead | None = None) -> AnalyzeRead:
    return AnalyzeRead(
        source=result.source,
        spec=result.spec,
        user_stories=result.user_stories,
        acceptance_criteria=result.acceptance_criteria,
        unparsed=result.unparsed,
        assumptions=result.assumptions,
        will_build=BuildPlanRead.model_validate(build_plan(result.spec)),
        not_implemented=result.spec.not_implemented,
        usage=usage,
    )


async def analyze(state: CodegenState, body: AnalyzeRequest) -> AnalyzeRead:
    """A requirement into a spec, user stories and acceptance criteria (nothing stored)."""
    if body.spec is not None:
        try:
            spec_result = await _in_worker(state, functools.partial(analyze_spec, body.spec))
        except SpecValidationError as exc:
            raise invalid_spec(exc) from None
        return _analysis_read(spec_result)
    assert body.requirement is not None
    check_requirement(body.requirement, state.settings)
    if body.engine == "llm":
        engine = _llm(state)
        meter = _meter(engine, body.budget, state)
        settings = state.llm_settings
        try:
            result = await analyze_with_llm(
                engine.client,
                meter,
                body.requirement,
                retries=settings.llm_output_retries,
                max_tokens=settings.llm_max_output_tokens,
            )
        except AnalysisError as exc:
            raise analysis_failed(exc) from None
        except LLMError as exc:
            raise llm_failed(exc) from None
        return _analysis_read(result, _usage(meter, engine.client.model))
    try:
        result = await _in_worker(state, functools.partial(read_requirement, body.requirement))
    except SpecValidationError as exc:
        raise invalid_spec(exc) from None
    except AnalysisError as exc:
        raise analysis_failed(exc) from None
    return _analysis_read(result)


async def _record_failure(
    session: AsyncSession,
    error: DevgenError,
    generation_id: uuid.UUID,
    *,
    operation: events.Operation,
    engine: str,
    data: dict[str, Any],
) -> NoReturn:
    """Keep the failure event, then fail the request with ``error``."""

    async def record(session: AsyncSession) -> None:
        await events.generation_failed(
            session,
            generation_id,
            operation=operation,
            engine=engine,
            code=error.code,
            message=error.message,
            data=data,
        )

    await record_and_raise(session, record, error)


async def generate_project(
    session: AsyncSession,
    state: CodegenState,
    body: GenerateRequest,
    *,
    progress: ProgressKey | None = None,
) -> GenerateRead:
    """A project from a spec, with the engine asked for; the event records the outcome.

    ``progress`` (the tenant and the request's ``Idempotency-Key``): where the model's
    progress is kept while it works (:mod:`.progress`), for ``GET /codegen/progress``.
    """
    spec = check_spec(body.spec, state.settings)
    generation_id = uuid.uuid4()
    facts: dict[str, Any] = {"template": body.template, "language": body.language}
    started = time.perf_counter()
    try:
        read = await _generate(state, spec, body, generation_id, progress)
    except GenerationError as exc:
        await _record_failure(
            session,
            generation_failed(exc),
            generation_id,
            operation="generate",
            engine=body.engine,
            data=facts,
        )
    except LLMError as exc:
        await _record_failure(
            session,
            llm_failed(exc),
            generation_id,
            operation="generate",
            engine=body.engine,
            data=facts,
        )
    await events.generation_completed(
        session,
        generation_id,
        operation="generate",
        engine=body.engine,
        data={
            **facts,
            "spec_hash": read.spec_hash,
            "generator": read.generator,
            "generator_version": read.generator_version,
            "file_count": read.file_count,
            "total_bytes": read.total_bytes,
            "tests": len(read.tests),
            "seconds": round(time.perf_counter() - started, 3),
            "usage": read.usage.model_dump() if read.usage else None,
            "documents": _documents_facts(read),
        },
    )
    return read


def _documents_facts(read: GenerateRead) -> dict[str, Any] | None:
    """What the roles left, in figures (the documents themselves stay out of the event)."""
    documents = read.documents
    if documents is None:
        return None
    return {
        "roles": list(documents.roles),
        "open_questions": len(documents.brief.open_questions) if documents.brief else None,
        "review_rounds": len(documents.review.rounds) if documents.review else None,
        "review_verdict": documents.review.verdict if documents.review else None,
        "problems": [p.document for p in documents.problems],
    }


@contextlib.asynccontextmanager
async def _followed(
    state: CodegenState, progress: ProgressKey | None, meter: Meter
) -> AsyncIterator[None]:
    """Record the model's progress inside the block when the caller can ask for it."""
    if progress is None or state.database is None:
        yield
        return
    recorder = ProgressRecorder(
        state.database, progress[0], progress[1], meter, interval=state.progress_interval
    )
    recorder.start()
    try:
        with following(recorder):
            yield
    finally:
        await recorder.close()


async def _generate(
    state: CodegenState,
    spec: ServiceSpec,
    body: GenerateRequest,
    generation_id: uuid.UUID,
    progress: ProgressKey | None = None,
) -> GenerateRead:
    if body.engine == "hybrid":
        engine = _llm(state)
        meter = _meter(engine, body.budget, state)
        async with _followed(state, progress, meter):
            built = await HybridEngine(engine).generate(
                spec,
                meter=meter,
                requirement=body.requirement,
                language=body.language,
                template=body.template,
                roles=_roles(state, body),
            )
        return _generated(
            generation_id, built, engine="hybrid", usage=_usage(meter, built.model)
        ).model_copy(
            update={
                "extensions": [ExtensionRead(**e.as_dict()) for e in built.extensions],
                "protected": built.protected,
                "template_tests": list(built.template_tests),
                "documents": built.documents,
            }
        )
    if body.engine == "llm":
        engine = _llm(state)
        meter = _meter(engine, body.budget, state)
        async with _followed(state, progress, meter):
            written = await engine.generate(
                spec,
                meter=meter,
                language=body.language,
                template=body.template,
                requirement=body.requirement,
                roles=_roles(state, body),
            )
        return _generated(
            generation_id,
            written,
            engine="llm",
            plan=[PlannedFileRead(path=f.path, purpose=f.purpose) for f in written.plan.files],
            usage=_usage(meter, written.model),
        ).model_copy(update={"documents": written.documents})
    rendered = await _in_worker(
        state, functools.partial(generate, spec, language=body.language, template=body.template)
    )
    return _generated(generation_id, rendered, engine="template")


def _roles(state: CodegenState, body: GenerateRequest) -> tuple[Role, ...]:
    """The roles asked for, else the server's ``DEVGEN_LLM_ROLES``, in the order they work."""
    wanted = state.llm_settings.roles if body.roles is None else body.roles
    return tuple(r for r in ROLES if r in wanted)


def _generated(
    generation_id: uuid.UUID,
    project: GeneratedProject | LLMProject | HybridProject,
    *,
    engine: Engine,
    plan: list[PlannedFileRead] | None = None,
    usage: UsageRead | None = None,
) -> GenerateRead:
    return GenerateRead(
        id=generation_id,
        files=project.files,
        engine=engine,
        template=project.template,
        language=project.language,
        generator=project.generator,
        generator_version=project.generator_version,
        spec_hash=project.spec_hash,
        tests=list(project.tests),
        file_count=len(project.files),
        total_bytes=sum(len(c.encode()) for c in project.files.values()),
        plan=plan,
        usage=usage,
    )


def _tests_read(run: TestRun) -> TestsRead:
    def count(outcome: TestOutcome) -> int:
        return sum(1 for r in run.results if r.outcome is outcome)

    return TestsRead(
        status=run.status,
        reason=run.reason,
        passed=count(TestOutcome.passed),
        failed=count(TestOutcome.failed),
        errors=count(TestOutcome.error),
        skipped=count(TestOutcome.skipped),
        results=[
            TestResultRead(
                id=r.id,
                outcome=r.outcome,
                duration_seconds=r.duration_seconds,
                message=r.message,
            )
            for r in run.results
        ],
        coverage_percent=run.coverage.percent if run.coverage else None,
        coverage_files=run.coverage.files if run.coverage else {},
        verdict=run.verdict,
        exit_code=run.exit_code,
        output=run.output,
    )


async def validate(
    state: CodegenState, clients: ServiceClients, body: ValidateRequest
) -> ValidateRead:
    """Static checks (in a worker) and the sandboxed tests (through the executor), together."""
    check_files(body.files, state.settings)
    settings = state.settings
    found: list[Diagnostic] = []
    run = skipped("not asked for")

    async def static() -> None:
        found.extend(await _in_worker(state, functools.partial(static_diagnostics, body.files)))

    async def tests() -> None:
        nonlocal run
        run = await run_tests(
            clients,
            body.files,
            environment=settings.codegen_test_environment,
            limits=SandboxLimits(
                wall_time_s=settings.codegen_test_wall_seconds,
                cpu_time_s=settings.codegen_test_cpu_seconds,
                memory_bytes=settings.codegen_test_memory_mib * 1024 * 1024,
            ),
        )

    async with anyio.create_task_group() as group:
        group.start_soon(static)
        if body.run_tests:
            group.start_soon(tests)
    diagnostics = [*found, *run.diagnostics]
    errors = sum(1 for d in diagnostics if d.severity is Severity.error)
    return ValidateRead(
        ok=errors == 0 and run.status in {TestStatus.passed, TestStatus.skipped},
        errors=errors,
        warnings=sum(1 for d in diagnostics if d.severity is Severity.warning),
        diagnostics=diagnostics,
        tests=_tests_read(run),
    )


async def repair(session: AsyncSession, state: CodegenState, body: RepairRequest) -> RepairRead:
    """The LLM engineer rewrites the files the failures point at; the event records it."""
    check_files(body.files, state.settings)
    spec = check_spec(body.spec, state.settings) if body.spec is not None else None
    errors = [
        {"location": f"files_to_fix[{index}]", "message": problem}
        for index, path in enumerate(body.files_to_fix or [])
        if (problem := path_problem(path)) is not None
    ]
    if len(body.failures) > state.settings.codegen_max_failures:
        errors.append(
            {"location": "failures", "message": f"at most {state.settings.codegen_max_failures}"}
        )
    if errors:
        raise ValidationFailed("The repair request is not valid.", details={"errors": errors})
    engine = _llm(state)
    meter = _meter(engine, body.budget, state)
    repair_id = uuid.uuid4()
    if body.engine == "hybrid":
        return await _repair_hybrid(session, engine, meter, body, repair_id)
    try:
        result = await engine.repair(
            body.files,
            meter=meter,
            failures=[Failure(f.test, f.file, f.message) for f in body.failures],
            output=body.output,
            spec=spec,
            targets=body.files_to_fix,
        )
    except GenerationError as exc:
        await _record_failure(
            session, generation_failed(exc), repair_id, operation="repair", engine="llm", data={}
        )
    except LLMError as exc:
        await _record_failure(
            session,
            llm_failed(exc),
            repair_id,
            operation="repair",
            engine="llm",
            data={"usage": meter.usage.as_dict()},
        )
    usage = _usage(meter, engine.client.model)
    await events.generation_completed(
        session,
        repair_id,
        operation="repair",
        engine="llm",
        data={"targets": result.targets, "changed": result.changed, "usage": usage.model_dump()},
    )
    return RepairRead(
        id=repair_id,
        files=result.files,
        targets=result.targets,
        changed=result.changed,
        usage=usage,
    )


async def _repair_hybrid(
    session: AsyncSession,
    engine: LLMEngine,
    meter: Meter,
    body: RepairRequest,
    repair_id: uuid.UUID,
) -> RepairRead:
    """One hybrid round: the extensions are rewritten, protected files refused."""
    try:
        result = await HybridEngine(engine).repair(
            body.files,
            meter=meter,
            protected=body.protected or {},
            extensions=[Extension.from_dict(e.model_dump()) for e in body.extensions or []],
            failures=[Failure(f.test, f.file, f.message) for f in body.failures],
            output=body.output,
            requirement=body.requirement,
        )
    except GenerationError as exc:
        await _record_failure(
            session, generation_failed(exc), repair_id, operation="repair", engine="hybrid", data={}
        )
    except LLMError as exc:
        await _record_failure(
            session,
            llm_failed(exc),
            repair_id,
            operation="repair",
            engine="hybrid",
            data={"usage": meter.usage.as_dict()},
        )
    usage = _usage(meter, engine.client.model)
    refused = [RefusalRead(**r.as_dict()) for r in result.refused]
    await events.generation_completed(
        session,
        repair_id,
        operation="repair",
        engine="hybrid",
        data={
            "targets": result.targets,
            "changed": result.changed,
            "refused": [r.model_dump() for r in refused],
            "usage": usage.model_dump(),
        },
    )
    return RepairRead(
        id=repair_id,
        files=result.files,
        targets=result.targets,
        changed=result.changed,
        usage=usage,
        refused=refused,
        extensions=[ExtensionRead(**e.as_dict()) for e in result.extensions],
    )
