"""The roles that leave documents: product manager, architect (design) and reviewer.

Each role is one structured call (:func:`ask` with a JSON Schema): its answer is validated
by :mod:`documents`, re-asked once with the problems, and when still unusable reported as
a :class:`DocumentProblem` instead of stored. Every call is charged to the request's
meter. The review runs in rounds (:func:`review_rounds`): a ``change`` verdict feeds one
more engineer round, at most ``max_rounds`` times; a spent budget stops the rounds
cleanly, keeping the last complete project.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

import structlog

from devgen.services.codegen.engines.llm.budget import Meter
from devgen.services.codegen.engines.llm.client import LLMClient
from devgen.services.codegen.engines.llm.conversation import ask
from devgen.services.codegen.engines.llm.documents import (
    Design,
    DocumentProblem,
    ProductBrief,
    Review,
    ReviewAnswer,
    ReviewRound,
    Role,
    read_brief,
    read_design,
    read_review,
)
from devgen.services.codegen.engines.llm.errors import BudgetExceededError, LLMOutputError
from devgen.services.codegen.engines.llm.parsing import extract_json
from devgen.services.codegen.engines.llm.prompts import (
    brief_prompt,
    design_prompt,
    design_system,
    product_manager_system,
    review_prompt,
    reviewer_system,
)
from devgen.services.codegen.engines.llm.protocols import Completion, Schema
from devgen.services.codegen.engines.llm.settings import LLMSettings

log = structlog.get_logger(__name__)

S = TypeVar("S")
D = TypeVar("D")

DOCUMENT_RETRIES = 1
"""A malformed document is asked for once more, then reported."""

BUDGET_STOP = "the LLM budget is spent: the next call could exceed it, so it was not made"


@dataclass
class RoleContext:
    """What every role sees: the client and meter, the spec, the requirement, the brief."""

    client: LLMClient
    settings: LLMSettings
    meter: Meter
    spec: Mapping[str, Any]
    requirement: str | None
    roles: Collection[Role]
    brief: ProductBrief | None = None
    problems: list[DocumentProblem] = field(default_factory=list)

    @property
    def brief_data(self) -> dict[str, Any] | None:
        """The brief as JSON data, for the next roles' prompts."""
        return self.brief.model_dump(mode="json") if self.brief else None


async def _document(
    context: RoleContext,
    *,
    kind: Literal["brief", "design"],
    document: str,
    system: str,
    prompt: str,
    read: Callable[[Any], D],
    schema: Schema,
) -> D | None:
    """The document, or ``None`` with a problem recorded when the model gave none usable."""

    def parse(answer: Completion) -> D:
        return read(extract_json(answer.text, truncated=answer.truncated))

    try:
        return await ask(
            context.client,
            context.meter,
            system=system,
            prompt=prompt,
            read=parse,
            retries=DOCUMENT_RETRIES,
            max_tokens=context.settings.llm_max_output_tokens,
            what=document,
            schema=schema,
        )
    except LLMOutputError as exc:  # refusals included
        log.info("llm_document_unusable", document=document, error=exc.message[:300])
        context.problems.append(DocumentProblem(document=kind, message=exc.message))
        return None


async def write_brief(context: RoleContext) -> ProductBrief | None:
    """The product manager's brief (also kept on ``context`` for the next roles)."""
    context.brief = await _document(
        context,
        kind="brief",
        document="product brief",
        system=product_manager_system(),
        prompt=brief_prompt(context.spec, context.requirement),
        read=read_brief,
        schema=Schema("product_brief", ProductBrief.model_json_schema()),
    )
    return context.brief


async def write_design(
    context: RoleContext,
    *,
    template: str,
    generates: Sequence[str],
    built: Collection[str] = (),
    check: Callable[[Design], None] | None = None,
) -> Design | None:
    """The architect's design; ``built``: files the templates wrote (the hybrid engine's).

    ``check`` adds the caller's rules (the LLM engine's file-plan rules); an
    :class:`OutputProblem` it raises is sent back like the design's own.
    """
    entities = [str(e.get("name")) for e in context.spec.get("entities") or []]

    def read(data: Any) -> Design:
        design = read_design(data, entities=entities, known_paths=built)
        if check is not None:
            check(design)
        return design

    return await _document(
        context,
        kind="design",
        document="design",
        system=design_system(hybrid=bool(built), max_files=context.settings.llm_max_plan_files),
        prompt=design_prompt(
            context.spec,
            context.requirement,
            context.brief_data,
            template=template,
            generates=generates,
            built=sorted(built),
        ),
        read=read,
        schema=Schema("design", Design.model_json_schema()),
    )


async def ask_review(
    context: RoleContext, *, work: str, changeable: Sequence[str], round_number: int
) -> ReviewAnswer:
    """One review of ``work``; raises :class:`LLMOutputError` when none is usable."""
    return await ask(
        context.client,
        context.meter,
        system=reviewer_system(),
        prompt=review_prompt(
            context.spec,
            context.requirement,
            context.brief_data,
            work=work,
            changeable=changeable,
            round_number=round_number,
        ),
        read=lambda answer: read_review(
            extract_json(answer.text, truncated=answer.truncated), changeable=changeable
        ),
        retries=DOCUMENT_RETRIES,
        max_tokens=context.settings.llm_max_output_tokens,
        what="review",
        schema=Schema("review", ReviewAnswer.model_json_schema()),
    )


@dataclass
class Reviewed(Generic[S]):
    """The project after the review rounds, and the review document."""

    state: S
    review: Review


async def review_rounds(
    context: RoleContext,
    state: S,
    *,
    review: Callable[[S, int], Awaitable[ReviewAnswer]],
    fix: Callable[[S, ReviewAnswer], Awaitable[tuple[S, list[str]]]],
    max_rounds: int,
) -> Reviewed[S]:
    """Review, and while the verdict is ``change`` and rounds are left, fix and review again.

    ``fix`` is one engineer round: it returns the new state and the files it changed, or
    raises; ``state`` only ever moves to a round's complete result, so a round cut by the
    budget leaves the project as the last complete round made it.
    """
    rounds: list[ReviewRound] = []
    stopped: str | None = None
    number = 0
    while True:
        number += 1
        try:
            answer = await review(state, number)
        except BudgetExceededError:
            stopped = f"review round {number} not run: {BUDGET_STOP}"
            break
        except LLMOutputError as exc:
            context.problems.append(DocumentProblem(document="review", message=exc.message))
            stopped = f"review round {number}: the reviewer gave no usable review"
            break
        rounds.append(ReviewRound(**answer.model_dump(), round=number))
        log.info("llm_review", round=number, verdict=answer.verdict)
        if answer.verdict == "approve":
            break
        if number > max_rounds:
            stopped = (
                f"the reviewer still asks for changes after {max_rounds} engineer round(s) "
                "(DEVGEN_LLM_REVIEW_ROUNDS)"
            )
            break
        try:
            state, changed = await fix(state, answer)
        except BudgetExceededError:
            stopped = f"the engineer's round {number} after the review not finished: {BUDGET_STOP}"
            break
        except LLMOutputError as exc:
            stopped = f"the engineer gave no usable change after review {number}: {exc.message}"
            break
        rounds[-1] = rounds[-1].model_copy(update={"changed": changed})
    verdict = rounds[-1].verdict if rounds else None
    return Reviewed(state, Review(rounds=rounds, verdict=verdict, stopped=stopped))
