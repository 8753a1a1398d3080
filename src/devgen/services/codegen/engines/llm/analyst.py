"""The analyst through a model: a requirement in, a spec validated against the schema out.

The model is given the spec's JSON Schema and answers JSON; the answer is checked with
:func:`validate_spec` and, while it fails, the model is asked again with every problem and
its path (``entities[1].fields[0].type: ...``), a bounded number of times.
"""

from __future__ import annotations

from devgen.services.codegen.analyst import AnalysisError, AnalysisResult, derive_user_stories
from devgen.services.codegen.engines.llm.budget import Meter
from devgen.services.codegen.engines.llm.client import LLMClient
from devgen.services.codegen.engines.llm.conversation import ask
from devgen.services.codegen.engines.llm.parsing import OutputProblem, extract_json
from devgen.services.codegen.engines.llm.prompts import ANALYST_SYSTEM, analyst_prompt
from devgen.services.codegen.engines.llm.protocols import Completion
from devgen.services.codegen.spec import ServiceSpec, SpecValidationError, validate_spec


class _NoEntities(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _read_spec(answer: Completion) -> ServiceSpec:
    data = extract_json(answer.text, truncated=answer.truncated)
    if isinstance(data, dict) and set(data) == {"error"}:
        raise _NoEntities(str(data["error"])[:500])
    try:
        return validate_spec(data)
    except SpecValidationError as exc:
        problems = "\n".join(f"- {p.path or '<root>'}: {p.message}" for p in exc.problems[:50])
        raise OutputProblem(
            f"The spec is not valid:\n{problems}\nReply with the whole corrected spec as JSON."
        ) from exc


async def analyze_with_llm(
    client: LLMClient,
    meter: Meter,
    requirement: str,
    *,
    retries: int,
    max_tokens: int,
) -> AnalysisResult:
    """The spec of ``requirement`` as the model reads it, with user stories derived if missing.

    Raises :class:`AnalysisError` when the model finds nothing to store, and the LLM
    errors (:class:`LLMOutputError` when it never produces a valid spec).
    """
    try:
        spec = await ask(
            client,
            meter,
            system=ANALYST_SYSTEM,
            prompt=analyst_prompt(requirement, ServiceSpec.model_json_schema()),
            read=_read_spec,
            retries=retries,
            max_tokens=max_tokens,
            what="spec",
        )
    except _NoEntities as exc:
        raise AnalysisError(f"the model found no entity in the requirement: {exc.reason}") from exc
    if not spec.user_stories:
        spec = spec.model_copy(update={"user_stories": derive_user_stories(spec)})
    return AnalysisResult(source="llm", spec=spec)
