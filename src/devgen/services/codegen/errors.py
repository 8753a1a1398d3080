"""Codegen's errors in the one error envelope, and how library failures map onto them."""

from __future__ import annotations

import math

from devgen.kit.errors import DevgenError, ServiceUnavailable, ValidationFailed
from devgen.services.codegen.analyst import AnalysisError
from devgen.services.codegen.engines import GenerationError
from devgen.services.codegen.engines.llm import (
    BudgetExceededError,
    LLMError,
    LLMNotConfiguredError,
    LLMOutputError,
    LLMUnavailableError,
)
from devgen.services.codegen.spec import SpecValidationError


class InvalidSpec(ValidationFailed):
    """The spec breaks the schema or a rule; ``details.problems`` lists each with its path."""

    code = "INVALID_SPEC"
    default_message = "The spec is not valid."


class AnalysisFailed(ValidationFailed):
    """The requirement could not be read into a spec; the analyst says why."""

    code = "ANALYSIS_FAILED"
    default_message = "The requirement could not be turned into a spec."


class GenerationFailed(ValidationFailed):
    """The engine refused the request (unknown template or language) or could not finish."""

    code = "GENERATION_FAILED"
    default_message = "The project could not be generated."


class BudgetExceeded(ValidationFailed):
    """The request's LLM budget cannot cover the next call; nothing more was spent."""

    code = "BUDGET_EXCEEDED"
    default_message = "The request's LLM budget is spent."


class LLMOutputInvalid(ValidationFailed):
    """The model never answered in a usable form, after the allowed re-asks."""

    code = "LLM_OUTPUT_INVALID"
    default_message = "The model did not produce usable output."


class LLMUnavailable(ServiceUnavailable):
    """The model's endpoint cannot be reached, keeps failing or refuses this server."""

    code = "LLM_UNAVAILABLE"
    default_message = "The LLM endpoint is unavailable."


class LLMNotConfigured(ServiceUnavailable):
    """This server has no LLM endpoint configured."""

    code = "LLM_NOT_CONFIGURED"
    default_message = "No LLM endpoint is configured on this server; use the template engine."


def invalid_spec(exc: SpecValidationError) -> InvalidSpec:
    """The API error of a refused spec, every problem with its path."""
    return InvalidSpec(
        f"The spec has {len(exc.problems)} problem(s).", details={"problems": exc.to_dict()}
    )


def analysis_failed(exc: AnalysisError) -> AnalysisFailed:
    """The API error of a requirement the analyst could not read."""
    return AnalysisFailed(
        f"The requirement could not be analysed: {exc.reason}",
        details={"unparsed": [u.model_dump() for u in exc.unparsed]},
    )


def generation_failed(exc: GenerationError) -> GenerationFailed:
    """The API error of a refused or failed generation."""
    return GenerationFailed(str(exc).splitlines()[0][:1000])


def llm_failed(exc: LLMError) -> DevgenError:
    """The API error of an LLM engine failure (each kind has its own code)."""
    if isinstance(exc, BudgetExceededError):
        return BudgetExceeded(exc.message, details=exc.details)
    if isinstance(exc, LLMOutputError):
        return LLMOutputInvalid(exc.message, details=exc.details)
    if isinstance(exc, LLMNotConfiguredError):
        return LLMNotConfigured(exc.message)
    if isinstance(exc, LLMUnavailableError):
        headers = {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        return LLMUnavailable(exc.message, details=exc.details, headers=headers)
    return DevgenError(exc.message)
