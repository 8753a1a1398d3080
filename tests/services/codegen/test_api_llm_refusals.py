"""A model that declines, over codegen's API: the file fails with the model's words."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import Account, assert_error
from tests.llm_standin import LLMStandIn, replies
from tests.services.codegen.llm_support import project_replies

# The platform configured for the stand-in, as the LLM API tests start it.
from tests.services.codegen.test_api_llm import (  # noqa: F401
    API,
    _event_types,
    _spec,
    llm_env,
    platform,
)


@pytest.mark.usefixtures("llm_env")
async def test_a_model_that_declines_a_file_twice_fails_generation_with_its_words(
    client: httpx.AsyncClient, account: Account, standin: LLMStandIn, codegen_app: FastAPI
) -> None:
    plan, *_ = project_replies()
    words = "I'm sorry, but I can't help with building this service."
    standin.script(plan, replies.refusing(), replies.refusing_in_text(words))

    response = await client.post(
        f"{API}/generate", json={"spec": _spec(), "engine": "llm"}, headers=account.headers
    )

    error = assert_error(response, 422, "LLM_OUTPUT_INVALID")
    assert error["details"]["model_said"] == words
    assert error["details"]["what"] == "content for app/__init__.py"
    assert standin.count == 3  # the plan, the refusal, the one re-ask
    [(kind, event)] = await _event_types(codegen_app)
    assert kind == "codegen.generation.failed"
    assert words in event["message"]


@pytest.mark.usefixtures("llm_env")
async def test_the_usage_shows_reasoning_tokens(
    client: httpx.AsyncClient, account: Account, standin: LLMStandIn
) -> None:
    standin.script(
        *(
            replies.Reply(text=r.text, usage=(100, 60), reasoning_tokens=40)
            for r in project_replies()
        )
    )

    response = await client.post(
        f"{API}/generate", json={"spec": _spec(), "engine": "llm"}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    usage = response.json()["data"]["usage"]
    assert (usage["output_tokens"], usage["reasoning_tokens"]) == (6 * 60, 6 * 40)
    assert usage["billed_failures"] == 0
