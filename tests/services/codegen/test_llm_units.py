"""The LLM engine's pure parts: wire formats, answer parsing, plans, budgets, Retry-After."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from devgen.services.codegen.engines.llm import Budget, BudgetExceededError, Meter, Prices
from devgen.services.codegen.engines.llm.client import retry_after_seconds
from devgen.services.codegen.engines.llm.engine import collect_test_ids, mentioned_paths
from devgen.services.codegen.engines.llm.parsing import (
    OutputProblem,
    check_file,
    extract_code,
    extract_json,
)
from devgen.services.codegen.engines.llm.plan import parse_plan
from devgen.services.codegen.engines.llm.prompts import project_context
from devgen.services.codegen.engines.llm.protocols import (
    AnthropicMessages,
    Message,
    OpenAIChat,
    ProtocolError,
)
from devgen.services.codegen.files import path_problem


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("```python\nx = 1\n```", "x = 1\n"),
        ("Here it is:\n\n```py\nx = 1\n```\nHope it helps.", "x = 1\n"),
        ("```\nx = 1\n```", "x = 1\n"),
        ("x = 1", "x = 1\n"),
        ("```python\nx = 1\n", "x = 1\n"),  # the closing fence is missing
        ("```text\nnotes\n```\n```python\nx = 1\n```", "x = 1\n"),  # the labelled one wins
        ("```app/main.py\nx = 1\n```", "x = 1\n"),
        ("~~~python\nx = '```'\n~~~", "x = '```'\n"),
    ],
)
def test_code_is_found_in_the_forms_models_answer_in(answer: str, expected: str) -> None:
    assert extract_code(answer, "app/main.py") == expected


def test_an_empty_or_cut_off_answer_is_a_problem_to_send_back() -> None:
    with pytest.raises(OutputProblem, match="no content"):
        extract_code("```python\n```", "app/main.py")
    with pytest.raises(OutputProblem, match="cut off"):
        extract_code("```python\nx = 1\n```", "app/main.py", truncated=True)


@pytest.mark.parametrize(
    ("path", "content", "message"),
    [
        ("app/x.py", "def f(:\n", "does not compile: line 1"),
        ("data.json", "{", "does not parse"),
        ("pyproject.toml", "[tool", "does not parse"),
        ("k8s/a.yaml", "a: [", "does not parse"),
    ],
)
def test_files_are_checked_by_their_kind(path: str, content: str, message: str) -> None:
    with pytest.raises(OutputProblem, match=message):
        check_file(path, content)
    check_file("README.md", "def f(:")  # prose is not parsed


def test_json_is_found_among_chatter() -> None:
    assert extract_json('Sure!\n```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('The plan is {"a": {"b": 2}} as asked.') == {"a": {"b": 2}}
    with pytest.raises(OutputProblem, match="not valid JSON"):
        extract_json("{files: [a]}")
    with pytest.raises(OutputProblem, match="no JSON"):
        extract_json("nothing here")


def test_a_plan_lists_every_problem_with_its_place() -> None:
    with pytest.raises(OutputProblem) as caught:
        parse_plan(
            {
                "files": [
                    {"path": "/etc/passwd"},
                    {"path": "app/a.py", "depends_on": ["app/b.py"]},
                    {"path": "app/a.py"},
                ]
            },
            max_files=2,
        )
    message = str(caught.value)
    assert "files: at most 2 files" in message
    assert "files[0].path: the path must be relative" in message
    assert "files[1].depends_on[0]: 'app/b.py' is not in the plan" in message
    assert "files[2].path: 'app/a.py' is planned twice" in message
    assert "pytest module" in message
    with pytest.raises(OutputProblem, match="files: Field required"):
        parse_plan({"notes": "x"}, max_files=5)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("app/main.py", None),
        (".github/workflows/ci.yml", None),
        ("../x.py", "'..'"),
        ("/abs.py", "relative"),
        ("C:/x.py", "relative"),
        ("a\\b.py", "'/'"),
        ("a//b.py", "empty"),
        ("a/b c.py", "plain name"),
        ("a/\x00.py", "plain name"),
        ("", "empty"),
    ],
)
def test_project_paths_stay_inside_the_project(path: str, problem: str | None) -> None:
    found = path_problem(path)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_openai_wire_format() -> None:
    protocol = OpenAIChat()
    body = protocol.body(
        model="m", system="sys", messages=[Message("user", "hi")], max_tokens=9, temperature=0
    )
    assert body["messages"] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "hi"},
    ]
    assert protocol.headers("k") == {"Authorization": "Bearer k"}
    assert protocol.headers("") == {}
    completion = protocol.parse(
        {
            "choices": [{"message": {"content": "x"}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4},
        }
    )
    assert (completion.text, completion.input_tokens, completion.output_tokens) == ("x", 3, 4)
    assert completion.truncated
    assert protocol.parse({"choices": [{"message": {"content": "abcd"}}]}).usage_estimated
    with pytest.raises(ProtocolError):
        protocol.parse({"choices": []})


def test_anthropic_wire_format() -> None:
    protocol = AnthropicMessages("2023-06-01")
    body = protocol.body(
        model="m", system="sys", messages=[Message("user", "hi")], max_tokens=9, temperature=0
    )
    assert body["system"] == "sys"
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert protocol.headers("k") == {"anthropic-version": "2023-06-01", "x-api-key": "k"}
    completion = protocol.parse(
        {
            "content": [
                {"type": "text", "text": "a"},
                {"type": "tool_use"},
                {"type": "text", "text": "b"},
            ],
            "stop_reason": "max_tokens",
            "usage": {"input_tokens": 5, "output_tokens": 6},
        }
    )
    assert (completion.text, completion.input_tokens, completion.output_tokens) == ("ab", 5, 6)
    assert completion.truncated
    with pytest.raises(ProtocolError):
        protocol.parse({"type": "error"})


def test_retry_after_is_read_in_every_form() -> None:
    assert retry_after_seconds(httpx.Headers({"retry-after": "3"})) == 3
    assert retry_after_seconds(httpx.Headers({"retry-after-ms": "250"})) == 0.25
    when = email.utils.formatdate(1_000_010, usegmt=True)
    assert retry_after_seconds(httpx.Headers({"retry-after": when}), now=1_000_000) == 10
    assert retry_after_seconds(httpx.Headers({"retry-after": "soon"})) is None
    assert retry_after_seconds(httpx.Headers()) is None


def test_the_meter_shrinks_the_call_to_the_budget_and_then_refuses() -> None:
    meter = Meter(Budget(max_tokens=2000, max_cost_usd=100))
    assert meter.allowance(prompt_chars=300, wanted_output_tokens=4096) == 2000 - 100
    meter.record(1300, 400)
    with pytest.raises(BudgetExceededError) as caught:
        meter.allowance(prompt_chars=300, wanted_output_tokens=4096)
    assert caught.value.details["usage"]["total_tokens"] == 1700


def test_the_meter_counts_cost_with_prices() -> None:
    meter = Meter(Budget(max_tokens=10**9, max_cost_usd=0.05), Prices(0.01, 0.02))
    meter.record(1000, 1000)
    assert meter.usage.cost_usd == pytest.approx(0.03)
    # 0.02 left, minus the prompt (0.001): room for 950 output tokens.
    assert meter.allowance(prompt_chars=300, wanted_output_tokens=4096) == 950


def test_the_context_puts_dependencies_first_and_names_what_does_not_fit() -> None:
    written = {"a.py": "a" * 50, "b.py": "b" * 50, "c.py": "c" * 500}
    context = project_context(written, ["b.py"], limit_chars=200)
    assert context.index("### b.py") < context.index("### a.py")
    assert "not shown, to save space): c.py" in context


def test_test_ids_and_mentioned_paths() -> None:
    files = {
        "tests/test_a.py": (
            "def test_one():\n    pass\n\nclass TestB:\n    def test_two(self):\n        pass\n"
        ),
        "app/a.py": "x = 1\n",
    }
    assert collect_test_ids(files) == (
        "tests/test_a.py::test_one",
        "tests/test_a.py::TestB::test_two",
    )
    assert mentioned_paths(["app/a.py", "a.py"], ['File "app/a.py", line 3']) == ["app/a.py"]
