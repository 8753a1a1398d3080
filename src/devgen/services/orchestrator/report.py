"""The run's report: what was asked, what was built, and the evidence that it works.

``build_report`` gathers, as plain JSON: the requirement and the spec, the
user stories with their acceptance criteria each mapped to the tests that
cover it and how those tests ended, every test's result (junit), coverage,
the validation diagnostics, the engine, tokens and cost, the repair rounds
and the timing of every step. ``render_markdown`` writes the same for
people. Both are pure functions of their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REPORT_VERSION = "1"
MARKDOWN_NAME = "REPORT.md"
JSON_NAME = "report.json"


def _results_by_id(results: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        # A parametrised test reports ``test_x[a]``; criteria name ``test_x``.
        base = str(result["id"]).split("[", 1)[0]
        by_id.setdefault(base, []).append(result)
    return by_id


def _criterion_status(outcomes: list[str], mapped: int) -> str:
    if not mapped:
        return "untested"
    if not outcomes:
        return "not_run"
    if any(outcome in {"failed", "error"} for outcome in outcomes):
        return "failed"
    if all(outcome == "skipped" for outcome in outcomes):
        return "skipped"
    return "passed"


def map_criteria(
    stories: Iterable[Mapping[str, Any]], results: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each acceptance criterion with its story, its tests and their outcomes, and a status."""
    by_id = _results_by_id(results)
    mapped: list[dict[str, Any]] = []
    for story in stories:
        for criterion in story.get("acceptance_criteria") or []:
            tests = []
            for test_id in criterion.get("test_ids") or []:
                found = by_id.get(str(test_id).split("[", 1)[0], [])
                if not found:
                    tests.append({"id": test_id, "outcome": "not_run"})
                tests.extend({"id": r["id"], "outcome": r["outcome"]} for r in found)
            outcomes = [t["outcome"] for t in tests if t["outcome"] != "not_run"]
            mapped.append(
                {
                    "id": criterion["id"],
                    "rule_id": criterion.get("rule_id"),
                    "story": story.get("id"),
                    "text": criterion.get("text", ""),
                    "tests": tests,
                    "status": _criterion_status(outcomes, len(criterion.get("test_ids") or [])),
                }
            )
    return mapped


def _rule_function(rule_id: str) -> str:
    # The template engine's name for a rule's function (engines/rules/base.function_name).
    name = re.sub(r"[^a-z0-9]+", "_", rule_id.lower()).strip("_")
    return name if name[:1].isalpha() else f"rule_{name}"


def _parameters(rule: Mapping[str, Any]) -> str:
    """A rule's settings in one line, for a rule that came without its sentence."""
    return "; ".join(
        f"{key} {value}"
        for key, value in rule.items()
        if key not in {"id", "kind", "source"} and value not in (None, [], "")
    )


def _tests_named_for(
    entity: str, rule_id: str, results: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """A criterion made of the generated tests named for the rule, when none names it."""
    prefix = f"tests/test_rules_{entity}.py::test_{_rule_function(rule_id)}_"
    tests = [
        {"id": r["id"], "outcome": r["outcome"]} for r in results if str(r["id"]).startswith(prefix)
    ]
    outcomes = [t["outcome"] for t in tests]
    return {"tests": tests, "status": _criterion_status(outcomes, len(tests))}


def summarize_rules(
    spec: Mapping[str, Any] | None,
    criteria: Iterable[Mapping[str, Any]],
    results: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Every rule of the spec (and managed field) with the status of the criterion naming it.

    A managed field's rule id is ``<entity>.<field>.managed``, as the template engine names
    it. Without a criterion naming the rule, the generated tests named for it
    (``tests/test_rules_<entity>.py::test_<rule function>_...``) stand in; a rule with
    neither is ``untested``: the report never counts it as checked.
    """
    results = list(results)
    by_rule = {c["rule_id"]: c for c in criteria if c.get("rule_id")}
    rules: list[dict[str, Any]] = []
    for entity in (spec or {}).get("entities") or []:
        name = entity.get("name")
        found = [
            (
                f"{name}.{f.get('name')}.managed",
                f"managed {f['managed'].get('kind')}",
                " ".join(filter(None, [f"field {f.get('name')}", _parameters(f["managed"])])),
            )
            for f in entity.get("fields") or []
            if isinstance(f.get("managed"), Mapping)
        ]
        found += [
            (r.get("id"), r.get("kind"), r.get("source") or _parameters(r))
            for r in entity.get("rules") or []
        ]
        for rule_id, kind, source in found:
            criterion = by_rule.get(rule_id) or _tests_named_for(name, rule_id, results)
            rules.append(
                {
                    "id": rule_id,
                    "entity": name,
                    "kind": kind,
                    "text": source or criterion.get("text", ""),
                    "status": criterion.get("status", "untested"),
                    "tests": list(criterion.get("tests") or []),
                }
            )
    return rules


def summarize_sentences(
    rules: Iterable[Mapping[str, Any]],
    not_implemented: Iterable[Mapping[str, Any]],
    extensions: Iterable[Mapping[str, Any]] | None,
    results: Iterable[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Each sentence of the requirement and who implements it.

    ``template``: a rule the template engine built (with its tests); ``model``: an extension
    the hybrid engine's model wrote, with its tests and their outcomes; ``none``: not
    implemented, with the template's reason and, when the model was asked, its explanation.
    """
    outcomes = {str(r.get("id")): r.get("outcome") for r in results}
    sentences: list[dict[str, Any]] = [
        {
            "sentence": rule.get("text"),
            "implemented_by": "template",
            "rule_id": rule.get("id"),
            "status": rule.get("status"),
            "tests": list(rule.get("tests") or []),
        }
        for rule in rules
    ]
    by_sentence = {str(e.get("sentence")): e for e in extensions or []}
    for item in not_implemented:
        extension = by_sentence.get(str(item.get("sentence")))
        if extension is not None and extension.get("status") == "implemented":
            tests = [
                {"id": test, "outcome": outcomes.get(test, "not_run")}
                for test in extension.get("tests") or []
            ]
            sentences.append(
                {
                    "sentence": item.get("sentence"),
                    "implemented_by": "model",
                    "extension": extension.get("name"),
                    "files": list(extension.get("files") or []),
                    "explanation": extension.get("explanation"),
                    "status": _criterion_status([t["outcome"] for t in tests], len(tests)),
                    "tests": tests,
                }
            )
        else:
            sentences.append(
                {
                    "sentence": item.get("sentence"),
                    "implemented_by": "none",
                    "reason": item.get("reason"),
                    "explanation": (extension or {}).get("explanation"),
                    "status": "not_implemented",
                    "tests": [],
                }
            )
    return sentences


def _protected_tests(
    template_tests: list[str] | None, results: list[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """Whether every test the template wrote (protected from the model) ran and passed."""
    if template_tests is None:
        return None
    outcomes = {str(r.get("id")): r.get("outcome") for r in results}
    # A parametrised test reports as ``id[param]``: any of its cases counts.
    for result_id, outcome in list(outcomes.items()):
        outcomes.setdefault(result_id.split("[", 1)[0], outcome)
    not_passed = [t for t in template_tests if outcomes.get(t) != "passed"]
    return {
        "total": len(template_tests),
        "passed": len(template_tests) - len(not_passed),
        "not_passed": [{"id": t, "outcome": outcomes.get(t, "not_run")} for t in not_passed],
    }


def _story_text(story: Mapping[str, Any]) -> str:
    return f"As a {story.get('as_a')}, I want {story.get('i_want')} so that {story.get('so_that')}."


def build_report(
    *,
    run: Mapping[str, Any],
    requirement: str | None,
    spec: Mapping[str, Any] | None,
    user_stories: list[Mapping[str, Any]],
    test_run: Mapping[str, Any] | None,
    diagnostics: list[Mapping[str, Any]],
    unparsed: list[Mapping[str, Any]],
    assumptions: list[str],
    engine: Mapping[str, Any],
    usage: Mapping[str, Any],
    repair_rounds: list[Mapping[str, Any]],
    timings: list[Mapping[str, Any]],
    files: Iterable[str],
    extensions: list[Mapping[str, Any]] | None = None,
    template_tests: list[str] | None = None,
    contract: Mapping[str, Any] | None = None,
    documents: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as JSON-ready data (``extensions``, ``template_tests``: the hybrid
    engine's, when it ran; ``contract``: the contract step's result, if it ran;
    ``documents``: what the LLM roles wrote, see :func:`role_documents`)."""
    results = list((test_run or {}).get("results") or [])
    criteria = map_criteria(user_stories, results)
    statuses = [criterion["status"] for criterion in criteria]
    rules = summarize_rules(spec, criteria, results)
    rule_statuses = [rule["status"] for rule in rules]
    errors = sum(1 for d in diagnostics if d.get("severity") == "error")
    warnings = sum(1 for d in diagnostics if d.get("severity") == "warning")
    return {
        "report_version": REPORT_VERSION,
        "run": dict(run),
        "requirement": requirement,
        "spec": spec,
        "user_stories": [
            {
                "id": story.get("id"),
                "text": _story_text(story),
                "entity": story.get("entity"),
                "acceptance_criteria": [c["id"] for c in story.get("acceptance_criteria") or []],
            }
            for story in user_stories
        ],
        "rules": rules,
        "rules_summary": {
            status: rule_statuses.count(status)
            for status in ("passed", "failed", "not_run", "untested", "skipped")
        },
        "not_implemented": [
            item
            for item in (spec or {}).get("not_implemented") or []
            if not any(
                e.get("sentence") == item.get("sentence") and e.get("status") == "implemented"
                for e in extensions or []
            )
        ],
        "protected_tests": _protected_tests(template_tests, results),
        "sentences": summarize_sentences(
            rules, (spec or {}).get("not_implemented") or [], extensions, results
        ),
        "acceptance_criteria": criteria,
        "criteria_summary": {
            status: statuses.count(status)
            for status in ("passed", "failed", "not_run", "untested", "skipped")
        },
        "tests": {
            "all_passed": bool((test_run or {}).get("passed")),
            "summary": (test_run or {}).get("summary"),
            "results": [
                {key: result.get(key) for key in ("id", "outcome", "duration_seconds", "message")}
                for result in results
            ],
            "output": (test_run or {}).get("output", "")[-4000:] if test_run else "",
        },
        "coverage": (test_run or {}).get("coverage"),
        "contract": _contract(contract),
        "documents": role_documents(documents, str(engine.get("engine") or "")),
        "validation": {"errors": errors, "warnings": warnings, "diagnostics": list(diagnostics)},
        "unparsed": list(unparsed),
        "assumptions": list(assumptions),
        "engine": dict(engine),
        "usage": dict(usage),
        "repair": {"rounds": list(repair_rounds)},
        "timings": list(timings),
        "files": sorted(files),
    }


def role_documents(documents: Mapping[str, Any] | None, engine: str) -> dict[str, Any]:
    """The LLM roles' documents (brief, design, review) and, when there are none, why.

    Always an object, so a reader finds ``roles``, ``brief``, ``design``, ``review``,
    ``problems`` and ``note`` whatever the engine.
    """
    found = dict(documents or {})
    roles = list(found.get("roles") or [])
    if roles:
        note = None
    elif engine == "template":
        note = "The template engine has no LLM roles: it leaves no product brief, design or review."
    else:
        note = "No LLM role ran (DEVGEN_LLM_ROLES is empty): no product brief, design or review."
    return {
        "roles": roles,
        "brief": found.get("brief"),
        "design": found.get("design"),
        "review": found.get("review"),
        "problems": list(found.get("problems") or []),
        "note": note,
    }


def _problem_lines(documents: Mapping[str, Any], document: str, who: str) -> list[str]:
    return [
        f"The {who} gave no usable {document} (asked twice): {p.get('message')}"
        for p in documents.get("problems") or []
        if p.get("document") == document
    ]


def _brief_lines(documents: Mapping[str, Any]) -> list[str]:
    brief = documents.get("brief")
    problems = _problem_lines(documents, "brief", "product manager")
    if brief is None and not problems:
        return []
    lines = ["## Product brief", ""]
    lines += [f"{line}\n" for line in problems]
    if brief is None:
        return lines
    lines += ["### Goals", "", *(f"- {g}" for g in brief.get("goals") or []), ""]
    if brief.get("user_stories"):
        lines += ["### User stories", "", *(f"- {s}" for s in brief["user_stories"]), ""]
    lines += ["### Requirements", ""]
    lines += _table(
        ["id", "priority", "requirement"],
        ([r.get("id"), r.get("priority"), r.get("text")] for r in brief.get("requirements") or []),
    )
    lines += ["", "### Open questions", ""]
    questions = brief.get("open_questions") or []
    if questions:
        lines += [
            "The model could not settle these from the requirement; devgen did not answer "
            "them. Decide them, then say so in the requirement.",
            "",
        ]
        lines += [
            f"- {q.get('question')}" + (f" ({q['context']})" if q.get("context") else "")
            for q in questions
        ]
    else:
        lines.append("None: the product manager found nothing left open.")
    lines.append("")
    return lines


def _design_lines(documents: Mapping[str, Any]) -> list[str]:
    design = documents.get("design")
    problems = _problem_lines(documents, "design", "architect")
    if design is None and not problems:
        return []
    lines = ["## Design", ""]
    lines += [f"{line}\n" for line in problems]
    if design is None:
        return lines
    lines += ["### Data structures", "", "```mermaid", str(design.get("class_diagram")).strip()]
    lines += ["```", "", "### API", ""]
    lines += _table(
        ["method", "path", "what it does"],
        (
            [a.get("method"), f"`{a.get('path')}`", a.get("summary")]
            for a in design.get("apis") or []
        ),
    )
    lines += ["", "### File plan", ""]
    lines += _table(
        ["file", "purpose"],
        ([f"`{f.get('path')}`", f.get("purpose")] for f in design.get("files") or []),
    )
    lines.append("")
    if design.get("notes"):
        lines += [str(design["notes"]), ""]
    return lines


def _review_lines(documents: Mapping[str, Any]) -> list[str]:
    review = documents.get("review")
    problems = _problem_lines(documents, "review", "reviewer")
    if review is None and not problems:
        return []
    lines = ["## Review", ""]
    lines += [f"{line}\n" for line in problems]
    if review is None:
        return lines
    verdict = review.get("verdict")
    lines.append(
        f"Final verdict: **{verdict}** after {len(review.get('rounds') or [])} review round(s)."
        if verdict
        else "No verdict."
    )
    if review.get("stopped"):
        lines.append(f"Stopped: {review['stopped']}.")
    lines.append("")
    if review.get("rounds"):
        lines += _table(
            ["round", "verdict", "reasons", "changes asked for", "changed by the engineer"],
            (
                [
                    r.get("round"),
                    r.get("verdict"),
                    "; ".join(r.get("reasons") or []),
                    "; ".join(f"{c.get('path')}: {c.get('change')}" for c in r.get("changes") or [])
                    or "-",
                    ", ".join(r.get("changed") or []) or "-",
                ]
                for r in review["rounds"]
            ),
        )
        lines.append("")
    return lines


def _documents_lines(documents: Mapping[str, Any] | None) -> list[str]:
    """The sections "Product brief", "Design" and "Review" (or why there are none)."""
    documents = documents or {}
    if documents.get("note"):
        return ["## Role documents", "", str(documents["note"]), ""]
    return [*_brief_lines(documents), *_design_lines(documents), *_review_lines(documents)]


def _contract(contract: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The contract step's result as the report keeps it (without the raw output)."""
    if not contract:
        return None
    return {key: value for key, value in contract.items() if key != "output"}


def _contract_lines(contract: Mapping[str, Any] | None) -> list[str]:
    if not contract:
        return ["## API contract", "", "Not checked: the workflow has no contract step.", ""]
    cases = contract.get("test_cases") or {}
    verdict = "met" if contract.get("passed") else "not met"
    if not contract.get("completed", True):
        verdict += f" (schemathesis stopped early: {contract.get('stop_reason') or 'unknown'})"
    lines = [
        "## API contract",
        "",
        f"schemathesis {contract.get('schemathesis_version') or ''} against the service's own "
        f"OpenAPI document: the contract is **{verdict}** — "
        f"{contract.get('failure_count', 0)} failures, "
        f"{contract.get('server_errors', 0)} server errors, "
        f"{cases.get('generated', 0)} test cases "
        f"({contract.get('max_examples')} examples per operation, seed {contract.get('seed')}).",
        "",
        f"Summary: `{contract.get('summary_line') or '-'}`",
        "",
        "Checks: " + (", ".join(f"`{c}`" for c in contract.get("checks") or []) or "-") + ".",
        "Phases: "
        + (", ".join(f"{p} {s}" for p, s in (contract.get("phases") or {}).items()) or "-")
        + ".",
        "",
    ]
    if contract.get("failures"):
        lines += _table(
            ["code", "failure", "count", "operations"],
            (
                [f["code"], f["title"], f["count"], ", ".join(f["operations"])]
                for f in contract["failures"]
            ),
        )
        lines.append("")
    if contract.get("warnings"):
        lines += ["Warnings: " + ", ".join(contract["warnings"]) + ".", ""]
    return lines


def _cell(value: Any) -> str:
    return str(value if value is not None else "-").replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: Iterable[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


_ICONS = {
    "passed": "✅",
    "failed": "❌",
    "error": "❌",
    "skipped": "⏭",
    "not_run": "⚪",
    "untested": "⚪",
}


# Rule kinds whose generated check locks its scope (codegen's rules.lock_scope).
_LOCKING_KINDS = frozenset(
    {
        "count_limit",
        "no_overlap",
        "unique_together",
        "managed sequence",
        "state_machine",
        "computed",
    }
)


def _summary(report: Mapping[str, Any]) -> list[str]:
    """What the user asked for that the service does, and what it does not."""
    rules = report.get("rules") or []
    counts = report.get("rules_summary") or {}
    missing = report.get("not_implemented") or []
    lines = [
        "## Summary",
        "",
        f"- Rules implemented and tested: {counts.get('passed', 0)} of {len(rules)} passed "
        f"their tests ({counts.get('failed', 0)} failed, {counts.get('not_run', 0)} not run, "
        f"{counts.get('untested', 0)} without a test).",
        f"- Sentences implemented by the model: "
        f"{sum(1 for s in report.get('sentences') or [] if s.get('implemented_by') == 'model')}.",
        f"- Sentences not implemented: {len(missing)}" + (" (listed below)." if missing else "."),
        "",
    ]
    if rules:
        lines += _table(
            ["", "rule", "kind", "what it means", "tests"],
            (
                [
                    _ICONS.get(rule["status"], ""),
                    rule["id"],
                    rule["kind"],
                    rule["text"],
                    ", ".join(f"`{t['id'].split('::')[-1]}` {t['outcome']}" for t in rule["tests"])
                    or "no test",
                ]
                for rule in rules
            ),
        )
        lines.append("")
        # Only the template's rule code (template and hybrid engines) is known to lock.
        engine = (report.get("engine") or {}).get("engine")
        if engine in {"template", "hybrid"} and any(r["kind"] in _LOCKING_KINDS for r in rules):
            lines += [
                "- Count limits, no overlap, uniqueness over several fields, sequence "
                "numbers, state machines and totals over children hold under concurrent "
                "requests: each locks its scope before it checks or recomputes, and a "
                "request that loses the race gets 409, never a 500.",
                "",
            ]
    guarded = report.get("protected_tests")
    if guarded:
        lines += [
            f"- Template tests (protected from the model): {guarded['passed']} of "
            f"{guarded['total']} passed.",
            "",
        ]
    by_model = [s for s in report.get("sentences") or [] if s.get("implemented_by") == "model"]
    if by_model:
        lines += ["### Implemented by the model (hybrid engine)", ""]
        for item in by_model:
            tests_text = ", ".join(
                f"`{t['id'].split('::')[-1]}` {t['outcome']}" for t in item["tests"]
            )
            lines.append(
                f"- {_ICONS.get(item['status'], '')} “{item.get('sentence')}” — extension "
                f"`{item.get('extension')}` ({', '.join(item.get('files') or [])}): "
                f"{item.get('explanation') or ''} Tests: {tests_text or 'none'}"
            )
        lines.append("")
    if missing:
        lines += ["### Not implemented", ""]
        for item in missing:
            suggestion = item.get("suggestion")
            explained = next(
                (
                    s.get("explanation")
                    for s in report.get("sentences") or []
                    if s.get("implemented_by") == "none"
                    and s.get("sentence") == item.get("sentence")
                    and s.get("explanation")
                ),
                None,
            )
            lines.append(
                f"- “{item.get('sentence')}” — {item.get('reason')}"
                + (f" Suggestion: {suggestion}" if suggestion else "")
                + (f" The model: {explained}" if explained else "")
            )
        lines.append("")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report for people, in Markdown."""
    spec = report.get("spec") or {}
    tests = report["tests"]
    summary = tests.get("summary") or {}
    coverage = report.get("coverage") or {}
    usage = report.get("usage") or {}
    engine = report.get("engine") or {}
    verdict = "passed" if tests["all_passed"] else "did not pass"
    lines = [
        f"# {spec.get('name') or 'Generated service'}: generation report",
        "",
        f"Run `{report['run'].get('id')}` — workflow `{report['run'].get('workflow')}`. "
        f"The generated tests **{verdict}**: {summary.get('passed', 0)} passed, "
        f"{summary.get('failed', 0)} failed, {summary.get('error', 0)} errors, "
        f"{summary.get('skipped', 0)} skipped; line coverage "
        f"{coverage.get('percent', '-')}%.",
        "",
    ]
    lines += _summary(report)
    if spec.get("description"):
        lines += [f"> {spec['description']}", ""]
    if report.get("requirement"):
        lines += ["## Requirement", "", "```text", str(report["requirement"]).strip(), "```", ""]
    lines += _documents_lines(report.get("documents"))
    entities = spec.get("entities") or []
    if entities:
        lines += ["## Spec", ""]
        lines += _table(
            ["entity", "fields", "relations", "operations"],
            (
                [
                    entity.get("name"),
                    ", ".join(
                        f"{f.get('name')} ({f.get('type')})" for f in entity.get("fields") or []
                    ),
                    ", ".join(
                        f"{r.get('name')} → {r.get('target')}"
                        for r in entity.get("relations") or []
                    ),
                    ", ".join(entity.get("operations") or []),
                ]
                for entity in entities
            ),
        )
        lines.append("")
    lines += ["## User stories and acceptance criteria", ""]
    criteria = {criterion["id"]: criterion for criterion in report["acceptance_criteria"]}
    for story in report["user_stories"]:
        lines.append(f"- **{story['id']}** {story['text']}")
        for criterion_id in story["acceptance_criteria"]:
            criterion = criteria.get(criterion_id)
            if criterion is None:
                continue
            tests_text = ", ".join(
                f"`{t['id'].split('::')[-1]}` {t['outcome']}" for t in criterion["tests"]
            )
            lines.append(
                f"  - {_ICONS.get(criterion['status'], '')} {criterion['id']}: {criterion['text']}"
                + (f" — {tests_text}" if tests_text else " — no test")
            )
    lines.append("")
    counts = report["criteria_summary"]
    lines += [
        f"Criteria: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['not_run']} not run, {counts['untested']} without a test.",
        "",
        "## Test results",
        "",
    ]
    lines += _table(
        ["test", "outcome", "seconds", "message"],
        (
            [r["id"], r["outcome"], r["duration_seconds"], r.get("message") or ""]
            for r in tests["results"]
        ),
    )
    lines.append("")
    if coverage.get("files"):
        lines += ["## Coverage", "", f"Total: {coverage.get('percent')}% of lines.", ""]
        lines += _table(["file", "line coverage %"], ([f, p] for f, p in coverage["files"].items()))
        lines.append("")
    lines += _contract_lines(report.get("contract"))
    validation = report["validation"]
    lines += [
        "## Validation",
        "",
        f"{validation['errors']} errors, {validation['warnings']} warnings.",
        "",
    ]
    if validation["diagnostics"]:
        lines += _table(
            ["file", "line", "rule", "severity", "message"],
            (
                [d.get("file"), d.get("line"), d.get("rule"), d.get("severity"), d.get("message")]
                for d in validation["diagnostics"][:200]
            ),
        )
        lines.append("")
    if report["repair"]["rounds"]:
        lines += ["## Repair rounds", ""]
        lines += _table(
            ["round", "changed", "refused", "tokens", "tests passed"],
            (
                [
                    r.get("iteration"),
                    ", ".join(r.get("changed") or []),
                    ", ".join(
                        f"{x.get('action')} {x.get('path')}: {x.get('reason')}"
                        for x in r.get("refused") or []
                    )
                    or "-",
                    (r.get("usage") or {}).get("total_tokens", 0),
                    r.get("passed"),
                ]
                for r in report["repair"]["rounds"]
            ),
        )
        lines.append("")
    if report["unparsed"] or report["assumptions"]:
        lines += ["## What the analyst did not use, and what it assumed", ""]
        lines += [f"- not used: “{u.get('text')}” ({u.get('reason')})" for u in report["unparsed"]]
        lines += [f"- assumed: {a}" for a in report["assumptions"]]
        lines.append("")
    lines += [
        "## Engine and cost",
        "",
        f"Engine `{engine.get('engine')}`, generator `{engine.get('name')}` "
        f"{engine.get('version') or ''}, template `{engine.get('template')}` "
        f"({engine.get('language')}).",
        f"Tokens: {usage.get('total_tokens', 0)} ({usage.get('input_tokens', 0)} in, "
        f"{usage.get('output_tokens', 0)} out); cost ${float(usage.get('cost_usd', 0.0)):.4f}.",
        "",
        "## Timings",
        "",
    ]
    lines += _table(
        ["step", "type", "state", "attempts", "seconds"],
        (
            [t["step"], t["type"], t["state"], t["attempts"], t.get("duration_seconds")]
            for t in report["timings"]
        ),
    )
    lines.append("")
    return "\n".join(lines)
