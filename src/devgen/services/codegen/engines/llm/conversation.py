"""Ask until the answer is usable: bounded re-asks that send the problem back to the model."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog

from devgen.services.codegen.engines.llm.budget import Meter
from devgen.services.codegen.engines.llm.client import LLMClient
from devgen.services.codegen.engines.llm.errors import LLMOutputError
from devgen.services.codegen.engines.llm.parsing import OutputProblem
from devgen.services.codegen.engines.llm.protocols import Completion, Message

log = structlog.get_logger(__name__)

T = TypeVar("T")


async def ask(
    client: LLMClient,
    meter: Meter,
    *,
    system: str,
    prompt: str,
    read: Callable[[Completion], T],
    retries: int,
    max_tokens: int,
    what: str,
) -> T:
    """``read(answer)`` of the first answer it accepts, asking at most ``retries`` more times.

    When ``read`` raises :class:`OutputProblem`, the answer and the problem are added to
    the conversation and the model is asked again; after the last attempt
    :class:`LLMOutputError` says what was wrong with the final answer.
    """
    messages = [Message("user", prompt)]
    problem: OutputProblem | None = None
    for attempt in range(retries + 1):
        completion = await client.complete(system, messages, meter=meter, max_tokens=max_tokens)
        try:
            return read(completion)
        except OutputProblem as exc:
            problem = exc
            log.info("llm_output_refused", what=what, attempt=attempt + 1, problem=str(exc)[:300])
            messages = [
                *messages,
                # Anthropic refuses empty turns; the model must see what it sent anyway.
                Message("assistant", completion.text or "(empty answer)"),
                Message("user", str(exc)),
            ]
    raise LLMOutputError(
        f"The model gave no usable {what} in {retries + 1} answer(s): {problem}",
        details={"what": what, "answers": retries + 1, "last_problem": str(problem)},
    )
