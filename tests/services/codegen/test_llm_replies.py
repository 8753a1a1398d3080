"""What real models send, against the stand-in: fences, refusals, cut-offs, filters, reasoning
models and structured output (issue 13, "What real models do")."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devgen.services.codegen.engines.llm import (
    Budget,
    LLMClient,
    LLMEngine,
    LLMOutputError,
    LLMUnavailableError,
    Meter,
    Prices,
)
from devgen.services.codegen.engines.llm.conversation import (
    CONTINUE_PROMPT,
    ask,
    join_continuation,
)
from devgen.services.codegen.engines.llm.errors import LLMRefusedError
from devgen.services.codegen.engines.llm.parsing import (
    OutputProblem,
    RefusalProblem,
    check_file,
    extract_code,
    extract_json,
)
from devgen.services.codegen.engines.llm.protocols import (
    Completion,
    OpenAIChat,
    Schema,
    is_reasoning_model,
)
from devgen.services.codegen.spec import validate_spec
from tests.llm_standin import LLMStandIn, replies
from tests.services.codegen.llm_support import MAIN, PLAN, TEST_MAIN, llm_settings, project_replies

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PATH = "app/main.py"
PLAN_SCHEMA = Schema(
    "file_plan",
    {
        "type": "object",
        "properties": {"files": {"type": "array", "items": {"type": "object"}}},
        "required": ["files"],
    },
)


def _spec():
    return validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))


def _read_file(answer: Completion) -> str:
    content = extract_code(answer.text, PATH, truncated=answer.truncated)
    check_file(PATH, content)
    return content


async def _ask_file(client: LLMClient, meter: Meter | None = None, **kwargs: Any) -> str:
    return await ask(
        client,
        meter or _meter(),
        system="You write files.",
        prompt=f"Write {PATH}.",
        read=_read_file,
        retries=kwargs.pop("retries", 2),
        max_tokens=kwargs.pop("max_tokens", 1024),
        what=f"content for {PATH}",
        **kwargs,
    )


def _meter(prices: Prices | None = None) -> Meter:
    return Meter(Budget(max_tokens=10**7, max_cost_usd=100), prices or Prices())


@pytest.fixture
async def client(standin: LLMStandIn, provider: str) -> AsyncIterator[LLMClient]:
    """A client of either protocol against the stand-in."""
    llm = LLMClient.from_settings(llm_settings(standin, provider))
    yield llm
    await llm.aclose()


# --- fences ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        # The fence's info string names the file; the first python fence is another file.
        "Files:\n\n```python tests/test_main.py\nimport app\n```\n\n"
        "```python app/main.py\nx = 1\n```",
        # The line above the fence names it (bold, heading, backticks, "File:").
        "**tests/test_main.py**\n```python\nimport app\n```\n\n"
        "**app/main.py**\n```python\nx = 1\n```",
        "### `tests/conftest.py`\n```python\nimport app\n```\n"
        "### `app/main.py`\n```python\nx = 1\n```",
        "File: app/util.py\n```python\ny = 2\n```\nFile: app/main.py\n```python\nx = 1\n```",
        # A comment on the fence's first line names it.
        "```python\n# tests/test_main.py\nimport app\n```\n```python\n# app/main.py\nx = 1\n```",
        # A usage example comes first, in a plain python fence: the named file still wins.
        "Use it like this:\n```python\nfrom app.main import x\nprint(x)\n```\n```python:app/main.py"
        "\nx = 1\n```",
        # The prose right above names the path.
        "Here is the updated app/main.py:\n\n```py\nx = 1\n```\n\n"
        "And a test:\n```python\nassert 1\n```",
    ],
)
def test_the_fence_labelled_with_the_requested_path_is_taken(answer: str) -> None:
    content = extract_code(answer, PATH)

    assert content.rstrip().endswith("x = 1")
    assert "import app" not in content
    assert "print(x)" not in content


def test_a_fence_labelled_with_another_path_is_never_taken_for_the_file() -> None:
    answer = "```python tests/test_main.py\nimport app\n```\n```python app/models.py\nx = 1\n```"

    with pytest.raises(OutputProblem, match=r"holds app/models\.py, tests/test_main\.py but not"):
        extract_code(answer, PATH)


def test_unlabelled_fences_give_the_longest_in_the_file_s_language() -> None:
    answer = (
        "Install:\n```bash\npip install fastapi uvicorn httpx pytest pytest-asyncio\n```\n"
        "Example:\n```python\nprint(1)\n```\nThe file:\n```python\nx = 1\ny = 2\nz = 3\n```"
    )

    assert extract_code(answer, PATH) == "x = 1\ny = 2\nz = 3\n"


def test_json_is_read_in_a_fence_bare_or_among_prose() -> None:
    assert extract_json('Here:\n```json\n{"files": []}\n```\nDone.') == {"files": []}
    assert extract_json('```\n{"files": [1]}\n```') == {"files": [1]}
    assert extract_json('{"files": [2]}') == {"files": [2]}
    assert extract_json('The plan is {"files": [3]}, as you asked.') == {"files": [3]}


@pytest.mark.parametrize(
    "answer",
    [
        "I can't help with that.",
        "I\u2019m sorry, but I can\u2019t assist with this request.",
        "Sorry, I cannot write that file.",
        "Unfortunately, I am unable to comply.",
        "   ",
    ],
)
def test_a_refusal_or_nothing_is_never_read_as_a_file(answer: str) -> None:
    with pytest.raises(RefusalProblem) as caught:
        extract_code(answer, "README.md")  # even where any text would be a valid file
    assert caught.value.words == (answer.strip() or "(empty answer)")
    with pytest.raises(RefusalProblem):
        extract_json(answer)


def test_code_that_merely_mentions_inability_is_still_code() -> None:
    answer = "```python\n# I can't believe this works\nx = 1\n```"

    assert extract_code(answer, PATH).endswith("x = 1\n")


# --- against the stand-in: fences and chatter end to end ----------------------------------


async def test_a_chatty_multi_fence_project_is_written_from_the_labelled_fences(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    answers = project_replies()
    # The engineer's answer for app/main.py also holds the tests, first, and an example.
    answers[2] = replies.multi_fence(
        {"tests/test_main.py": TEST_MAIN, "app/main.py": MAIN},
        example="import httpx\nprint(httpx.get('http://localhost:8000/items/2').json())",
    )
    answers[4] = replies.chatty(TEST_MAIN, "tests/test_main.py")
    answers[0] = replies.Reply(text=f"Here is my plan.\n\n{json.dumps(PLAN)}\n\nShall I go on?")
    standin.script(*answers)

    project = await engine.generate(_spec(), meter=engine.meter())

    assert "def read_item" in project.files["app/main.py"]
    assert "TestClient" not in project.files["app/main.py"]
    assert "httpx.get" not in project.files["app/main.py"]
    assert "def test_item_is_doubled" in project.files["tests/test_main.py"]
    assert "Let me know" not in project.files["tests/test_main.py"]
    assert standin.count == 6  # nothing was asked twice


async def test_an_answer_without_any_fence_is_taken_whole(
    standin: LLMStandIn, client: LLMClient
) -> None:
    standin.script(replies.text("x = 1\n"))

    assert await _ask_file(client) == "x = 1\n"


# --- refusals, empty and filtered answers ------------------------------------------------


@pytest.mark.parametrize(
    "first",
    [
        replies.refusing(),  # OpenAI message.refusal / Anthropic stop_reason: refusal
        replies.refusing_in_text(),  # the words in an ordinary answer
        replies.empty(),
        replies.filtered(),  # OpenAI content_filter (Anthropic: refusal)
    ],
    ids=["refusal-stop", "refusal-text", "empty", "filtered"],
)
async def test_a_refusal_is_asked_again_once_and_never_stored(
    standin: LLMStandIn, client: LLMClient, first: replies.Reply
) -> None:
    standin.script(first, replies.fenced("x = 1"))

    assert await _ask_file(client) == "x = 1\n"

    assert standin.count == 2
    again = standin.requests[1]
    assert "ordinary software engineering task" in again.last_user
    assert again.messages[-2]["role"] == "assistant"


async def test_a_second_refusal_fails_the_file_with_the_model_s_words(
    standin: LLMStandIn, client: LLMClient
) -> None:
    standin.script(
        replies.refusing("I can't help with that."),
        replies.refusing("I'm sorry, I won't write code that scrapes websites."),
    )

    with pytest.raises(LLMRefusedError) as caught:
        await _ask_file(client, retries=5)

    assert standin.count == 2  # once again, not retries times
    error = caught.value
    assert isinstance(error, LLMOutputError)  # the API's LLM_OUTPUT_INVALID
    assert error.details["model_said"] == "I'm sorry, I won't write code that scrapes websites."
    assert "app/main.py" in error.message
    assert "scrapes websites" in error.message


async def test_an_empty_answer_twice_fails_the_file(standin: LLMStandIn, client: LLMClient) -> None:
    standin.script(replies.empty(), replies.empty())

    with pytest.raises(LLMRefusedError, match=r"\(empty answer\)"):
        await _ask_file(client)


async def test_the_wire_forms_of_a_refusal(standin: LLMStandIn) -> None:
    standin.script(replies.refusing("No."), replies.filtered("partial"))
    refused, filtered = await _post_raw(standin, "openai", 2)
    choice = refused["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": None, "refusal": "No."}
    assert filtered["choices"][0]["finish_reason"] == "content_filter"

    standin.script(replies.refusing("No."), replies.cut_off("abc"))
    refused, cut = await _post_raw(standin, "anthropic", 2)
    assert refused["stop_reason"] == "refusal"
    assert cut["stop_reason"] == "max_tokens"
    parsed = OpenAIChat().parse(
        {"choices": [{"message": {"content": None, "refusal": "No."}, "finish_reason": "stop"}]}
    )
    assert (parsed.stop, parsed.refusal) == ("refusal", "No.")


async def _post_raw(standin: LLMStandIn, protocol: str, times: int) -> list[Any]:
    """POST the smallest valid request of ``protocol`` to the stand-in; its JSON answers."""
    if protocol == "openai":
        url = f"{standin.openai_base_url}/chat/completions"
        headers = {"authorization": f"Bearer {standin.api_key}"}
    else:
        url = f"{standin.anthropic_base_url}/v1/messages"
        headers = {"x-api-key": standin.api_key, "anthropic-version": "2023-06-01"}
    body = {
        "model": standin.model,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
    }
    async with httpx.AsyncClient() as http:
        return [(await http.post(url, json=body, headers=headers)).json() for _ in range(times)]


# --- answers cut at the output limit --------------------------------------------------------


async def test_a_cut_off_answer_is_continued_not_asked_again(
    standin: LLMStandIn, client: LLMClient, provider: str
) -> None:
    half = len(MAIN) // 2
    standin.script(
        replies.cut_off(f"Here is the file.\n\n```python\n{MAIN[:half]}"),
        # The model reopens the code block and repeats the last few characters.
        replies.text(f"```python\n{MAIN[half - 12 :]}```\n"),
    )
    meter = _meter()

    content = await _ask_file(client, meter)

    assert content == MAIN
    assert standin.count == 2
    resumed = standin.requests[1]
    roles = [m["role"] for m in resumed.messages if m["role"] != "system"]
    assert roles == ["user", "assistant", "user"]
    assert resumed.last_user == CONTINUE_PROMPT
    assert resumed.messages[-2]["content"].endswith(MAIN[:half].rstrip())
    assert meter.usage.calls == 2  # both halves are paid for


async def test_an_answer_cut_beyond_the_continuations_is_asked_again_shorter(
    standin: LLMStandIn, provider: str
) -> None:
    client = LLMClient.from_settings(llm_settings(standin, provider, llm_max_continuations=1))
    standin.script(
        replies.cut_off("```python\nx = 1\n"),
        replies.cut_off("y = 2\n"),
        replies.fenced("x = 1"),
    )

    assert await _ask_file(client) == "x = 1\n"
    await client.aclose()

    assert standin.count == 3
    assert standin.requests[1].last_user == CONTINUE_PROMPT
    assert "more concisely" in standin.requests[2].last_user


def test_a_continuation_is_joined_without_what_it_repeats() -> None:
    assert join_continuation("```python\ndef f():\n", "```python\n    return 1\n```") == (
        "```python\ndef f():\n    return 1\n```"
    )
    assert join_continuation("value = compute(alpha,", "compute(alpha, beta)") == (
        "value = compute(alpha, beta)"
    )
    assert join_continuation("a = 1\n", "b = 2\n") == "a = 1\nb = 2\n"


# --- reasoning models ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("o1", True),
        ("o3-mini", True),
        ("o4-mini-2025-04-16", True),
        ("gpt-5", True),
        ("gpt-5.1-codex", True),
        ("openai/o3", True),
        ("gpt-4o", False),
        ("gpt-4.1-mini", False),
        ("llama3.1:8b", False),
        ("qwen2.5-coder", False),
    ],
)
def test_reasoning_models_are_known_by_name(model: str, reasoning: bool) -> None:
    assert is_reasoning_model(model) is reasoning


async def test_a_reasoning_model_gets_max_completion_tokens_and_its_reasoning_is_paid() -> None:
    with LLMStandIn(model="o3-mini") as standin:
        settings = llm_settings(
            standin, llm_price_input_per_1k=0.001, llm_price_output_per_1k=0.004
        )
        client = LLMClient.from_settings(settings)
        standin.script(replies.reasoning("```python\nx = 1\n```", reasoning_tokens=950))
        meter = _meter(Prices(0.001, 0.004))

        assert await _ask_file(client, meter) == "x = 1\n"
        await client.aclose()

        body = standin.requests[0].body
    assert body["max_completion_tokens"] == 1024
    assert "max_tokens" not in body
    assert "temperature" not in body
    assert meter.usage.reasoning_tokens == 950
    assert meter.usage.output_tokens == 1000  # the 50 visible ones and the 950 reasoning ones
    assert meter.usage.cost_usd == pytest.approx(0.2 * 0.001 + 1.0 * 0.004)


async def test_a_reasoning_model_refuses_the_classic_request_form() -> None:
    # The stand-in answers as OpenAI does when max_tokens or a temperature is sent to o3.
    with LLMStandIn(model="o3") as standin:
        client = LLMClient.from_settings(llm_settings(standin, llm_reasoning="off"))
        with pytest.raises(LLMUnavailableError, match="status 400"):
            await _ask_file(client)
        await client.aclose()
    assert standin.count == 1


async def test_the_reasoning_form_can_be_forced_for_a_model_named_otherwise() -> None:
    with LLMStandIn(model="my-deployment") as standin:
        client = LLMClient.from_settings(llm_settings(standin, llm_reasoning="on"))
        standin.script(replies.fenced("x = 1"))
        await _ask_file(client)
        await client.aclose()
    assert "max_completion_tokens" in standin.requests[0].body


# --- structured output -----------------------------------------------------------------------


async def _ask_plan(client: LLMClient) -> Any:
    return await ask(
        client,
        _meter(),
        system="You plan.",
        prompt="Plan the files.",
        read=lambda answer: extract_json(answer.text, truncated=answer.truncated),
        retries=1,
        max_tokens=1024,
        what="file plan",
        schema=PLAN_SCHEMA,
    )


async def test_structured_output_is_asked_for_in_each_protocol_s_form(provider: str) -> None:
    with LLMStandIn() as standin:
        client = LLMClient.from_settings(
            llm_settings(standin, provider, llm_structured_output="on")
        )
        standin.script(replies.json_answer(PLAN))
        assert await _ask_plan(client) == PLAN
        await client.aclose()
    body = standin.requests[0].body
    if provider == "openai":
        assert body["response_format"]["type"] == "json_schema"
        assert body["response_format"]["json_schema"]["name"] == "file_plan"
        assert body["response_format"]["json_schema"]["schema"] == PLAN_SCHEMA.schema
    else:
        assert body["tools"][0]["input_schema"] == PLAN_SCHEMA.schema
        assert body["tool_choice"] == {"type": "tool", "name": body["tools"][0]["name"]}


@pytest.mark.parametrize("endpoint", ["reject", "ignore"])
async def test_an_endpoint_without_structured_output_falls_back_to_the_fence_parser(
    provider: str, endpoint: str
) -> None:
    with LLMStandIn(structured=endpoint) as standin:  # type: ignore[arg-type]
        client = LLMClient.from_settings(
            llm_settings(standin, provider, llm_structured_output="on")
        )
        standin.script(replies.json_answer(PLAN), replies.json_answer(PLAN))
        assert await _ask_plan(client) == PLAN
        assert await _ask_plan(client) == PLAN  # and the next call does not try again
        await client.aclose()
    asked = ["response_format" in r.body or "tools" in r.body for r in standin.requests]
    if endpoint == "reject":
        assert asked == [True, False, False]  # one 400, then plain requests
        assert client.structured_output is False
    else:
        assert asked == [True, True]  # ignored: the fenced answer is read


def test_structured_output_is_on_by_default_only_where_it_is_known_to_be_offered() -> None:
    from devgen.services.codegen.engines.llm import LLMSettings

    def on(**values: Any) -> bool:
        return LLMSettings(llm_model="m", **values).structured_output

    assert on(llm_provider="anthropic", llm_base_url="https://api.anthropic.com")
    assert on(llm_base_url="https://api.openai.com/v1")
    assert not on(llm_base_url="http://localhost:11434/v1")  # Ollama, vLLM, llama.cpp: opt in
    assert on(llm_base_url="http://localhost:8000/v1", llm_structured_output="on")


async def test_the_architect_s_plan_uses_structured_output(provider: str) -> None:
    with LLMStandIn() as standin:
        settings = llm_settings(standin, provider, llm_structured_output="on")
        client = LLMClient.from_settings(settings)
        standin.script(*project_replies())
        project = await LLMEngine(client, settings).generate(_spec(), meter=_meter())
        await client.aclose()
    assert sorted(project.files) == sorted(f["path"] for f in PLAN["files"])
    plan_request = standin.requests[0].body
    assert "response_format" in plan_request or "tool_choice" in plan_request
