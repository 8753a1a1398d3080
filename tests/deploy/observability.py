"""Metric names in Prometheus queries, and the names the code really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "devgen"
DEPLOY = ROOT / "deploy"
RULE_FILES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
# Grafana's own variables, replaced by a duration before the query reaches Prometheus.
_GRAFANA_RANGES = ("$__rate_interval", "$__range", "$__interval")
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


def alert_rules() -> list[dict[str, Any]]:
    """Every alerting rule of the Prometheus rule files."""
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def dashboard_queries() -> list[str]:
    """Every panel query of the Grafana dashboards, Grafana's range variables filled in."""
    queries = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for variable in _GRAFANA_RANGES:
                    expr = expr.replace(variable, "5m")
                queries.append(expr)
    return queries
