"""The report and the test results it is built from (pure functions)."""

from __future__ import annotations

import pytest

from devgen.kit import testruns
from devgen.kit.testruns import ReportError, failures_of
from devgen.services.orchestrator.report import (
    build_report,
    map_criteria,
    render_markdown,
    summarize_rules,
)


def parse_junit(raw: bytes, files: list[str] | tuple[str, ...] = ()) -> list[dict]:
    """The junit report's tests as the test step's output holds them."""
    return [result.as_output() for result in testruns.parse_junit(raw, files)]


def parse_coverage(raw: bytes, files: list[str]) -> dict:
    """The coverage report as the test step's output holds it."""
    return testruns.parse_coverage(raw, files).as_output()


def summarise(execution: dict, files: list[str]) -> dict:
    """The test step's output for ``execution``."""
    return testruns.summarise(execution, files).as_output()


JUNIT = b"""<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
<testcase classname="tests.test_book" name="test_create_book" time="0.012"/>
<testcase classname="tests.test_book" name="test_list_books[2]" time="0.020"/>
<testcase classname="tests.test_book" name="test_get_book" time="0.003">
  <failure message="assert 404 == 200">tests/test_book.py:12: AssertionError
assert 404 == 200</failure></testcase>
<testcase classname="tests.test_health" name="test_health" time="0.001">
  <skipped message="later"/></testcase>
</testsuite></testsuites>"""

COVERAGE = b"""<?xml version="1.0" ?>
<coverage lines-valid="200" lines-covered="190" line-rate="0.95">
<sources><source>/workspace/app</source></sources>
<packages><package><classes>
<class filename="main.py" line-rate="1"/><class filename="models.py" line-rate="0.9"/>
</classes></package></packages></coverage>"""

FILES = ["app/main.py", "app/models.py", "tests/test_book.py", "tests/test_health.py"]


def test_junit_gives_node_ids_outcomes_and_the_first_line_of_failures():
    results = parse_junit(JUNIT, FILES)
    assert [(r["id"], r["outcome"]) for r in results] == [
        ("tests/test_book.py::test_create_book", "passed"),
        ("tests/test_book.py::test_list_books[2]", "passed"),
        ("tests/test_book.py::test_get_book", "failed"),
        ("tests/test_health.py::test_health", "skipped"),
    ]
    assert results[2]["message"] == "assert 404 == 200"
    (failure,) = failures_of(results)
    assert failure["file"] == "tests/test_book.py"
    assert "AssertionError" in failure["message"]


def test_coverage_is_per_project_file_and_in_total():
    coverage = parse_coverage(COVERAGE, FILES)
    assert coverage["percent"] == 95.0
    assert coverage["files"] == {"app/main.py": 100.0, "app/models.py": 90.0}


@pytest.mark.parametrize(
    "hostile",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaa">]><testsuites/>',
        b"not xml at all",
        b"<html/>",
    ],
)
def test_a_hostile_or_broken_report_is_refused(hostile):
    with pytest.raises(ReportError):
        parse_junit(hostile)


def _execution(verdict="succeeded", exit_code=0, junit=JUNIT):
    return {
        "verdict": verdict,
        "exit_code": exit_code,
        "result": {
            "stdout": "1 failed, 2 passed",
            "stdout_encoding": "utf-8",
            "files": {
                "junit.xml": {"status": "ok", "encoding": "utf-8", "content": junit.decode()},
                "coverage.xml": {"status": "ok", "encoding": "utf-8", "content": COVERAGE.decode()},
            },
        },
    }


def test_a_run_with_a_failure_has_not_passed():
    summary = summarise(_execution(verdict="failed", exit_code=1), FILES)
    assert summary["passed"] is False
    assert summary["summary"]["passed"] == 2
    assert summary["summary"]["failed"] == 1
    assert summary["coverage"]["percent"] == 95.0
    assert "1 failed" in summary["output"]


def test_a_run_without_results_says_why():
    execution = _execution(verdict="wall_time_limit", exit_code=None)
    execution["result"]["files"] = {}
    summary = summarise(execution, FILES)
    assert summary["passed"] is False
    assert "wall_time_limit" in summary["summary"]["problems"][0]


def test_each_criterion_is_mapped_to_its_tests_and_their_outcomes():
    stories = [
        {
            "id": "US-book-create",
            "acceptance_criteria": [
                {
                    "id": "AC-create",
                    "text": "c",
                    "test_ids": ["tests/test_book.py::test_create_book"],
                },
                {"id": "AC-list", "text": "l", "test_ids": ["tests/test_book.py::test_list_books"]},
                {"id": "AC-get", "text": "g", "test_ids": ["tests/test_book.py::test_get_book"]},
                {"id": "AC-gone", "text": "x", "test_ids": ["tests/test_book.py::test_gone"]},
                {"id": "AC-none", "text": "n", "test_ids": []},
            ],
        }
    ]
    criteria = map_criteria(stories, parse_junit(JUNIT, FILES))
    assert {c["id"]: c["status"] for c in criteria} == {
        "AC-create": "passed",
        "AC-list": "passed",  # a parametrised test counts for its function
        "AC-get": "failed",
        "AC-gone": "not_run",
        "AC-none": "untested",
    }


def test_the_report_carries_every_section_and_renders_as_markdown():
    results = parse_junit(JUNIT, FILES)
    report = build_report(
        run={"id": "r-1", "workflow": "default"},
        requirement="A library lends books.",
        spec={
            "name": "library",
            "entities": [{"name": "book", "fields": [{"name": "title", "type": "string"}]}],
        },
        user_stories=[
            {
                "id": "US-1",
                "as_a": "user",
                "i_want": "books",
                "so_that": "reading",
                "acceptance_criteria": [{"id": "AC-1", "text": "t", "test_ids": []}],
            }
        ],
        test_run={
            "passed": False,
            "summary": {"total": 4, "passed": 2, "failed": 1},
            "results": results,
            "coverage": parse_coverage(COVERAGE, FILES),
            "output": "...",
        },
        diagnostics=[
            {
                "file": "app/main.py",
                "line": 1,
                "rule": "ruff:F401",
                "severity": "error",
                "message": "unused",
            }
        ],
        unparsed=[{"text": "Members love it", "reason": "no pattern"}],
        assumptions=["member gets a name"],
        engine={"engine": "template", "name": "devgen-template-engine", "version": "1.0.0"},
        usage={"total_tokens": 0, "cost_usd": 0.0},
        repair_rounds=[],
        timings=[
            {
                "step": "test",
                "type": "test",
                "state": "succeeded",
                "attempts": 1,
                "duration_seconds": 4.2,
            }
        ],
        files=["app/main.py"],
    )
    assert report["tests"]["all_passed"] is False
    assert report["validation"]["errors"] == 1
    markdown = render_markdown(report)
    for heading in (
        "## Requirement",
        "## Spec",
        "## User stories and acceptance criteria",
        "## Test results",
        "## Coverage",
        "## Validation",
        "## Engine and cost",
        "## Timings",
    ):
        assert heading in markdown
    assert "did not pass" in markdown
    assert "tests/test_book.py::test_get_book | failed" in markdown


def test_the_summary_comes_first_with_each_rule_and_each_sentence_not_implemented():
    spec = {
        "name": "library",
        "entities": [
            {
                "name": "loan",
                "fields": [
                    {"name": "created_at", "type": "datetime", "managed": {"kind": "created_at"}}
                ],
                "rules": [
                    {"kind": "compare", "id": "loan.compare.1", "source": "Due after borrowed."},
                    {"kind": "search", "id": "loan.search.1"},
                ],
            }
        ],
        "not_implemented": [
            {"sentence": "Loans are emailed.", "reason": "no email", "suggestion": "drop it"}
        ],
    }
    stories = [
        {
            "id": "US-loan-rules",
            "acceptance_criteria": [
                {
                    "id": "AC-loan.compare.1",
                    "rule_id": "loan.compare.1",
                    "text": "t",
                    "test_ids": ["tests/test_book.py::test_create_book"],
                },
                {
                    "id": "AC-loan.created_at.managed",
                    "rule_id": "loan.created_at.managed",
                    "text": "t",
                    "test_ids": ["tests/test_book.py::test_get_book"],
                },
            ],
        }
    ]
    report = build_report(
        run={"id": "r-1", "workflow": "default"},
        requirement=None,
        spec=spec,
        user_stories=stories,
        test_run={"passed": False, "summary": {}, "results": parse_junit(JUNIT, FILES)},
        diagnostics=[],
        unparsed=[],
        assumptions=[],
        engine={},
        usage={},
        repair_rounds=[],
        timings=[],
        files=[],
    )

    assert {r["id"]: r["status"] for r in report["rules"]} == {
        "loan.created_at.managed": "failed",
        "loan.compare.1": "passed",
        "loan.search.1": "untested",
    }
    markdown = render_markdown(report)
    assert markdown.index("## Summary") < markdown.index("## User stories")
    assert "Rules implemented and tested: 1 of 3 passed" in markdown
    assert "(1 failed, 0 not run, 1 without a test)" in markdown
    assert "“Loans are emailed.” — no email Suggestion: drop it" in markdown
    assert "| ⚪ | loan.search.1 | search |  | no test |" in markdown
    assert report["rules"][0]["text"] == "field created_at"


def test_a_rule_no_criterion_names_is_judged_by_the_tests_named_for_it():
    spec = {
        "name": "x",
        "entities": [{"name": "book", "rules": [{"kind": "search", "id": "b.s-1"}]}],
    }
    results = [
        {"id": "tests/test_rules_book.py::test_b_s_1_matches_text", "outcome": "passed"},
        {"id": "tests/test_rules_book.py::test_b_s_10_other", "outcome": "failed"},
    ]

    (rule,) = summarize_rules(spec, [], results)

    assert rule["status"] == "passed"
    assert [t["id"] for t in rule["tests"]] == [results[0]["id"]]
    assert summarize_rules(spec, [], [])[0]["status"] == "untested"


def test_each_sentence_says_who_implements_it_and_the_models_come_with_their_tests():
    spec = {
        "name": "shop",
        "entities": [
            {"name": "order", "rules": [{"kind": "search", "id": "o.s-1", "source": "Find."}]}
        ],
        "not_implemented": [
            {"sentence": "Customers get an email.", "reason": "no template"},
            {"sentence": "Orders are printed.", "reason": "no template"},
            {"sentence": "Orders glow.", "reason": "no template"},
        ],
    }
    extensions = [
        {
            "sentence": "Customers get an email.",
            "status": "implemented",
            "name": "mail",
            "explanation": "Logs a mail.",
            "files": ["app/extensions/mail.py", "tests/test_ext_mail.py"],
            "tests": ["tests/test_ext_mail.py::test_a", "tests/test_ext_mail.py::test_b"],
        },
        {
            "sentence": "Orders are printed.",
            "status": "not_implemented",
            "explanation": "No printer is known.",
        },
    ]
    results = [
        {"id": "tests/test_ext_mail.py::test_a", "outcome": "passed"},
        {"id": "tests/test_ext_mail.py::test_b", "outcome": "failed"},
        {"id": "tests/test_rules_order.py::test_o_s_1_finds", "outcome": "passed"},
    ]
    report = build_report(
        run={"id": "r-1", "workflow": "default"},
        requirement=None,
        spec=spec,
        user_stories=[],
        test_run={"passed": False, "summary": {}, "results": results},
        diagnostics=[],
        unparsed=[],
        assumptions=[],
        engine={"engine": "hybrid"},
        usage={},
        repair_rounds=[
            {
                "iteration": 1,
                "changed": ["app/extensions/mail.py"],
                "refused": [
                    {"path": "tests/test_order.py", "action": "write", "reason": "protected"}
                ],
                "passed": False,
            }
        ],
        timings=[],
        files=[],
        extensions=extensions,
    )

    by = {s["sentence"]: s for s in report["sentences"]}
    assert by["Find."]["implemented_by"] == "template"
    assert by["Find."]["status"] == "passed"
    mail = by["Customers get an email."]
    assert mail["implemented_by"] == "model"
    assert mail["status"] == "failed"
    assert [t["outcome"] for t in mail["tests"]] == ["passed", "failed"]
    assert by["Orders are printed."]["implemented_by"] == "none"
    assert by["Orders are printed."]["explanation"] == "No printer is known."
    assert by["Orders glow."]["implemented_by"] == "none"
    assert by["Orders glow."]["explanation"] is None
    assert [n["sentence"] for n in report["not_implemented"]] == [
        "Orders are printed.",
        "Orders glow.",
    ]
    markdown = render_markdown(report)
    assert "Sentences implemented by the model: 1." in markdown
    assert "extension `mail`" in markdown
    assert "The model: No printer is known." in markdown
    assert "write tests/test_order.py: protected" in markdown


def _report_of_rules(rules: list[dict[str, object]], engine: str) -> dict[str, object]:
    return build_report(
        run={"id": "r-1", "workflow": "default"},
        requirement=None,
        spec={"name": "x", "entities": [{"name": "loan", "rules": rules}]},
        user_stories=[],
        test_run={"passed": True, "summary": {}, "results": []},
        diagnostics=[],
        unparsed=[],
        assumptions=[],
        engine={"engine": engine},
        usage={},
        repair_rounds=[],
        timings=[],
        files=[],
    )


def test_the_summary_says_rules_that_read_stored_rows_hold_under_concurrency():
    limit = {"kind": "count_limit", "id": "loan.count_limit.1", "relation": "member"}
    search = {"kind": "search", "id": "loan.search.1"}

    with_limit = render_markdown(_report_of_rules([limit, search], "template"))
    without = render_markdown(_report_of_rules([search], "template"))
    by_model = render_markdown(_report_of_rules([limit], "llm"))

    assert "hold under concurrent requests" in with_limit
    assert "hold under concurrent requests" not in without
    # The model's code is not the template's: the report claims no lock for it.
    assert "hold under concurrent requests" not in by_model
