"""Prometheus collectors of the event machinery, created on first use."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import Counter, Gauge, Histogram

from devgen.kit.metrics import REGISTRY


@dataclass(frozen=True)
class EventMetrics:
    """Published, handled and dead-lettered events, by service."""

    published: Counter
    publish_failures: Counter
    handled: Counter
    dead_lettered: Counter
    dead_letters: Gauge
    handle_seconds: Histogram
    outbox_lag: Gauge


@lru_cache(maxsize=1)
def event_metrics() -> EventMetrics:
    """The process's event collectors, created once."""
    return EventMetrics(
        published=Counter(
            "devgen_events_published",
            "Events the relay published and the bus confirmed.",
            ("service",),
            registry=REGISTRY,
        ),
        publish_failures=Counter(
            "devgen_events_publish_failures",
            "Relay publish attempts that failed (retried with back-off).",
            ("service",),
            registry=REGISTRY,
        ),
        handled=Counter(
            "devgen_events_handled",
            "Events a consumer finished, by outcome (handled, duplicate, failed).",
            ("service", "outcome"),
            registry=REGISTRY,
        ),
        dead_lettered=Counter(
            "devgen_events_dead_lettered",
            "Events moved to the dead letters after their last failed attempt.",
            ("service", "type"),
            registry=REGISTRY,
        ),
        dead_letters=Gauge(
            "devgen_events_dead_letters",
            "Dead letters waiting for a replay (in-process bus).",
            ("service",),
            registry=REGISTRY,
        ),
        handle_seconds=Histogram(
            "devgen_events_batch_seconds",
            "Time to handle one batch of events in one transaction.",
            ("service",),
            registry=REGISTRY,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        ),
        outbox_lag=Gauge(
            "devgen_events_outbox_lag_seconds",
            "Age of the oldest event waiting in the outbox for the relay to publish it.",
            ("service",),
            registry=REGISTRY,
        ),
    )
