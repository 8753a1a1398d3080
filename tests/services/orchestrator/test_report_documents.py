"""The LLM roles' documents in the report: report.json's ``documents`` and REPORT.md's
sections "Product brief", "Design" and "Review" (pure functions)."""

from __future__ import annotations

from typing import Any

from devgen.services.orchestrator.report import build_report, render_markdown

QUESTION = "How many books may a member borrow at once?"
DIAGRAM = "classDiagram\n  class Book {\n    +str title\n  }\n  class Loan\n  Loan --> Book"
DOCUMENTS: dict[str, Any] = {
    "roles": ["product_manager", "architect", "reviewer"],
    "brief": {
        "goals": ["Members borrow books"],
        "user_stories": ["As a librarian, I want loans recorded"],
        "requirements": [
            {"id": "R1", "text": "A loan names a book", "priority": "P0"},
            {"id": "R2", "text": "Overdue loans are listed", "priority": "P1"},
        ],
        "open_questions": [{"question": QUESTION, "context": "no limit given"}],
    },
    "design": {
        "class_diagram": DIAGRAM,
        "apis": [{"method": "POST", "path": "/loans", "summary": "lend a book"}],
        "files": [{"path": "app/main.py", "purpose": "the app", "depends_on": []}],
        "notes": "",
    },
    "review": {
        "rounds": [
            {
                "round": 1,
                "verdict": "change",
                "reasons": ["R2 is not met"],
                "changes": [{"path": "app/main.py", "change": "filter overdue loans"}],
                "changed": ["app/main.py"],
            },
            {"round": 2, "verdict": "approve", "reasons": ["R2 met"], "changes": []},
        ],
        "verdict": "approve",
        "stopped": None,
    },
    "problems": [],
}


def _report(engine: str, documents: dict[str, Any] | None) -> dict[str, Any]:
    return build_report(
        run={"id": "r-1", "workflow": "default"},
        requirement="A library lends books.",
        spec={"name": "library", "entities": [{"name": "book", "fields": []}]},
        user_stories=[],
        test_run=None,
        diagnostics=[],
        unparsed=[],
        assumptions=[],
        engine={"engine": engine},
        usage={},
        repair_rounds=[],
        timings=[],
        files=["app/main.py"],
        documents=documents,
    )


def test_the_open_questions_are_in_report_json_and_report_md():
    report = _report("llm", DOCUMENTS)
    markdown = render_markdown(report)

    assert report["documents"]["brief"]["open_questions"][0]["question"] == QUESTION
    assert report["documents"]["note"] is None
    brief = markdown.split("## Product brief")[1].split("## Design")[0]
    assert "### Open questions" in brief
    assert f"- {QUESTION} (no limit given)" in brief
    assert "devgen did not answer them" in brief
    assert "| R2 | P1 | Overdue loans are listed |" in brief


def test_the_design_renders_its_class_diagram_as_a_mermaid_block():
    markdown = render_markdown(_report("hybrid", DOCUMENTS))

    design = markdown.split("## Design")[1].split("## Review")[0]
    assert f"```mermaid\n{DIAGRAM}\n```" in design
    assert "| POST | `/loans` | lend a book |" in design
    assert "| `app/main.py` | the app |" in design


def test_the_review_lists_every_round_and_the_final_verdict():
    markdown = render_markdown(_report("llm", DOCUMENTS))

    review = markdown.split("## Review")[1]
    assert "Final verdict: **approve** after 2 review round(s)." in review
    assert "| 1 | change | R2 is not met | app/main.py: filter overdue loans | app/main.py |" in (
        review
    )


def test_a_document_the_model_never_gave_is_reported_with_the_problem():
    documents = {
        "roles": ["product_manager"],
        "brief": None,
        "problems": [{"document": "brief", "message": "The model gave no usable product brief"}],
    }

    report = _report("hybrid", documents)
    markdown = render_markdown(report)

    assert report["documents"]["brief"] is None
    assert report["documents"]["problems"] == documents["problems"]
    assert "The product manager gave no usable brief (asked twice)" in markdown
    assert "## Design" not in markdown


def test_the_template_engine_report_says_it_has_no_role_documents():
    report = _report("template", None)

    assert report["documents"]["roles"] == []
    assert report["documents"]["brief"] is None
    assert "template engine has no LLM roles" in report["documents"]["note"]
    assert "## Role documents" in render_markdown(report)
    assert "## Product brief" not in render_markdown(report)
