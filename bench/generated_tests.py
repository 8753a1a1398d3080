"""Benchmark the generated projects' own test suites: CPU per test, against a bare baseline.

1. Each example (default ``examples/library.txt``, 3 entities, and
   ``examples/conference.txt``, 10 entities, the largest) is analysed and generated with
   the template engine, written to a temporary directory, and its pytest suite run in a
   subprocess as the sandbox runs it (``-p pytest_cov --cov=app``, junit, third-party
   plugin autoloading off). CPU is the child's user + system time
   (``resource.getrusage(RUSAGE_CHILDREN)``), so a busy machine slows the wall clock but
   hardly the figure.
2. In the same run, the baseline: a test file of as many trivial tests as the project has,
   each a ``GET`` through its own ``TestClient`` of a one-route FastAPI app, run the same
   way in the same directory (outside ``tests/``, so without the project's conftest). It
   is the floor any FastAPI test suite pays (interpreter, FastAPI's imports, pytest,
   coverage, one in-process request per test).

Run: ``.venv/bin/python bench/generated_tests.py [--rounds N] [--example NAME ...]``
(the median of N rounds per suite; ``--no-coverage`` runs without pytest-cov). The last
line is ``generated test cpu per test ms: <number>``: all examples' CPU over all their
tests, milliseconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import generate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Outside tests/, so the generated conftest.py (imports, fixtures) is not loaded for it.
BASELINE_FILE = "bench_baseline/test_trivial.py"
BASELINE_TEST = """

def test_trivial_{n}() -> None:
    with TestClient(_APP) as client:
        assert client.get("/ping").json() == {{"pong": True}}
"""
BASELINE_HEADER = '''"""Trivial FastAPI tests: the floor of any suite (bench file)."""

from fastapi import FastAPI
from fastapi.testclient import TestClient

_APP = FastAPI()


@_APP.get("/ping")
def _ping() -> dict[str, bool]:
    return {"pong": True}
'''


@dataclass(frozen=True)
class SuiteRun:
    """One pytest run: tests that ran, CPU seconds of the child, wall seconds."""

    tests: int
    cpu: float
    wall: float

    @property
    def ms_per_test(self) -> float:
        """CPU milliseconds per test."""
        return self.cpu / self.tests * 1000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _environment(root: Path) -> dict[str, str]:
    # As tests/project_checks.py runs a project: none of this process's pytest or coverage
    # settings, no third-party plugin autoloading (the sandbox environment is lean).
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_", "PYTHON"))
    }
    env.update(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1")
    env["PYTHONPATH"] = str(root)
    return env


def _pytest(root: Path, paths: list[str], *, coverage: bool) -> SuiteRun:
    """Run pytest on ``paths`` in ``root``; fail loudly unless every test passed."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["--junitxml=junit-bench.xml", *paths]
    if coverage:
        command += ["-p", "pytest_cov", "--cov=app", "--cov-report=xml:coverage-bench.xml"]
    before, started = _children_cpu(), time.perf_counter()
    done = subprocess.run(  # nosec B603 - fixed argv, a project this engine generated
        command, cwd=root, env=_environment(root), capture_output=True, text=True, check=False
    )
    wall, cpu = time.perf_counter() - started, _children_cpu() - before
    if done.returncode != 0:
        raise SystemExit(f"pytest failed in {root}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
    cases = list(ElementTree.parse(root / "junit-bench.xml").iter("testcase"))  # nosec B314 - our own junit file
    return SuiteRun(tests=len(cases), cpu=cpu, wall=wall)


def _median(runs: list[SuiteRun]) -> SuiteRun:
    return SuiteRun(
        tests=runs[0].tests,
        cpu=statistics.median(run.cpu for run in runs),
        wall=statistics.median(run.wall for run in runs),
    )


def _line(label: str, run: SuiteRun) -> str:
    return (
        f"  {label:34s} {run.tests:4d} tests  cpu {run.cpu:6.2f} s  "
        f"{run.ms_per_test:6.1f} ms/test  wall {run.wall:6.2f} s"
    )


def bench_example(name: str, rounds: int, *, coverage: bool) -> tuple[SuiteRun, SuiteRun]:
    """Generate ``examples/<name>.txt``; measure its suite and the baseline of its size."""
    spec = analyze((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8")).spec
    project = generate(spec)
    with tempfile.TemporaryDirectory(prefix=f"devgen-bench-tests-{name}-") as directory:
        root = Path(directory)
        project.write(root)
        generated, baseline = [], []
        for _ in range(rounds):
            generated.append(_pytest(root, ["tests"], coverage=coverage))
            count = generated[-1].tests
            trivial = "".join(BASELINE_TEST.format(n=n) for n in range(count))
            (root / BASELINE_FILE).parent.mkdir(exist_ok=True)
            (root / BASELINE_FILE).write_text(BASELINE_HEADER + trivial, encoding="utf-8")
            baseline.append(_pytest(root, [BASELINE_FILE], coverage=coverage))
            (root / BASELINE_FILE).unlink()
    if generated[0].tests != len(project.tests):
        raise SystemExit(f"{name}: {generated[0].tests} tests ran, {len(project.tests)} planned")
    return _median(generated), _median(baseline)


def main() -> None:
    """Measure and print; the last line is the headline CPU per generated test."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1, help="runs per suite (median)")
    parser.add_argument(
        "--example", action="append", help="examples/<name>.txt (repeatable)", default=None
    )
    parser.add_argument("--no-coverage", action="store_true", help="run without pytest-cov")
    args = parser.parse_args()
    names = args.example or ["library", "conference"]
    coverage = not args.no_coverage and importlib.util.find_spec("pytest_cov") is not None
    print(
        f"generated suites, template engine, {args.rounds} round(s), median; "
        f"coverage {'on' if coverage else 'off'}"
    )
    total_tests, total_cpu = 0, 0.0
    for name in names:
        generated, baseline = bench_example(name, args.rounds, coverage=coverage)
        print(f"{name}:")
        print(_line("generated suite", generated))
        print(_line("baseline (trivial TestClient tests)", baseline))
        print(f"  ratio generated / baseline cpu per test {generated.cpu / baseline.cpu:.2f}")
        total_tests += generated.tests
        total_cpu += generated.cpu
    print(f"all examples: {total_tests} tests, cpu {total_cpu:.2f} s")
    print(f"generated test cpu per test ms: {total_cpu / total_tests * 1000:.1f}")


if __name__ == "__main__":
    main()
