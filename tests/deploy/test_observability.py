"""The alert rules and dashboards: valid PromQL, on metrics the code exports."""

from __future__ import annotations

import promql_parser
import pytest

from tests.deploy.observability import (
    DASHBOARDS,
    RULE_FILES,
    alert_rules,
    collector_of,
    dashboard_queries,
    exported_collectors,
    metric_names_in,
)


def test_there_are_rules_and_dashboards():
    assert RULE_FILES
    assert DASHBOARDS
    assert len(alert_rules()) >= 4


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_is_valid_promql_with_a_summary(rule):
    promql_parser.parse(rule["expr"])
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]


def test_the_parser_refuses_broken_promql():
    with pytest.raises(ValueError, match="parenthesis"):
        promql_parser.parse("rate(devgen_http_requests_total[5m]")


@pytest.mark.parametrize("query", dashboard_queries())
def test_every_dashboard_query_is_valid_promql(query):
    promql_parser.parse(query)


def test_queries_name_only_metrics_the_code_exports():
    text = "\n".join([rule["expr"] for rule in alert_rules()] + dashboard_queries())
    exported = exported_collectors()

    unknown = {name for name in metric_names_in(text) if collector_of(name) not in exported}

    assert "devgen_http_requests" in exported  # a positive control for the scan
    assert not unknown, f"queries name metrics nothing exports: {sorted(unknown)}"
