"""A recorded chatty conversation replayed through the stand-in (recordings/toy-service)."""

from __future__ import annotations

import json
from pathlib import Path

from devgen.services.codegen.engines.llm import LLMClient, LLMEngine
from devgen.services.codegen.spec import validate_spec
from tests.llm_standin import LLMStandIn
from tests.llm_standin.recorded import Recording
from tests.services.codegen.llm_support import PLAN, llm_settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


async def test_a_recorded_chatty_conversation_builds_the_project(
    standin: LLMStandIn, provider: str
) -> None:
    # The plan among prose (structured output where the protocol gives it), app/main.py
    # cut at the output limit and continued (the continuation reopens the fence), the
    # tests after a usage-example fence.
    recording = Recording.named("toy-service")
    standin.respond_with(recording)
    settings = llm_settings(standin, provider)
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)
    spec = validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))

    project = await engine.generate(spec, meter=engine.meter())
    await client.aclose()

    assert recording.done, recording.mismatches
    assert sorted(project.files) == sorted(f["path"] for f in PLAN["files"])
    main = project.files["app/main.py"]
    assert "def health" in main
    assert "def read_item" in main
    assert "```" not in main
    assert "def test_item_is_doubled" in project.files["tests/test_main.py"]
    assert project.usage.input_tokens >= 1850 + 2400 + 2520  # the recorded usage
    if provider == "anthropic":  # the plan came as the forced tool's input
        assert "tool_choice" in standin.requests[0].body
