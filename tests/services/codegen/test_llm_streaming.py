"""Streamed answers (server-sent events, both protocols), progress, stalls and cut-offs, and
what the provider still bills for a call that timed out or was cut (issue 13)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devgen.services.codegen.engines.llm import (
    Budget,
    BudgetExceededError,
    LLMClient,
    LLMEngine,
    Meter,
)
from devgen.services.codegen.engines.llm.client import Progress, _events, reporting_progress
from devgen.services.codegen.engines.llm.conversation import CONTINUE_PROMPT, ask
from devgen.services.codegen.engines.llm.parsing import check_file, extract_code, extract_json
from devgen.services.codegen.engines.llm.protocols import Completion, Schema
from devgen.services.codegen.spec import validate_spec
from tests.llm_standin import LLMStandIn, replies
from tests.services.codegen.llm_support import MAIN, PLAN, llm_settings, project_replies

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PATH = "app/main.py"


def _spec():
    return validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))


def _meter(max_tokens: int = 10**7) -> Meter:
    return Meter(Budget(max_tokens=max_tokens, max_cost_usd=100))


def _read_file(answer: Completion) -> str:
    content = extract_code(answer.text, PATH, truncated=answer.truncated)
    check_file(PATH, content)
    return content


async def _ask_file(client: LLMClient, meter: Meter, **kwargs: Any) -> str:
    return await ask(
        client,
        meter,
        system="You write files.",
        prompt=f"Write {PATH}.",
        read=_read_file,
        retries=2,
        max_tokens=1024,
        what=f"content for {PATH}",
        **kwargs,
    )


@pytest.fixture
async def streaming(standin: LLMStandIn, provider: str) -> AsyncIterator[LLMClient]:
    """A streaming client of either protocol, cutting a stream silent for 0.3 s."""
    settings = llm_settings(standin, provider, llm_stream=True, llm_stream_idle_seconds=0.3)
    client = LLMClient.from_settings(settings)
    yield client
    await client.aclose()


async def test_a_streamed_generation_reports_progress_and_the_real_usage(
    standin: LLMStandIn, provider: str
) -> None:
    settings = llm_settings(standin, provider, llm_stream=True)
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)
    standin.script(
        *(replies.Reply(text=r.text, data=r.data, usage=(120, 30)) for r in project_replies())
    )
    seen: list[Progress] = []

    with reporting_progress(seen.append):
        project = await engine.generate(_spec(), meter=engine.meter())
    await client.aclose()

    assert "def read_item" in project.files["app/main.py"]
    assert all(r.body["stream"] is True for r in standin.requests)
    if provider == "openai":
        assert all(r.body["stream_options"] == {"include_usage": True} for r in standin.requests)
    # The usage the stream reported (the last chunk; message_start and message_delta).
    assert (project.usage.input_tokens, project.usage.output_tokens) == (6 * 120, 6 * 30)
    finals = [p for p in seen if p.done]
    assert len(finals) == 6
    during = [p for p in seen if not p.done]
    assert during, "the longer answers report progress while they arrive"
    assert all(p.chars > 0 and p.estimated_tokens > 0 for p in seen)
    main_answer = standin.requests[2]
    assert "app/main.py" in main_answer.last_user


@pytest.mark.parametrize(
    "first",
    [
        replies.refusing(),
        replies.filtered("partial"),
        replies.empty(),
    ],
    ids=["refusal", "filtered", "empty"],
)
async def test_a_streamed_refusal_is_asked_again(
    standin: LLMStandIn, streaming: LLMClient, first: replies.Reply
) -> None:
    standin.script(first, replies.fenced("x = 1"))

    assert await _ask_file(streaming, _meter()) == "x = 1\n"
    assert standin.count == 2


async def test_a_streamed_cut_off_answer_is_continued(
    standin: LLMStandIn, streaming: LLMClient
) -> None:
    half = len(MAIN) // 2
    standin.script(replies.cut_off(f"```python\n{MAIN[:half]}"), replies.text(MAIN[half:]))

    assert await _ask_file(streaming, _meter()) == MAIN
    assert standin.requests[1].last_user == CONTINUE_PROMPT


async def test_a_stalled_stream_is_cut_retried_and_what_it_sent_is_billed(
    standin: LLMStandIn, streaming: LLMClient, provider: str
) -> None:
    standin.script(replies.stalled(MAIN, after=3), replies.Reply(text=MAIN, usage=(100, 80)))
    meter = _meter()

    assert await _ask_file(streaming, meter) == MAIN

    assert standin.count == 2
    usage = meter.usage
    assert (usage.calls, usage.billed_failures) == (1, 1)
    # The answered call (100 in, 80 out) plus the stalled one: its prompt, and three
    # 16-character deltas, about 12 tokens of output.
    assert usage.output_tokens == 80 + 12
    assert usage.input_tokens > 100


async def test_a_stream_that_ends_early_is_retried_and_billed(
    standin: LLMStandIn, streaming: LLMClient
) -> None:
    standin.script(replies.cut_stream(MAIN, after=2), replies.fenced("x = 1"))
    meter = _meter()

    assert await _ask_file(streaming, meter) == "x = 1\n"
    assert meter.usage.billed_failures == 1
    assert standin.count == 2


async def test_a_call_that_times_out_is_billed_at_its_worst_case(standin: LLMStandIn) -> None:
    # Not streamed, the endpoint had the request and may bill all it was allowed to write.
    client = LLMClient.from_settings(llm_settings(standin, llm_timeout_seconds=0.5))
    standin.script(replies.stalled("never sent"), replies.Reply(text="x = 1\n", usage=(10, 5)))
    meter = _meter()

    assert await _ask_file(client, meter) == "x = 1\n"
    await client.aclose()

    assert meter.usage.billed_failures == 1
    assert meter.usage.output_tokens == 1024 + 5  # the timed-out call's whole allowance
    assert meter.usage.input_tokens > 10


async def test_billed_failures_shrink_the_retry_to_what_the_budget_has_left(
    standin: LLMStandIn,
) -> None:
    client = LLMClient.from_settings(llm_settings(standin, llm_timeout_seconds=0.5))
    standin.script(replies.stalled("never sent"), replies.fenced("x = 1"))
    meter = _meter(max_tokens=1500)

    assert await _ask_file(client, meter) == "x = 1\n"
    await client.aclose()

    # The timed-out call may cost about 1036 tokens: the retry may write what is left.
    assert standin.requests[1].body["max_tokens"] < 1024 - 500
    assert meter.usage.total_tokens <= 1500


async def test_billed_failures_can_leave_no_room_for_the_retry(standin: LLMStandIn) -> None:
    client = LLMClient.from_settings(llm_settings(standin, llm_timeout_seconds=0.5))
    standin.script(replies.stalled("never sent"), replies.fenced("x = 1"))
    meter = _meter(max_tokens=1250)

    with pytest.raises(BudgetExceededError) as caught:
        await _ask_file(client, meter)
    await client.aclose()

    assert standin.count == 1  # the retry would have gone past the budget: not sent
    assert caught.value.details["usage"]["billed_failures"] == 1
    assert meter.usage.total_tokens <= 1250


async def test_streamed_structured_output(standin: LLMStandIn, provider: str) -> None:
    settings = llm_settings(standin, provider, llm_stream=True, llm_structured_output="on")
    client = LLMClient.from_settings(settings)
    standin.script(replies.json_answer(PLAN))

    plan = await ask(
        client,
        _meter(),
        system="You plan.",
        prompt="Plan.",
        read=lambda answer: extract_json(answer.text, truncated=answer.truncated),
        retries=0,
        max_tokens=1024,
        what="file plan",
        schema=Schema("file_plan", {"type": "object"}),
    )
    await client.aclose()

    assert plan == PLAN


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def test_server_sent_events_are_read_as_the_spec_says() -> None:
    lines = _lines(
        ": a comment keeping the connection open",
        "event: message_start",
        'data: {"a":',
        "data: 1}",
        "",
        "",  # a blank line alone dispatches nothing
        "data: [DONE]",
        "",
    )

    events = [event async for event in _events(lines, idle_seconds=5)]

    assert events == [("message_start", '{"a":\n1}'), ("", "[DONE]")]
