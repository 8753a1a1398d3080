"""A generated project's tests start without the pytest plugins of its contract tools.

Its dev requirements hold schemathesis, which brings hypothesis; both register pytest
plugins that every run would import (more than a second of start-up, in the sandbox's
test step and on its user's machine) though no generated test uses them.
"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

from devgen.services.codegen.engines import generate
from devgen.services.codegen.spec import validate_spec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CONTRACT_TOOLS = ("hypothesis", "schemathesis")
COLLECT_AND_REPORT = (
    "import json, sys, pytest\n"
    "code = pytest.main(['--collect-only', '-q'])\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {tools!r})))\n"
    "sys.exit(code)\n"
)


def test_collecting_a_generated_suite_imports_neither_schemathesis_nor_hypothesis(
    tmp_path: Path,
) -> None:
    plugins = {entry.name for entry in importlib.metadata.entry_points(group="pytest11")}
    assert {"hypothesispytest", "schemathesis"} <= plugins  # installed here, as in the sandbox
    spec = validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))
    generate(spec).write(tmp_path)

    finished = subprocess.run(
        [sys.executable, "-c", COLLECT_AND_REPORT.format(tools=set(CONTRACT_TOOLS))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert json.loads(finished.stdout.strip().splitlines()[-1]) == []
