"""``devgen generate`` with every LLM role on, against the stand-in replaying a recording.

The product manager's brief, the architect's design and the reviewer's rounds travel from
codegen through the run's generate step to the package step, into the artifact's
report.json (``documents``) and REPORT.md. The reviewer catches the bug of the model's
first extension, so the sandboxed tests pass without a repair round.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devgen.cli.generate import open_questions_block
from tests.cli.conftest import Devgen, Workspace
from tests.llm_standin import LLMStandIn
from tests.llm_standin.recorded import Recording
from tests.llm_standin.server import configure_codegen

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "Who is on call, and how is the engineer paged (a pager service, e-mail, SMS)?"

pytestmark = pytest.mark.slow


@pytest.fixture
def standin(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> LLMStandIn:
    """The stand-in, configured (every role on) for the platform the CLI starts in process."""
    with LLMStandIn() as server:
        configure_codegen(
            monkeypatch,
            server,
            {
                "DEVGEN_LLM_MAX_RETRIES": "0",
                "DEVGEN_LLM_ROLES": "all",
            },
        )
        yield server


def test_the_roles_documents_reach_the_report_and_the_review_fixes_the_extension(
    devgen: Devgen, standin: LLMStandIn, tmp_path: Path
) -> None:
    conversation = Recording.named("helpdesk-sla-roles")
    standin.replay(conversation)

    result = devgen(
        "generate", str(ROOT / conversation.example), "--engine", "hybrid", "--out", "out"
    )

    assert result.exit_code == 0, result.output
    assert conversation.done, conversation.mismatches
    # After the test tally, the brief's open questions, in a block of their own.
    tally = result.output.index("Tests: ")
    block = result.output.index("Open questions of the product brief (3), for you to answer:")
    assert tally < block
    assert f"  - {QUESTION}" in result.output[block:]
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    documents = report["documents"]
    assert documents["roles"] == ["product_manager", "architect", "reviewer"]
    assert documents["problems"] == []
    questions = [q["question"] for q in documents["brief"]["open_questions"]]
    assert QUESTION in questions
    assert len(questions) == 3
    diagram = documents["design"]["class_diagram"]
    assert diagram.startswith("classDiagram")
    assert "class Incident" in diagram
    assert "class Service" in diagram
    review = documents["review"]
    assert [(r["verdict"], r["changed"]) for r in review["rounds"]] == [
        ("change", ["app/extensions/page_on_call.py"]),
        ("approve", []),
    ]
    assert review["verdict"] == "approve"
    # The review fixed what the tests would have caught: no repair round was needed.
    assert report["tests"]["all_passed"] is True
    assert report["repair"]["rounds"] == []
    markdown = (tmp_path / "out" / "REPORT.md").read_text("utf-8")
    for section in ("## Product brief", "### Open questions", "## Design", "## Review"):
        assert section in markdown
    assert f"- {QUESTION}" in markdown
    assert "```mermaid\nclassDiagram" in markdown
    assert "Final verdict: **approve** after 2 review round(s)." in markdown


def test_no_open_questions_print_no_block() -> None:
    assert open_questions_block(None) == []
    assert open_questions_block({"roles": [], "brief": None}) == []
    assert open_questions_block({"brief": {"open_questions": []}}) == []


def test_each_open_question_is_listed_with_why_it_matters() -> None:
    documents = {"brief": {"open_questions": [{"question": "Who pays?", "context": "billing"}]}}

    assert open_questions_block(documents) == [
        "Open questions of the product brief (1), for you to answer:",
        "  - Who pays?",
        "    why: billing",
    ]
