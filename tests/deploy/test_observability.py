"""The alert rules and dashboards: valid PromQL, on metrics the code exports."""

from __future__ import annotations

import json
from pathlib import Path

import promql_parser
import pytest
import yaml

from tests.deploy.observability import collector_of, exported_collectors, metric_names_in

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
RULE_FILES = sorted((DEPLOY / "prometheus" / "rules").glob("*.yml"))
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))
# Grafana's own variables, replaced by a duration before the query reaches Prometheus.
_GRAFANA_RANGES = ("$__rate_interval", "$__range", "$__interval")


def _rules() -> list[dict]:
    return [
        rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def _dashboard_queries() -> list[str]:
    queries = []
    for path in DASHBOARDS:
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                expr = target["expr"]
                for variable in _GRAFANA_RANGES:
                    expr = expr.replace(variable, "5m")
                queries.append(expr)
    return queries


def test_there_are_rules_and_dashboards():
    assert RULE_FILES
    assert DASHBOARDS
    assert len(_rules()) >= 4


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_valid_promql_with_a_summary(rule):
    promql_parser.parse(rule["expr"])
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]


def test_the_parser_refuses_broken_promql():
    with pytest.raises(ValueError, match="parenthesis"):
        promql_parser.parse("rate(devgen_http_requests_total[5m]")


@pytest.mark.parametrize("query", _dashboard_queries())
def test_every_dashboard_query_is_valid_promql(query):
    promql_parser.parse(query)


def test_queries_name_only_metrics_the_code_exports():
    text = "\n".join([rule["expr"] for rule in _rules()] + _dashboard_queries())
    exported = exported_collectors()

    unknown = {name for name in metric_names_in(text) if collector_of(name) not in exported}

    assert "devgen_http_requests" in exported  # a positive control for the scan
    assert not unknown, f"queries name metrics nothing exports: {sorted(unknown)}"
