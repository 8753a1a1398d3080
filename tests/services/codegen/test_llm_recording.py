"""A recorded conversation replayed through the stand-in (tests/llm_standin/recordings/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devgen.services.codegen.engines.llm import LLMClient, LLMEngine
from devgen.services.codegen.spec import validate_spec
from tests.llm_standin import LLMStandIn
from tests.llm_standin.recording import Recording
from tests.llm_standin.server import RecordedRequest
from tests.services.codegen.llm_support import PLAN, llm_settings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
RECORDINGS = Path(__file__).resolve().parents[2] / "llm_standin" / "recordings"


async def test_a_recorded_chatty_conversation_builds_the_project(
    standin: LLMStandIn, provider: str
) -> None:
    # The recording: a chatty plan, app/main.py cut at the output limit and continued
    # (the continuation reopens the fence), tests after a usage example fence.
    recording = Recording.load(RECORDINGS / "toy-service")
    standin.respond_with(recording.responder)
    settings = llm_settings(standin, provider)
    client = LLMClient.from_settings(settings)
    spec = validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))

    engine = LLMEngine(client, settings)
    project = await engine.generate(spec, meter=engine.meter())
    await client.aclose()

    assert recording.unused == []
    assert sorted(project.files) == sorted(f["path"] for f in PLAN["files"])
    assert "def read_item" in project.files["app/main.py"]
    assert "def test_item_is_doubled" in project.files["tests/test_main.py"]
    assert project.usage.input_tokens >= 1850 + 2400 + 2520  # the recorded usage
    assert standin.count == 7


def test_a_request_the_recording_does_not_foresee_is_answered_500() -> None:
    recording = Recording.load(RECORDINGS / "toy-service")
    unforeseen = RecordedRequest(
        "openai",
        "/v1/chat/completions",
        {},
        {"messages": [{"role": "user", "content": "Write `docs/index.md`: the manual."}]},
    )

    # 01-plan.md fits any request; once it is used, nothing fits a file nobody recorded.
    assert recording.responder(unforeseen).text.startswith("Here is the plan")
    reply = recording.responder(unforeseen)

    assert reply.status == 500
    assert "docs/index.md" in reply.text
    assert "01-plan.md" not in recording.unused


@pytest.mark.parametrize("header", ["<!-- finish: later -->\nx", "<!-- colour: red -->\nx"])
def test_a_malformed_recording_is_refused(tmp_path: Path, header: str) -> None:
    (tmp_path / "01.md").write_text(header)

    with pytest.raises(ValueError, match=r"01\.md"):
        Recording.load(tmp_path)
