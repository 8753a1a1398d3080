"""``devgen generate --engine hybrid`` against the stand-in replaying recorded conversations.

For each example, the template engine builds the service and its tests; the recorded model
answers an extension for the one sentence the template does not implement, with a bug its
own tests catch; the sandboxed tests fail, and the recorded repair round fixes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Devgen, Workspace
from tests.llm_standin import LLMStandIn
from tests.llm_standin.recorded import Recording
from tests.llm_standin.server import configure_codegen

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture
def standin(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> LLMStandIn:
    """The stand-in, configured for the platform the CLI starts in process."""
    with LLMStandIn() as server:
        configure_codegen(
            monkeypatch,
            server,
            {
                "DEVGEN_LLM_MAX_RETRIES": "0",
                "DEVGEN_LLM_PRICE_INPUT_PER_1K": "0.001",
                "DEVGEN_LLM_PRICE_OUTPUT_PER_1K": "0.002",
            },
        )
        yield server


@pytest.mark.parametrize(
    ("recording", "extension", "options"),
    [
        ("helpdesk-sla", "page_on_call", ["--engine", "hybrid"]),
        # With a model configured, hybrid is the default engine.
        ("webshop", "order_confirmation", []),
        ("expense-claims", "second_approval", ["--engine", "hybrid", "--analyst", "template"]),
        ("helpdesk-sla-llm-analyst", "page_on_call", ["--engine", "hybrid", "--analyst", "llm"]),
    ],
)
def test_hybrid_generation_implements_the_sentence_and_repairs_the_first_answer(
    devgen: Devgen,
    standin: LLMStandIn,
    tmp_path: Path,
    recording: str,
    extension: str,
    options: list[str],
) -> None:
    conversation = Recording.named(recording)
    standin.replay(conversation)
    requirement = ROOT / conversation.example

    result = devgen("generate", str(requirement), *options, "--out", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    assert conversation.done, conversation.mismatches
    assert "Implemented by the model (1 sentence(s)):" in result.output
    assert "Not implemented (" not in result.output.split("Tests: ")[1]
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    by_model = [s for s in report["sentences"] if s["implemented_by"] == "model"]
    assert len(by_model) == 1
    sentence = by_model[0]
    assert sentence["extension"] == extension
    assert sentence["status"] == "passed"
    assert len(sentence["tests"]) >= 2
    assert {t["outcome"] for t in sentence["tests"]} == {"passed"}
    assert all(t["id"].startswith(f"tests/test_ext_{extension}.py::") for t in sentence["tests"])
    assert report["not_implemented"] == []
    # The first answer failed its own tests; the second round repaired the extension only.
    rounds = report["repair"]["rounds"]
    assert [r["passed"] for r in rounds] == [True]
    assert rounds[0]["changed"] == [f"app/extensions/{extension}.py"]
    assert rounds[0]["refused"] == []
    assert report["tests"]["all_passed"] is True
    guarded = report["protected_tests"]
    assert guarded["total"] > 10
    assert guarded["passed"] == guarded["total"], guarded["not_passed"]
    ran = {r["id"] for r in report["tests"]["results"]}
    template_tests = [s for s in report["sentences"] if s["implemented_by"] == "template"]
    assert all(t["id"] in ran for s in template_tests for t in s["tests"])
    assert (tmp_path / "out" / f"tests/test_ext_{extension}.py").is_file()
    # What the model saw: the requirement, the stories, the project, the sentence.
    first = next(r.prompt for r in standin.requests if "extension module" in r.system)
    assert requirement.read_text("utf-8").splitlines()[0] in first
    assert "User stories and acceptance criteria:" in first


def test_a_repair_round_that_weakens_protected_tests_is_refused_and_spent(
    devgen: Devgen, standin: LLMStandIn, tmp_path: Path
) -> None:
    conversation = Recording.named("helpdesk-sla-greedy-repair")
    standin.replay(conversation)

    result = devgen(
        "generate", str(ROOT / conversation.example), "--engine", "hybrid", "--out", "out"
    )

    assert result.exit_code == 0, result.output
    assert conversation.done, conversation.mismatches
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    first, second = report["repair"]["rounds"]
    assert {(r["action"], r["path"]) for r in first["refused"]} == {
        ("delete", "tests/test_rules_incident.py"),
        ("write", "tests/test_incident.py"),
        ("write", "tests/test_ext_page_on_call.py"),
    }
    assert first["changed"] == []
    assert first["passed"] is False
    assert second["refused"] == []
    assert second["passed"] is True
    # What the template wrote is what was tested and shipped.
    assert (tmp_path / "out" / "tests/test_rules_incident.py").is_file()
    assert "factory.incident_payload()" in (tmp_path / "out" / "tests/test_incident.py").read_text()
    assert report["protected_tests"]["passed"] == report["protected_tests"]["total"]
    assert "delete tests/test_rules_incident.py: protected" in (
        tmp_path / "out" / "REPORT.md"
    ).read_text("utf-8")
