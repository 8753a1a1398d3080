"""Prometheus collectors of codegen's LLM engine: tokens and what they cost."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import Counter

from devgen.kit.metrics import REGISTRY


@dataclass(frozen=True)
class LLMMetrics:
    """Completions, tokens (input, output) and cost, by model."""

    calls: Counter
    tokens: Counter
    cost: Counter


@lru_cache(maxsize=1)
def llm_metrics() -> LLMMetrics:
    """The process's LLM collectors, created once."""
    return LLMMetrics(
        calls=Counter(
            "devgen_llm_calls",
            "Completions the LLM endpoint answered.",
            ("model",),
            registry=REGISTRY,
        ),
        tokens=Counter(
            "devgen_llm_tokens",
            "Tokens spent, by model and direction (input, output).",
            ("model", "direction"),
            registry=REGISTRY,
        ),
        cost=Counter(
            "devgen_llm_cost_usd",
            "What the completions cost, in US dollars, at the configured prices.",
            ("model",),
            registry=REGISTRY,
        ),
    )


def record_completion(model: str, input_tokens: int, output_tokens: int, cost_usd: float) -> None:
    """Count one completion."""
    metrics = llm_metrics()
    metrics.calls.labels(model).inc()
    metrics.tokens.labels(model, "input").inc(input_tokens)
    metrics.tokens.labels(model, "output").inc(output_tokens)
    metrics.cost.labels(model).inc(cost_usd)
