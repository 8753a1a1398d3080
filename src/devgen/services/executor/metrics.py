"""Prometheus collectors of the executor: its queue, what runs, and the sandbox's verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import Counter, Gauge

from devgen.kit.metrics import REGISTRY


@dataclass(frozen=True)
class ExecutorMetrics:
    """Queue depth and running executions (this process), verdicts of finished ones."""

    queued: Gauge
    running: Gauge
    verdicts: Counter


@lru_cache(maxsize=1)
def executor_metrics() -> ExecutorMetrics:
    """The process's executor collectors, created once."""
    return ExecutorMetrics(
        queued=Gauge(
            "devgen_executor_queue_depth",
            "Executions waiting for a sandbox in this executor process.",
            registry=REGISTRY,
        ),
        running=Gauge(
            "devgen_executor_running",
            "Executions running in a sandbox in this executor process.",
            registry=REGISTRY,
        ),
        verdicts=Counter(
            "devgen_sandbox_verdicts",
            "Executions that ended, by verdict (succeeded, failed, timeout, killed…).",
            ("verdict",),
            registry=REGISTRY,
        ),
    )
