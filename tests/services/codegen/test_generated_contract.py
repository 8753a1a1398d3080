"""Generated services meet their own OpenAPI: schemathesis finds nothing, 100 cases each.

Each example is generated, served on 127.0.0.1 and checked by the contract step's runner
(``orchestrator/contract_runner.py``, here run directly with this Python, whose pinned
packages are the sandbox's): every default check, every phase, the stateful one included.
The library has rules and a static token; the helpdesk has accounts, owned rows and rules;
the todo has a role rule (403 for the other roles).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.spec import validate_spec
from devgen.services.orchestrator.contract import REPORT_FILE, RUNNER_FILE, contract_files

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = pytest.mark.slow


def _write_contract_project(name: str, root: Path, replaced: dict[str, str] | None = None) -> None:
    """Example ``name``'s generated files plus the contract runner, written under ``root``;
    ``replaced`` swaps files by path."""
    spec = validate_spec(json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8")))
    files = contract_files(generate(spec).files) | (replaced or {})
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content, encoding="utf-8")


# The helpdesk (accounts: each process signs in to its own server) and the todo run their
# phases in two schemathesis processes, the library in one.
@pytest.mark.parametrize(("name", "processes"), [("library", 1), ("helpdesk", 2), ("todo", 2)])
def test_schemathesis_finds_no_failure_in_a_generated_example(
    name: str, processes: int, tmp_path: Path
) -> None:
    _write_contract_project(name, tmp_path)

    finished = subprocess.run(
        [
            sys.executable,
            RUNNER_FILE,
            "--max-examples",
            "100",
            "--seed",
            "1",
            "--processes",
            str(processes),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )

    summary = re.findall(r"^=+ (.+?) =+$", finished.stdout, re.MULTILINE)
    print(f"{name}: {summary[-1] if summary else finished.stdout[-2000:]}")
    report = json.loads((tmp_path / REPORT_FILE).read_text("utf-8"))
    assert report["failures"] == [], finished.stdout[-6000:]
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert report["stop_reason"] == "completed"
    assert report["phases"]["coverage"]["status"] == "success"
    assert report["phases"]["stateful"]["status"] == "success"
    assert report["test_cases"]["generated"] > 100
    assert "not_a_server_error" in report["checks"]
    if processes > 1:
        assert "contract: phases examples, coverage" in finished.stdout
        assert "contract: phases fuzzing, stateful" in finished.stdout


@pytest.mark.parametrize("processes", [1, 2])
def test_a_service_that_dies_at_start_up_is_reported_not_waited_for(
    processes: int, tmp_path: Path
) -> None:
    _write_contract_project(
        "library", tmp_path, {"app/main.py": "raise SystemExit('the service cannot start')\n"}
    )

    finished = subprocess.run(
        [
            sys.executable,
            RUNNER_FILE,
            "--max-examples",
            "5",
            "--budget-seconds",
            "120",
            "--processes",
            str(processes),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert finished.returncode == 2, finished.stdout[-2000:] + finished.stderr[-2000:]
    assert "the service exited with status" in finished.stderr


def test_past_its_budget_every_process_is_interrupted_and_says_so(tmp_path: Path) -> None:
    _write_contract_project("library", tmp_path)

    finished = subprocess.run(
        [
            sys.executable,
            RUNNER_FILE,
            "--max-examples",
            "1000",
            "--seed",
            "1",
            "--budget-seconds",
            "10",
            "--processes",
            "2",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert "contract: out of time, interrupting schemathesis" in finished.stderr
    report = json.loads((tmp_path / REPORT_FILE).read_text("utf-8"))
    assert report["stop_reason"] == "interrupted"
    # 1000 cases per operation cannot be fuzzed in 10 s; the coverage phase's fixed set
    # might, on a fast machine, so only its process's line is asserted.
    assert report["phases"]["fuzzing"]["status"] == "interrupted"
    summary = re.findall(r"^=+ (.+?) =+$", finished.stdout, re.MULTILINE)[-1]
    assert summary.startswith("examples, coverage: ")
    assert "; fuzzing, stateful: Interrupted after" in summary
