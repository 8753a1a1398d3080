"""Prometheus collectors of the main job: runs and steps by outcome and duration.

Outcomes are counted once their transaction has committed (a rolled-back
transition never happened), by step *type* (step ids are the workflow
author's, unbounded).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.commit_hooks import on_commit
from devgen.kit.metrics import REGISTRY

_DURATIONS = (0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)
_STEPS_KEY = "devgen.orchestrator.metrics.steps"
_RUNS_KEY = "devgen.orchestrator.metrics.runs"


@dataclass(frozen=True)
class RunMetrics:
    """Runs and steps finished (by state), their durations, steps running here."""

    runs_started: Counter
    runs_finished: Counter
    run_seconds: Histogram
    steps_finished: Counter
    step_seconds: Histogram
    steps_running: Gauge


@lru_cache(maxsize=1)
def run_metrics() -> RunMetrics:
    """The process's run collectors, created once."""
    return RunMetrics(
        runs_started=Counter(
            "devgen_runs_started", "Runs that began their first step.", registry=REGISTRY
        ),
        runs_finished=Counter(
            "devgen_runs_finished",
            "Runs that ended, by state (succeeded, failed, cancelled).",
            ("state",),
            registry=REGISTRY,
        ),
        run_seconds=Histogram(
            "devgen_run_duration_seconds",
            "Time from a run's start to its end, by state.",
            ("state",),
            registry=REGISTRY,
            buckets=_DURATIONS,
        ),
        steps_finished=Counter(
            "devgen_steps_finished",
            "Step attempts that ended, by step type and state (succeeded, failed, retrying…).",
            ("type", "state"),
            registry=REGISTRY,
        ),
        step_seconds=Histogram(
            "devgen_step_duration_seconds",
            "Time a step attempt took, by step type and state.",
            ("type", "state"),
            registry=REGISTRY,
            buckets=_DURATIONS,
        ),
        steps_running=Gauge(
            "devgen_steps_running",
            "Steps this orchestrator process is running now.",
            registry=REGISTRY,
        ),
    )


def _count_steps(items: list[tuple[str, str, float | None]]) -> None:
    metrics = run_metrics()
    for step_type, state, seconds in items:
        metrics.steps_finished.labels(step_type, state).inc()
        if seconds is not None:
            metrics.step_seconds.labels(step_type, state).observe(seconds)


def _count_runs(items: list[tuple[str, float | None]]) -> None:
    metrics = run_metrics()
    for state, seconds in items:
        if state == "running":
            metrics.runs_started.inc()
            continue
        metrics.runs_finished.labels(state).inc()
        if seconds is not None:
            metrics.run_seconds.labels(state).observe(seconds)


def step_ended(session: AsyncSession, step_type: str, state: str, seconds: float | None) -> None:
    """Count a step attempt's end once ``session`` commits."""
    on_commit(session, _STEPS_KEY, _count_steps, (step_type, state, seconds))


def run_started(session: AsyncSession) -> None:
    """Count a run's start once ``session`` commits."""
    on_commit(session, _RUNS_KEY, _count_runs, ("running", None))


def run_ended(session: AsyncSession, state: str, seconds: float | None) -> None:
    """Count a run's end once ``session`` commits."""
    on_commit(session, _RUNS_KEY, _count_runs, (state, seconds))
