"""Workflow validation and compilation, and the state machines (no database)."""

from __future__ import annotations

import pytest

from devgen.services.orchestrator.states import (
    InvalidTransition,
    State,
    check_run_transition,
    check_task_transition,
)
from devgen.services.orchestrator.workflow import (
    DEFAULT_WORKFLOW,
    RetryPolicy,
    WorkflowInvalid,
    compile_workflow,
    parse_workflow,
    validate_workflow,
)


def _steps(*steps: dict) -> object:
    return parse_workflow({"steps": list(steps)})


def test_the_default_workflow_binds_each_input_to_the_nearest_producer():
    plan = {step.id: step for step in compile_workflow(DEFAULT_WORKFLOW)}
    assert list(plan) == [
        "analyze",
        "generate",
        "validate",
        "test",
        "repair",
        "contract",
        "package",
    ]
    assert plan["generate"].bindings == {"spec": ["analyze.spec", "run.spec"]}
    assert plan["test"].bindings == {"files": ["generate.files"]}
    assert plan["repair"].bindings["test_run"] == ["test.test_run"]
    # The repaired files when the repair ran, else the generated ones.
    assert plan["package"].bindings["files"] == ["repair.files", "generate.files"]
    assert plan["package"].bindings["test_run"] == ["repair.test_run", "test.test_run"]
    assert plan["package"].bindings["diagnostics"] == ["validate.diagnostics"]


def test_a_cycle_is_named_step_by_step():
    workflow = _steps(
        {"id": "a", "type": "analyze", "needs": ["c"]},
        {"id": "b", "type": "generate", "needs": ["a"]},
        {"id": "c", "type": "test", "needs": ["b"]},
    )
    (problem,) = validate_workflow(workflow)
    assert problem.message == "the steps form a cycle: a -> c -> b -> a"


def test_every_problem_is_reported_at_once():
    workflow = _steps(
        {"id": "a", "type": "analyse"},
        {"id": "a", "type": "test", "needs": ["a", "zz"]},
    )
    paths = {problem.path for problem in validate_workflow(workflow)}
    assert paths == {"steps[0].type", "steps[1].id", "steps[1].needs[0]", "steps[1].needs[1]"}


def test_an_explicit_source_must_be_an_earlier_step_that_produces_it():
    workflow = _steps(
        {"id": "a", "type": "analyze"},
        {"id": "g", "type": "generate", "needs": ["a"]},
        {"id": "t", "type": "test", "needs": ["g"], "inputs": {"files": "a.files"}},
    )
    (problem,) = validate_workflow(workflow)
    assert problem.path == "steps[2].inputs.files"
    assert "analyze steps produce" in problem.message


def test_a_spec_can_come_from_the_run_instead_of_an_analyst():
    plan = compile_workflow(
        _steps(
            {"id": "g", "type": "generate"},
            {"id": "p", "type": "package", "needs": ["g"]},
        )
    )
    assert plan[0].bindings == {"spec": ["run.spec"]}


def test_an_unknown_input_name_is_refused():
    workflow = _steps({"id": "a", "type": "analyze", "inputs": {"colour": "run.spec"}})
    (problem,) = validate_workflow(workflow)
    assert "take no input `colour`" in problem.message


def test_shape_errors_come_back_with_their_paths():
    with pytest.raises(WorkflowInvalid) as caught:
        parse_workflow({"steps": [{"id": "Bad Id", "type": "test", "timeout_seconds": -1}]})
    assert {p.path for p in caught.value.problems} == {"steps.0.id", "steps.0.timeout_seconds"}


def test_compiled_order_respects_needs_whatever_the_listing():
    plan = compile_workflow(
        _steps(
            {"id": "p", "type": "package", "needs": ["g"]},
            {"id": "g", "type": "generate", "needs": ["a"]},
            {"id": "a", "type": "analyze"},
        )
    )
    assert [step.id for step in plan] == ["a", "g", "p"]


def test_the_back_off_grows_by_its_factor():
    policy = RetryPolicy(attempts=4, backoff_seconds=0.5, backoff_factor=3)
    assert [policy.delay(n) for n in (1, 2, 3)] == [0.5, 1.5, 4.5]


def test_steps_and_runs_move_only_as_the_machines_allow():
    assert check_task_transition("pending", State.running) is State.running
    assert check_task_transition("running", State.running) is State.running  # a takeover
    assert check_task_transition("running", State.retrying) is State.retrying
    for current, target in (("succeeded", State.running), ("skipped", State.failed)):
        with pytest.raises(InvalidTransition):
            check_task_transition(current, target)
    assert check_run_transition("running", State.cancelled) is State.cancelled
    with pytest.raises(InvalidTransition):
        check_run_transition("succeeded", State.running)
