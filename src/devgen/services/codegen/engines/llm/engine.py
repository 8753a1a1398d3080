"""The LLM engine: an architect plans the files, an engineer writes them one at a time.

- ``generate``: the architect answers a JSON file plan (validated, re-asked with the
  problems when it is not); the engineer then writes each planned file with the spec, the
  plan and the files already written as context. Every Python file must compile, every
  JSON/TOML/YAML file parse, or the engineer is asked again with the error. The files are
  finally laid out with ruff (imports sorted, formatted), like the template engine's.
- ``repair``: given a project and its failing tests, the engineer rewrites the files to
  fix: those the caller names, else those the failures mention, else those the architect
  names when asked.

Every call is charged to the request's :class:`Meter`; a call the budget cannot cover is
never made (:class:`BudgetExceededError`).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from anyio import CapacityLimiter

from devgen.services.codegen.engines.llm.activity import working_on
from devgen.services.codegen.engines.llm.budget import Budget, Meter, Prices, Usage
from devgen.services.codegen.engines.llm.client import LLMClient
from devgen.services.codegen.engines.llm.conversation import ask
from devgen.services.codegen.engines.llm.documents import (
    Design,
    Documents,
    ReviewAnswer,
    Role,
)
from devgen.services.codegen.engines.llm.parsing import (
    OutputProblem,
    check_file,
    extract_code,
    extract_json,
)
from devgen.services.codegen.engines.llm.plan import FilePlan, parse_plan
from devgen.services.codegen.engines.llm.prompts import (
    ENGINEER_SYSTEM,
    TRIAGE_SYSTEM,
    architect_prompt,
    architect_system,
    engineer_prompt,
    failures_text,
    project_context,
    repair_prompt,
    review_fix_prompt,
    review_text,
    triage_prompt,
)
from devgen.services.codegen.engines.llm.protocols import Completion, Schema
from devgen.services.codegen.engines.llm.roles import (
    Reviewed,
    RoleContext,
    ask_review,
    review_rounds,
    write_brief,
    write_design,
)
from devgen.services.codegen.engines.llm.settings import LLMSettings
from devgen.services.codegen.engines.postprocess import PostprocessError, finish
from devgen.services.codegen.engines.template import (
    LANGUAGES,
    TEMPLATES,
    GenerationError,
    spec_hash,
)
from devgen.services.codegen.files import is_test_file, path_problem
from devgen.services.codegen.spec import ServiceSpec

log = structlog.get_logger(__name__)

GENERATOR_NAME = "devgen-llm-engine"
GENERATOR_VERSION = "1.0.0"
_MAX_REPAIR_TARGETS = 10
_FAILURES_CHARS = 20_000


@dataclass(frozen=True)
class Failure:
    """One failing test (or a failure of the whole run): where, and what it said."""

    test: str | None = None
    file: str | None = None
    message: str = ""


@dataclass(frozen=True)
class LLMProject:
    """The files the LLM wrote, the plan they follow, and what they cost."""

    files: dict[str, str]
    plan: FilePlan
    usage: Usage
    model: str
    template: str
    language: str
    spec_hash: str
    tests: tuple[str, ...]
    generator: str = GENERATOR_NAME
    generator_version: str = GENERATOR_VERSION
    documents: Documents | None = None


@dataclass(frozen=True)
class RepairResult:
    """The project after a repair: every file, which changed, and the usage."""

    files: dict[str, str]
    targets: list[str]
    changed: list[str]
    usage: Usage


def collect_test_ids(files: Mapping[str, str]) -> tuple[str, ...]:
    """pytest node ids of the test functions in ``files`` (``tests/test_x.py::test_y``)."""
    ids: list[str] = []
    for path in sorted(files):
        name = path.rsplit("/", 1)[-1]
        if not (path.endswith(".py") and name.startswith("test_")):
            continue
        try:
            tree = ast.parse(files[path])
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.name.startswith("test"):
                    ids.append(f"{path}::{node.name}")
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                ids.extend(
                    f"{path}::{node.name}::{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                    and item.name.startswith("test")
                )
    return tuple(ids)


def mentioned_paths(paths: Sequence[str], texts: Sequence[str]) -> list[str]:
    """Which of ``paths`` appear in ``texts`` (tracebacks name files; test ids too)."""
    found: list[str] = []
    for path in sorted(paths, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w/.-]){re.escape(path)}(?![\w/-])")
        if any(pattern.search(text) for text in texts):
            found.append(path)
    return sorted(found, key=list(paths).index)


def _prompt_spec(spec: ServiceSpec) -> dict[str, Any]:
    """The spec as the model sees it: explicit (defaults filled in), with the user stories,
    their acceptance criteria and the sentences not implemented: what the code must do."""
    data: dict[str, Any] = spec.model_dump(mode="json", exclude={"user_stories"})
    # Stories as sentences, criteria as their text: the JSON form (ids of the tests that
    # check each criterion) would quadruple every prompt and tell the model nothing more.
    data["user_stories"] = [
        {
            "id": story.id,
            "story": story.text,
            "acceptance_criteria": [c.text for c in story.acceptance_criteria],
        }
        for story in spec.user_stories
    ]
    return data


def _design_plan(design: Design, max_files: int) -> FilePlan:
    """The design's file plan, held to the plain plan's rules (raises ``OutputProblem``)."""
    return parse_plan(
        {"files": [f.model_dump() for f in design.files], "notes": design.notes},
        max_files=max_files,
    )


class LLMEngine:
    """Generation and repair through one chat model."""

    def __init__(
        self,
        client: LLMClient,
        settings: LLMSettings,
        *,
        limiter: CapacityLimiter | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self._limiter = limiter

    @property
    def limiter(self) -> CapacityLimiter | None:
        """The worker-thread limiter CPU-bound steps (ruff, rendering) run under."""
        return self._limiter

    @property
    def prices(self) -> Prices:
        """The configured prices."""
        return Prices(self.settings.llm_price_input_per_1k, self.settings.llm_price_output_per_1k)

    def meter(self, *, max_tokens: int | None = None, max_cost_usd: float | None = None) -> Meter:
        """A fresh meter for one request, with the default budget where none is given."""
        budget = Budget(
            max_tokens=max_tokens if max_tokens is not None else self.settings.llm_budget_tokens,
            max_cost_usd=(
                max_cost_usd if max_cost_usd is not None else self.settings.llm_budget_usd
            ),
        )
        return Meter(budget=budget, prices=self.prices)

    async def generate(
        self,
        spec: ServiceSpec,
        *,
        meter: Meter,
        language: str = "python",
        template: str = "fastapi-service",
        requirement: str | None = None,
        roles: Sequence[Role] = (),
    ) -> LLMProject:
        """Plan, then write every planned file; see the module docstring.

        ``requirement`` (the text the spec was read from) is shown to the architect and to
        each engineer: the spec cannot say everything the requirement does. ``roles``
        (:mod:`.roles`): the product manager writes a brief first; the architect's design
        (class diagram, API list, file plan) replaces the plain file plan; the reviewer
        reviews the written project, and its ``change`` verdicts feed engineer rounds.
        """
        info = TEMPLATES.get(template)
        if language not in LANGUAGES:
            raise GenerationError(f"unknown language {language!r}; known: {sorted(LANGUAGES)}")
        if info is None:
            raise GenerationError(f"unknown template {template!r}; known: {sorted(TEMPLATES)}")
        if info.language != language:
            raise GenerationError(
                f"template {template!r} generates {info.language}, not {language}"
            )
        data = _prompt_spec(spec)
        max_files = self.settings.llm_max_plan_files
        context = RoleContext(self.client, self.settings, meter, data, requirement, roles)
        if "product_manager" in roles:
            with working_on("product_manager", "brief"):
                await write_brief(context)
        design: Design | None = None
        if "architect" in roles:

            def check(found: Design) -> None:
                _design_plan(found, max_files)

            with working_on("architect", "design"):
                design = await write_design(
                    context, template=template, generates=info.generates, check=check
                )
        if design is not None:
            plan = _design_plan(design, max_files)
        else:
            with working_on("architect", "file plan"):
                plan = await self._plan(data, template, info.generates, requirement, meter)
        log.info("llm_plan", files=len(plan.files), usage=meter.usage.as_dict())
        written: dict[str, str] = {}
        for entry in plan.files:
            written[entry.path] = await self._write(
                prompt=engineer_prompt(
                    data, plan, entry, written, self.settings.llm_context_chars, requirement
                ),
                path=entry.path,
                meter=meter,
            )
        files = await self._lay_out(written)
        documents: Documents | None = None
        if roles:
            review = None
            if "reviewer" in roles:
                reviewed = await self._reviewed(context, files)
                files, review = reviewed.state, reviewed.review
            documents = Documents(
                roles=list(roles),
                brief=context.brief,
                design=design,
                review=review,
                problems=context.problems,
            )
        return LLMProject(
            files=dict(sorted(files.items())),
            plan=plan,
            usage=meter.usage,
            model=self.client.model,
            template=template,
            language=language,
            spec_hash=spec_hash(spec),
            tests=collect_test_ids(files),
            documents=documents,
        )

    async def _plan(
        self,
        data: dict[str, Any],
        template: str,
        generates: Sequence[str],
        requirement: str | None,
        meter: Meter,
    ) -> FilePlan:
        """The architect's plain file plan (when no design gives one)."""
        max_files = self.settings.llm_max_plan_files
        return await ask(
            self.client,
            meter,
            system=architect_system(max_files),
            prompt=architect_prompt(data, template, generates, requirement),
            read=lambda answer: parse_plan(
                extract_json(answer.text, truncated=answer.truncated), max_files=max_files
            ),
            retries=self.settings.llm_output_retries,
            max_tokens=self.settings.llm_max_output_tokens,
            what="file plan",
            schema=Schema("file_plan", FilePlan.model_json_schema()),
        )

    async def _reviewed(
        self, context: RoleContext, files: dict[str, str]
    ) -> Reviewed[dict[str, str]]:
        """The review rounds over the whole project (the engine wrote every file)."""
        limit = self.settings.llm_context_chars

        rounds = [0]  # the round the fixes answer (review_rounds passes it to review only)

        async def review(current: dict[str, str], number: int) -> ReviewAnswer:
            rounds[0] = number
            with working_on("reviewer", "review", round=number):
                return await ask_review(
                    context,
                    work=project_context(current, [], limit),
                    changeable=sorted(current),
                    round_number=number,
                )

        async def fix(
            current: dict[str, str], answer: ReviewAnswer
        ) -> tuple[dict[str, str], list[str]]:
            text = review_text(
                answer.verdict, answer.reasons, [c.model_dump() for c in answer.changes]
            )
            changed = dict(current)
            targets = list(dict.fromkeys(c.path for c in answer.changes))
            for path in targets:
                changed[path] = await self._write(
                    prompt=review_fix_prompt(context.spec, path, text, changed, limit),
                    path=path,
                    meter=context.meter,
                    doing="review fix",
                    round=rounds[0],
                )
            changed.update(await self._lay_out({p: changed[p] for p in targets}))
            return changed, [p for p in targets if current.get(p) != changed[p]]

        return await review_rounds(
            context, files, review=review, fix=fix, max_rounds=self.settings.llm_review_rounds
        )

    async def repair(
        self,
        files: Mapping[str, str],
        *,
        meter: Meter,
        failures: Sequence[Failure],
        output: str = "",
        spec: ServiceSpec | None = None,
        targets: Sequence[str] | None = None,
    ) -> RepairResult:
        """Rewrite the files that make ``failures`` fail; the other files are kept as they are."""
        report = failures_text(
            [{"test": f.test, "file": f.file, "message": f.message} for f in failures],
            output,
            _FAILURES_CHARS,
        )
        chosen = (
            list(targets)
            if targets
            else await self._targets(files, failures, output, report, meter)
        )
        missing = [p for p in chosen if p not in files and path_problem(p) is not None]
        if missing:
            raise GenerationError(f"cannot repair {missing}: not valid project paths")
        data = _prompt_spec(spec) if spec else None
        repaired = dict(files)
        for path in chosen:
            repaired[path] = await self._write(
                prompt=repair_prompt(data, path, report, repaired, self.settings.llm_context_chars),
                path=path,
                meter=meter,
                doing="repair",
            )
        laid_out = await self._lay_out({p: repaired[p] for p in chosen})
        repaired.update(laid_out)
        changed = [p for p in chosen if files.get(p) != repaired[p]]
        return RepairResult(
            files=dict(sorted(repaired.items())), targets=chosen, changed=changed, usage=meter.usage
        )

    async def _targets(
        self,
        files: Mapping[str, str],
        failures: Sequence[Failure],
        output: str,
        report: str,
        meter: Meter,
    ) -> list[str]:
        """The files to fix: named by the failures, else chosen by the architect."""
        named = [f.file for f in failures if f.file and f.file in files]
        texts = [output, *(f.message for f in failures), *(f.test or "" for f in failures)]
        mentioned = [*named, *(p for p in mentioned_paths(list(files), texts) if p not in named)]
        application = [p for p in mentioned if not is_test_file(p)]
        if application:
            return application[:_MAX_REPAIR_TARGETS]

        def read(answer: Completion) -> list[str]:
            data = extract_json(answer.text, truncated=answer.truncated)
            chosen = data.get("files") if isinstance(data, dict) else None
            if (
                not isinstance(chosen, list)
                or not chosen
                or not all(isinstance(p, str) for p in chosen)
            ):
                raise OutputProblem('Reply with {"files": ["path", ...]}, at least one path.')
            unknown = [p for p in chosen if p not in files]
            if unknown:
                raise OutputProblem(f"These files are not in the project: {unknown}.")
            return list(dict.fromkeys(chosen))[:_MAX_REPAIR_TARGETS]

        return await ask(
            self.client,
            meter,
            system=TRIAGE_SYSTEM,
            prompt=triage_prompt(list(files), report),
            read=read,
            retries=self.settings.llm_output_retries,
            max_tokens=min(self.settings.llm_max_output_tokens, 1024),
            what="list of files to fix",
        )

    async def _write(
        self,
        *,
        prompt: str,
        path: str,
        meter: Meter,
        doing: str = "file",
        round: int | None = None,
    ) -> str:
        def read(answer: Completion) -> str:
            content = extract_code(answer.text, path, truncated=answer.truncated)
            check_file(path, content)
            return content

        with working_on("engineer", doing, file=path, round=round):
            return await ask(
                self.client,
                meter,
                system=ENGINEER_SYSTEM,
                prompt=prompt,
                read=read,
                retries=self.settings.llm_output_retries,
                max_tokens=self.settings.llm_max_output_tokens,
                what=f"content for {path}",
            )

    async def _lay_out(self, files: dict[str, str]) -> dict[str, str]:
        """Sort imports and format with ruff, as the template engine does (in a worker thread)."""
        job = functools.partial(finish, files, openapi_path=None)
        try:
            result: dict[str, Any] = await anyio.to_thread.run_sync(job, limiter=self._limiter)
        except PostprocessError as exc:
            log.warning("llm_layout_failed", error=str(exc)[:500])
            return files
        return result
