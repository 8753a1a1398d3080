"""The LLM engine against the stand-in server, over real HTTP on a loopback port."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from devgen.services.codegen.analyst import AnalysisError
from devgen.services.codegen.engines.llm import (
    BudgetExceededError,
    Failure,
    LLMClient,
    LLMEngine,
    LLMOutputError,
    LLMUnavailableError,
    analyze_with_llm,
)
from devgen.services.codegen.spec import validate_spec
from tests.llm_standin import LLMStandIn, replies
from tests.project_checks import check_project
from tests.services.codegen.llm_support import (
    BROKEN_MAIN,
    MAIN,
    PLAN,
    llm_settings,
    project_replies,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _spec():
    return validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))


def _write(files: dict[str, str], root: Path) -> None:
    for path, content in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


@pytest.mark.slow
async def test_architect_and_engineer_write_a_project_that_passes_its_checks(
    standin: LLMStandIn, provider: str, tmp_path: Path
) -> None:
    settings = llm_settings(standin, provider)
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)
    standin.script(*project_replies())

    project = await engine.generate(
        _spec(), meter=engine.meter(), requirement="A to-do list keeps tasks."
    )
    await client.aclose()

    assert sorted(project.files) == sorted(entry["path"] for entry in PLAN["files"])
    # The architect and the engineers see the requirement and the stories with criteria.
    for request in (standin.requests[0], standin.requests[2]):
        assert "A to-do list keeps tasks." in request.last_user
        assert '"acceptance_criteria":' in request.last_user
    _write(project.files, tmp_path)
    check = check_project(tmp_path)
    assert check.ok, check.output
    assert sorted(check.passed) == sorted(project.tests)
    assert project.tests == (
        "tests/test_main.py::test_health",
        "tests/test_main.py::test_item_is_doubled",
    )
    assert standin.count == 6
    assert project.usage.calls == 6
    assert project.usage.total_tokens > 0
    # The engineer writing the tests saw the plan and the application module it depends on.
    test_prompt = standin.requests[4].last_user
    assert "tests/test_main.py" in test_prompt
    assert "read_item" in test_prompt


async def test_the_protocols_speak_their_own_wire_format(
    standin: LLMStandIn, provider: str
) -> None:
    settings = llm_settings(standin, provider)
    client = LLMClient.from_settings(settings)
    standin.script(replies.json_answer({"error": "nothing to store"}))

    with pytest.raises(AnalysisError):
        await analyze_with_llm(
            client, LLMEngine(client, settings).meter(), "Hello.", retries=0, max_tokens=512
        )
    await client.aclose()

    request = standin.requests[0]
    assert request.protocol == provider
    if provider == "anthropic":
        assert request.headers["x-api-key"] == standin.api_key
        assert request.headers["anthropic-version"] == "2023-06-01"
        assert "business analyst" in request.body["system"]
        assert [m["role"] for m in request.messages] == ["user"]
    else:
        assert request.headers["authorization"] == f"Bearer {standin.api_key}"
        assert [m["role"] for m in request.messages] == ["system", "user"]
    assert request.body["model"] == standin.model
    assert request.body["max_tokens"] == 512


async def test_a_malformed_plan_is_sent_back_and_the_corrected_one_used(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    bad_plan = {"files": [{"path": "../outside.py"}, {"path": "app/main.py"}]}
    standin.script(
        replies.text("Sure! The plan: {files: [app/main.py]}"),  # not JSON
        replies.json_answer(bad_plan),
        *project_replies(),
    )

    project = await engine.generate(_spec(), meter=engine.meter())

    assert "app/main.py" in project.files
    assert "not valid JSON" in standin.requests[1].last_user
    second_problem = standin.requests[2].last_user
    assert "files[0].path" in second_problem
    assert "plan at least one pytest module" in second_problem
    # The conversation carries the rejected answer and the reason.
    assert standin.requests[2].messages[-2]["role"] == "assistant"


async def test_code_that_does_not_compile_is_sent_back(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    answers = project_replies()
    answers.insert(2, replies.fenced("def broken(:\n    pass\n"))
    standin.script(*answers)

    project = await engine.generate(_spec(), meter=engine.meter())

    assert "read_item" in project.files["app/main.py"]
    assert "app/main.py does not compile: line 1" in standin.requests[3].last_user


async def test_malformed_output_beyond_the_retries_is_a_clear_error(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    standin.script(*(replies.text("no plan, sorry") for _ in range(3)))

    with pytest.raises(LLMOutputError, match="file plan") as caught:
        await engine.generate(_spec(), meter=engine.meter())

    assert caught.value.details["answers"] == 3
    assert standin.count == 3


async def test_429_waits_what_retry_after_says(standin: LLMStandIn, engine: LLMEngine) -> None:
    standin.script(replies.rate_limited("1"), *project_replies())

    started = time.monotonic()
    await engine.generate(_spec(), meter=engine.meter())

    assert time.monotonic() - started >= 1.0
    assert standin.count == 7


async def test_a_rate_limit_longer_than_the_cap_is_not_sat_out(standin: LLMStandIn) -> None:
    settings = llm_settings(standin, llm_retry_after_max_seconds=2)
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)
    standin.script(replies.rate_limited("120"))

    with pytest.raises(LLMUnavailableError) as caught:
        await engine.generate(_spec(), meter=engine.meter())
    await client.aclose()

    assert caught.value.retry_after == 120
    assert standin.count == 1


async def test_5xx_truncated_and_malformed_bodies_are_retried(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    standin.script(
        replies.server_error(500),
        replies.truncated(),
        replies.malformed(),
        *project_replies(),
    )

    project = await engine.generate(_spec(), meter=engine.meter())

    assert "app/main.py" in project.files
    assert standin.count == 9
    assert project.usage.calls == 6  # failed attempts cost nothing


async def test_a_failing_endpoint_stops_after_the_retries_and_opens_the_breaker(
    standin: LLMStandIn,
) -> None:
    settings = llm_settings(standin, llm_max_retries=1, llm_breaker_failures=2)
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)
    standin.respond_with(lambda _request: replies.server_error(503))

    with pytest.raises(LLMUnavailableError, match="failed 2 times"):
        await engine.generate(_spec(), meter=engine.meter())
    assert standin.count == 2
    with pytest.raises(LLMUnavailableError, match="paused"):
        await engine.generate(_spec(), meter=engine.meter())
    await client.aclose()

    assert standin.count == 2  # the open circuit sent nothing


async def test_a_refused_key_is_not_retried(standin: LLMStandIn) -> None:
    settings = llm_settings(standin, llm_api_key="wrong")
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)

    with pytest.raises(LLMUnavailableError, match="status 401") as caught:
        await engine.generate(_spec(), meter=engine.meter())
    await client.aclose()

    assert standin.count == 1
    assert "wrong" not in json.dumps(caught.value.details)


async def test_the_budget_stops_the_request_before_a_call_could_exceed_it(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    standin.script(*(replies.Reply(text=r.text, usage=(3000, 500)) for r in project_replies()))

    with pytest.raises(BudgetExceededError) as caught:
        await engine.generate(_spec(), meter=engine.meter(max_tokens=8000))

    assert standin.count == 2  # the plan and one file; the third call was never made
    details = caught.value.details
    assert details["usage"]["total_tokens"] == 7000
    assert details["budget"]["max_tokens"] == 8000
    assert standin.pending == 4


async def test_a_cost_budget_counts_the_configured_prices(standin: LLMStandIn) -> None:
    settings = llm_settings(standin, llm_price_input_per_1k=0.01, llm_price_output_per_1k=0.03)
    client = LLMClient.from_settings(settings)
    engine = LLMEngine(client, settings)
    standin.script(*(replies.Reply(text=r.text, usage=(1000, 1000)) for r in project_replies()))

    with pytest.raises(BudgetExceededError):
        await engine.generate(_spec(), meter=engine.meter(max_cost_usd=0.09))
    await client.aclose()

    # Each call costs 0.04 USD; after two, the third's prompt alone would take the rest.
    assert standin.count == 2


@pytest.mark.slow
async def test_repair_turns_a_failing_test_into_a_passing_one(
    standin: LLMStandIn, engine: LLMEngine, tmp_path: Path
) -> None:
    standin.script(*project_replies(main=BROKEN_MAIN))
    project = await engine.generate(_spec(), meter=engine.meter())
    _write(project.files, tmp_path / "before")
    before = check_project(tmp_path / "before", coverage=False)
    assert before.failed == ["tests/test_main.py::test_item_is_doubled"]

    # The failure names only the test file: the architect is asked which file to change
    # (first answer), then the engineer rewrites it (second answer).
    standin.script(replies.json_answer({"files": ["app/main.py"]}), replies.fenced(MAIN))
    result = await engine.repair(
        project.files,
        meter=engine.meter(),
        failures=[Failure(test=test, message="AssertionError") for test in before.failed],
        output=before.output,
        spec=_spec(),
    )

    assert result.targets == ["app/main.py"]
    assert result.changed == ["app/main.py"]
    assert result.usage.calls == 2
    triage, fix = standin.requests[-2:]
    assert "test_item_is_doubled" in triage.last_user
    assert "item_id * 3" in fix.last_user  # the engineer sees the current file
    _write(result.files, tmp_path / "after")
    after = check_project(tmp_path / "after", coverage=False)
    assert after.ok, after.output


async def test_repair_fixes_the_files_the_failures_name_without_asking(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    files = {"app/main.py": BROKEN_MAIN, "tests/test_main.py": "def test_x():\n    pass\n"}
    standin.script(replies.fenced(MAIN))

    result = await engine.repair(
        files,
        meter=engine.meter(),
        failures=[Failure(test="tests/test_main.py::test_x", message="app/main.py:9: wrong")],
    )

    assert result.targets == ["app/main.py"]
    assert standin.count == 1
    assert result.files["tests/test_main.py"] == files["tests/test_main.py"]


async def test_the_llm_analyst_resends_validation_errors_until_the_spec_is_valid(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    good = {
        "name": "notes",
        "entities": [{"name": "note", "fields": [{"name": "title", "type": "string"}]}],
    }
    bad = {
        "name": "notes",
        "entities": [{"name": "note", "fields": [{"name": "title", "type": "varchar"}]}],
    }
    standin.script(replies.json_answer(bad), replies.json_answer(good, fence=False))

    result = await analyze_with_llm(
        engine.client, engine.meter(), "Notes have a title.", retries=2, max_tokens=2048
    )

    assert result.source == "llm"
    assert [e.name for e in result.spec.entities] == ["note"]
    assert result.spec.user_stories  # derived when the model gave none
    assert "entities[0].fields[0].type" in standin.requests[1].last_user
    assert '"$defs"' in standin.requests[0].last_user  # the schema was in the prompt


async def test_the_engine_refuses_an_unknown_template_without_calling(
    standin: LLMStandIn, engine: LLMEngine
) -> None:
    from devgen.services.codegen.engines import GenerationError

    with pytest.raises(GenerationError, match="unknown template"):
        await engine.generate(_spec(), meter=engine.meter(), template="django")
    assert standin.count == 0
