"""What can go wrong talking to a model, each with the code the API reports it under."""

from __future__ import annotations

from typing import Any


class LLMError(Exception):
    """Base of the LLM engine's failures; ``code`` and ``details`` are for the API."""

    code = "LLM_ERROR"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class LLMNotConfiguredError(LLMError):
    """No model endpoint is configured on this server."""

    code = "LLM_NOT_CONFIGURED"


class LLMUnavailableError(LLMError):
    """The endpoint cannot be reached, keeps failing, rate-limits too long or refuses us."""

    code = "LLM_UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class LLMOutputError(LLMError):
    """The model kept answering in a form we cannot use, after every re-ask."""

    code = "LLM_OUTPUT_INVALID"


class BudgetExceededError(LLMError):
    """The next call could take the request past its token or cost budget: refused."""

    code = "BUDGET_EXCEEDED"


class LLMRefusedError(LLMOutputError):
    """The model declined (or said nothing, or its provider filtered the answer) twice.

    ``details["model_said"]`` carries the model's own words, so the run can show why.
    """
