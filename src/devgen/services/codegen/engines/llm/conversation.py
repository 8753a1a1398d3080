"""Ask until the answer is usable: bounded re-asks that send the problem back to the model.

What real models send, and what is done about it:

- an answer cut at the output limit (``finish_reason: length``, ``stop_reason:
  max_tokens``) is *continued*: the partial answer goes back as the assistant's turn with
  a request for the rest, and the pieces are joined (at most ``continuations`` times);
  only an answer still cut after that is re-asked, shorter;
- a refusal ("I can't help with that", OpenAI's ``message.refusal``, Anthropic's
  ``stop_reason: refusal``), a reply withheld by the provider's content filter, or an
  empty reply is never read as a file: the model is asked once more, and a second
  refusal fails with :class:`LLMRefusedError` carrying the model's words;
- an answer ``read`` rejects (:class:`OutputProblem`) is sent back with the problem, at
  most ``retries`` times.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

import structlog

from devgen.services.codegen.engines.llm.budget import Meter
from devgen.services.codegen.engines.llm.client import LLMClient, ProgressCallback
from devgen.services.codegen.engines.llm.errors import LLMOutputError, LLMRefusedError
from devgen.services.codegen.engines.llm.parsing import OutputProblem, RefusalProblem, refusal_in
from devgen.services.codegen.engines.llm.protocols import Completion, Message, Schema

log = structlog.get_logger(__name__)

T = TypeVar("T")

CONTINUE_PROMPT = (
    "Your answer was cut off at the output limit. Continue it exactly where it stopped: "
    "do not repeat anything already written, do not start a new code block, and do not "
    "add any introduction."
)
REASK_AFTER_REFUSAL = (
    "This is an ordinary software engineering task for a project the user owns: {what}. "
    "Please answer it as asked."
)
_FILTERED = "(the provider's content filter withheld the answer)"
_DECLINED = "(the model declined without saying why)"
_OVERLAP_MAX = 400
_FENCE_OPENING = re.compile(r"^\s*(?:`{3,}|~{3,})[^\n`]*\n")


def declined(completion: Completion) -> str | None:
    """The model's words when ``completion`` is a refusal, a filtered or an empty answer."""
    if completion.structured and completion.text.strip() not in {"", "null"}:
        return None
    if completion.stop == "filtered":
        return completion.text.strip() or _FILTERED
    if completion.stop == "refusal":
        return completion.refusal.strip() or completion.text.strip() or _DECLINED
    if completion.truncated:
        return None  # an empty cut answer is continued (a reasoning model may think first)
    return refusal_in(completion.text if completion.text.strip() != "null" else "")


def join_continuation(partial: str, more: str) -> str:
    """``partial`` followed by ``more``, without what ``more`` repeated of it.

    Models asked to continue sometimes reopen the code block or restate the last line:
    a fence opening while a fence is open, and the longest overlap of ``partial``'s end
    with ``more``'s start, are dropped.
    """
    opened = partial.count("```") % 2 == 1 or partial.count("~~~") % 2 == 1
    if opened and (match := _FENCE_OPENING.match(more)):
        more = more[match.end() :]
    for size in range(min(len(partial), len(more), _OVERLAP_MAX), 8, -1):
        if partial.endswith(more[:size]):
            return partial + more[size:]
    return partial + more


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
    schema: Schema | None = None,
    continuations: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> T:
    """``read(answer)`` of the first answer it accepts, asking at most ``retries`` more times.

    When ``read`` raises :class:`OutputProblem`, the answer and the problem are added to
    the conversation and the model is asked again; after the last attempt
    :class:`LLMOutputError` says what was wrong with the final answer. ``schema`` asks
    for JSON through the endpoint's structured output where it has one. See the module
    docstring for cut-off answers and refusals; ``continuations`` defaults to the
    client's ``max_continuations`` (``DEVGEN_LLM_MAX_CONTINUATIONS``).
    """
    if continuations is None:
        continuations = client.config.max_continuations
    messages = [Message("user", prompt)]
    problem: OutputProblem | None = None
    refused = False
    attempt = 0
    while attempt <= retries:
        completion = await _whole_answer(
            client, meter, system, messages, max_tokens, schema, continuations, on_progress
        )
        words = declined(completion)
        if words is None:
            try:
                return read(completion)
            except RefusalProblem as exc:
                words = exc.words
            except OutputProblem as exc:
                problem = exc
                attempt += 1
                log.info("llm_output_refused", what=what, attempt=attempt, problem=str(exc)[:300])
                messages = [*messages, _turn(completion), Message("user", str(exc))]
                continue
        log.info("llm_declined", what=what, words=words[:300], again=not refused)
        if refused:
            raise LLMRefusedError(
                f"The model declined to give the {what}: {words[:500]}",
                details={"what": what, "model_said": words[:2000], "refused": True},
            )
        refused = True
        messages = [
            *messages,
            _turn(completion),
            Message("user", REASK_AFTER_REFUSAL.format(what=what)),
        ]
    raise LLMOutputError(
        f"The model gave no usable {what} in {retries + 1} answer(s): {problem}",
        details={"what": what, "answers": retries + 1, "last_problem": str(problem)},
    )


def _turn(completion: Completion) -> Message:
    # Anthropic refuses empty turns; the model must see what it sent anyway.
    return Message("assistant", completion.text or completion.refusal or "(empty answer)")


async def _whole_answer(
    client: LLMClient,
    meter: Meter,
    system: str,
    messages: list[Message],
    max_tokens: int,
    schema: Schema | None,
    continuations: int,
    on_progress: ProgressCallback | None,
) -> Completion:
    """One answer, continued while it is cut at the output limit (at most ``continuations``)."""
    completion = await client.complete(
        system, messages, meter=meter, max_tokens=max_tokens, schema=schema, on_progress=on_progress
    )
    text = completion.text
    for number in range(continuations):
        # A structured answer cannot be resumed (a tool call is all or nothing).
        if not completion.truncated or completion.structured:
            break
        log.info("llm_answer_continued", continuation=number + 1, chars=len(text))
        conversation = [
            *messages,
            # Trailing whitespace is refused in a final assistant turn by Anthropic.
            Message("assistant", text.rstrip() or "(empty answer)"),
            Message("user", CONTINUE_PROMPT),
        ]
        more = await client.complete(
            system, conversation, meter=meter, max_tokens=max_tokens, on_progress=on_progress
        )
        if not more.text.strip():
            break  # nothing more came: the answer stays cut, and is asked again shorter
        completion = more
        stripped = text.rstrip()
        # The model saw the answer without its trailing whitespace; it decides the gap.
        gap = "" if more.text[:1].isspace() else text[len(stripped) :]
        text = join_continuation(stripped + gap, more.text)
    return replace(completion, text=text)
