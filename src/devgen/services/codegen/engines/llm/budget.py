"""Token usage, cost and the hard budget of one request.

The budget is checked *before* each call, against the worst case that call could cost:
the prompt's tokens (estimated generously, three characters a token) plus the output
tokens it is allowed. The call's ``max_tokens`` is shrunk to what the budget has left, and
when not even a useful answer fits the call is refused, so a request never starts a call
that could take it past its budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from devgen.services.codegen.engines.llm.errors import BudgetExceededError

CHARS_PER_TOKEN_ESTIMATE = 3
MIN_USEFUL_OUTPUT_TOKENS = 256


@dataclass(frozen=True)
class Prices:
    """USD per 1000 tokens, input and output."""

    input_per_1k: float = 0.0
    output_per_1k: float = 0.0

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """What ``input_tokens`` in and ``output_tokens`` out cost."""
        return input_tokens / 1000 * self.input_per_1k + output_tokens / 1000 * self.output_per_1k


@dataclass(frozen=True)
class Budget:
    """The most a request may spend: tokens (in + out) and, when prices are set, USD."""

    max_tokens: int
    max_cost_usd: float


@dataclass
class Usage:
    """What a request has spent so far."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    reasoning_tokens: int = 0  # already inside output_tokens, shown apart
    billed_failures: int = 0  # timed-out or cut-off calls the provider still bills

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, float | int]:
        """Plain data for responses and error details."""
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "billed_failures": self.billed_failures,
            "cost_usd": round(self.cost_usd, 6),
        }


def estimate_tokens(text_length: int) -> int:
    """A generous estimate of the tokens of ``text_length`` characters."""
    return math.ceil(text_length / CHARS_PER_TOKEN_ESTIMATE)


@dataclass
class Meter:
    """Counts one request's usage against its budget."""

    budget: Budget
    prices: Prices = field(default_factory=Prices)
    usage: Usage = field(default_factory=Usage)

    def allowance(self, prompt_chars: int, wanted_output_tokens: int) -> int:
        """The ``max_tokens`` the next call may use; raises when not even a useful answer fits."""
        prompt_tokens = estimate_tokens(prompt_chars)
        by_tokens = self.budget.max_tokens - self.usage.total_tokens - prompt_tokens
        allowed = min(wanted_output_tokens, by_tokens)
        if self.prices.output_per_1k > 0 or self.prices.input_per_1k > 0:
            left = self.budget.max_cost_usd - self.usage.cost_usd
            left -= self.prices.cost(prompt_tokens, 0)
            if self.prices.output_per_1k > 0:
                allowed = min(allowed, math.floor(left / self.prices.output_per_1k * 1000))
            elif left < 0:
                allowed = 0
        if allowed < min(MIN_USEFUL_OUTPUT_TOKENS, wanted_output_tokens):
            raise BudgetExceededError(
                "The request's LLM budget is spent: the next call could exceed it, so it was "
                "not made.",
                details={
                    "budget": {
                        "max_tokens": self.budget.max_tokens,
                        "max_cost_usd": self.budget.max_cost_usd,
                    },
                    "usage": self.usage.as_dict(),
                    "next_call_prompt_tokens_estimate": prompt_tokens,
                },
            )
        return allowed

    def record(self, input_tokens: int, output_tokens: int, *, reasoning_tokens: int = 0) -> None:
        """Add one answered call's usage (as the provider reported it).

        ``reasoning_tokens`` are part of ``output_tokens`` (billed as output), counted
        apart so a report can show what the model spent thinking.
        """
        self.usage.calls += 1
        self._add(input_tokens, output_tokens)
        self.usage.reasoning_tokens += reasoning_tokens

    def record_failure(self, input_tokens: int, output_tokens: int) -> None:
        """Add what a call that gave no usable answer may still be billed (estimated)."""
        self.usage.billed_failures += 1
        self._add(input_tokens, output_tokens)

    def _add(self, input_tokens: int, output_tokens: int) -> None:
        self.usage.input_tokens += input_tokens
        self.usage.output_tokens += output_tokens
        self.usage.cost_usd += self.prices.cost(input_tokens, output_tokens)
