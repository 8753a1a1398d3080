"""Metric names in Prometheus queries, and the names the code really exports."""

from __future__ import annotations

import re
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "devgen"
# What prometheus_client appends to a collector's name in the exposition.
_SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")
_METRIC = re.compile(r"\bdevgen_[a-z0-9_]+\b")


def metric_names_in(text: str) -> set[str]:
    """Every ``devgen_*`` metric a query (or a file of queries) refers to."""
    return set(_METRIC.findall(text))


def exported_collectors() -> set[str]:
    """The names of the collectors the code creates (string literals under src/)."""
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        found |= set(re.findall(r"\"(devgen_[a-z0-9_]+)\"", path.read_text()))
    return found


def collector_of(series: str) -> str:
    """The collector a series name comes from (``devgen_x_total`` -> ``devgen_x``)."""
    for suffix in _SUFFIXES:
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series
