"""The roles' documents: their validation, and the roles over both protocols' structured
output (the engine against the stand-in, no platform)."""

from __future__ import annotations

from typing import Any

import pytest

from devgen.services.codegen.engines.llm import LLMClient, LLMEngine, LLMSettings
from devgen.services.codegen.engines.llm.budget import Budget, Meter
from devgen.services.codegen.engines.llm.documents import (
    diagram_classes,
    read_design,
    read_review,
)
from devgen.services.codegen.engines.llm.parsing import OutputProblem
from devgen.services.codegen.spec import validate_spec
from tests.llm_standin import LLMStandIn, replies
from tests.services.codegen.llm_support import MAIN, PLAN, TEST_MAIN, llm_settings

SPEC = {
    "name": "toy",
    "entities": [{"name": "line_item", "fields": [{"name": "title", "type": "string"}]}],
}
FILES = [{"path": "app/main.py", "purpose": "the app"}]
APIS = [{"method": "GET", "path": "/items", "summary": "list"}]


def _design(diagram: str, **extra: Any) -> dict[str, Any]:
    return {"class_diagram": diagram, "apis": APIS, "files": FILES, **extra}


def test_a_diagram_names_classes_declared_with_members_or_only_related() -> None:
    diagram = (
        "classDiagram\n  direction LR\n  class Order {\n    +int id\n  }\n"
        '  Customer : +str email\n  Order "*" --> "1" Customer : placed by\n'
        "  LineItem --* Order\n  Order <|-- RushOrder"
    )

    assert diagram_classes(diagram) == ["Order", "Customer", "LineItem", "RushOrder"]


def test_a_design_in_a_mermaid_fence_is_unwrapped_and_snake_case_entities_match() -> None:
    fenced = "```mermaid\nclassDiagram\n  class LineItem {\n    +str title\n  }\n```"

    design = read_design(_design(fenced), entities=["line_item"])

    assert design.class_diagram == "classDiagram\n  class LineItem {\n    +str title\n  }"


def test_a_design_lists_every_problem_for_the_model() -> None:
    bad = _design(
        "graph TD\n  A --> B",
        files=[{"path": "/etc/passwd"}, {"path": "app/x.py"}, {"path": "app/x.py"}],
    )

    with pytest.raises(OutputProblem) as caught:
        read_design(bad, entities=["line_item", "order"])

    message = str(caught.value)
    assert "must be Mermaid source starting with `classDiagram`" in message
    assert "has no class for the entities line_item, order" in message
    assert "files[0].path:" in message
    assert "files[2].path: 'app/x.py' is planned twice" in message
    assert message.endswith("Reply with the corrected design as one JSON object.")


def test_an_approving_review_asks_for_no_change_and_a_change_names_a_file() -> None:
    approve = read_review(
        {"verdict": "approve", "reasons": ["ok"], "changes": [{"path": "a.py", "change": "x"}]},
        changeable=["a.py"],
    )
    assert approve.changes == []
    with pytest.raises(OutputProblem, match="a `change` verdict names at least one file"):
        read_review({"verdict": "change", "reasons": ["bad"]}, changeable=["a.py"])
    with pytest.raises(OutputProblem, match="reasons: List should have at least 1 item"):
        read_review({"verdict": "approve", "reasons": []}, changeable=["a.py"])


def test_the_roles_setting_takes_names_or_all_and_refuses_others() -> None:
    def roles(value: str) -> tuple[str, ...]:
        return LLMSettings(llm_roles=value).roles

    assert roles("") == ()
    assert roles("all") == ("product_manager", "architect", "reviewer")
    assert roles(" reviewer,product_manager ") == ("product_manager", "reviewer")
    with pytest.raises(ValueError, match="unknown role"):
        roles("tester")


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_every_role_answers_through_the_endpoint_s_structured_output(
    provider: str,
) -> None:
    with LLMStandIn() as standin:
        settings = llm_settings(standin, provider, llm_structured_output="on")
        client = LLMClient.from_settings(settings)
        standin.script(
            replies.brief(open_questions=["How many items at most?"]),
            replies.design(
                "classDiagram\n  class LineItem {\n    +str title\n  }", files=PLAN["files"]
            ),
            replies.text('"""The service."""\n'),
            replies.fenced(MAIN),
            replies.fenced('"""Tests."""', lang=""),
            replies.fenced(TEST_MAIN),
            replies.fenced("fastapi\nhttpx\npytest\n", lang="text"),
            replies.review("approve", "it does what was asked"),
        )
        project = await LLMEngine(client, settings).generate(
            validate_spec(SPEC),
            meter=Meter(Budget(max_tokens=10**7, max_cost_usd=100)),
            roles=("product_manager", "architect", "reviewer"),
        )
        await client.aclose()

    documents = project.documents
    assert documents is not None
    assert documents.brief is not None
    assert documents.brief.open_questions[0].question == "How many items at most?"
    assert documents.design is not None
    assert [f.path for f in documents.design.files] == project.plan.paths
    assert documents.review is not None
    assert documents.review.verdict == "approve"
    schemas = []
    for request in (standin.requests[0], standin.requests[1], standin.requests[-1]):
        body = request.body
        if provider == "openai":
            schemas.append(body["response_format"]["json_schema"]["schema"]["title"])
        else:
            schemas.append(body["tools"][0]["input_schema"]["title"])
    assert schemas == ["ProductBrief", "Design", "ReviewAnswer"]
