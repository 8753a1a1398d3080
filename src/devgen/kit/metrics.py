"""Prometheus metrics shared by every service in the process.

Collectors are created on first use, not at import, and carry a ``service``
label so one process hosting every service (all-in-one) still tells them
apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)


@dataclass(frozen=True)
class HttpMetrics:
    """Request count and latency by service, method, route template and status."""

    requests: Counter
    latency: Histogram


@lru_cache(maxsize=1)
def http_metrics() -> HttpMetrics:
    """The process's HTTP collectors, created once."""
    labels = ("service", "method", "route", "status")
    return HttpMetrics(
        requests=Counter(
            "devgen_http_requests", "HTTP requests handled.", labels, registry=REGISTRY
        ),
        latency=Histogram(
            "devgen_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            labels,
            registry=REGISTRY,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        ),
    )


@lru_cache(maxsize=1)
def breaker_transitions() -> Counter:
    """Circuit-breaker state changes by target service and the state entered."""
    return Counter(
        "devgen_breaker_transitions",
        "Circuit-breaker state changes (open, half_open, closed) by target service.",
        ("target", "state"),
        registry=REGISTRY,
    )
