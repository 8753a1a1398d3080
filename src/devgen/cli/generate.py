"""``devgen generate``: the main job from the command line, with live progress.

A requirement (text, or a file holding it) or a spec file goes in; the
generated project and its report come out in a directory, once the
generated tests have run in the sandbox. Before the project comes out,
it prints what will be built (entities, rules) and what will not (each
sentence with its reason); after the test tally, the sentences not
implemented again, in a block of their own, and the product brief's open
questions when the product manager left any (report.json ``documents``).

Exit status: 0 the run succeeded and every generated test passed; 1 the
run failed or a generated test failed; 2 a usage error (bad arguments,
unreadable file); 3 with ``--strict``, the run succeeded but some
sentences of the requirement are not implemented.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import typer
from rich.markup import escape

from devgen.cli.follow import RunFollower
from devgen.cli.output import err, fail, out, run
from devgen.cli.runs import TERMINAL, Platform, Server, connect, step_line, tests_line

REPORT_FILES = ("REPORT.md", "report.json")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_IMPLEMENTED = 0, 1, 2, 3


def _read_requirement(requirement: str | None, spec: Path | None) -> dict[str, Any]:
    if (requirement is None) == (spec is None):
        fail("give a requirement (text or a file) or --spec FILE, not both", code=2)
    if spec is not None:
        try:
            text = spec.read_text()
        except OSError as exc:
            fail(f"cannot read {spec}: {exc.strerror or exc}", code=2)
        try:
            document = json.loads(text)
        except ValueError:
            # YAML (or a JSON the analyst will explain): the analyst reads specs as text too.
            return {"requirement": text}
        if not isinstance(document, dict):
            fail(f"{spec} is not a spec: a JSON object was expected", code=2)
        return {"spec": document}
    assert requirement is not None
    if (path := _existing_file(requirement)) is not None:
        try:
            return {"requirement": path.read_text()}
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}", code=2)
    return {"requirement": requirement}


def _existing_file(text: str) -> Path | None:
    """``text`` as the path of an existing file, or None: any other text is a requirement.

    A sentence can be longer than a file name may be, or hold characters no
    path can (``OSError`` and ``ValueError`` from the file system say so).
    """
    if "\n" in text or not text.strip():
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = []
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        if info.is_dir():
            continue
        if path.is_absolute() or ".." in path.parts or not path.parts:
            fail(f"the artifact holds an unsafe path {info.filename!r}; nothing was written")
        members.append(info)
    return members


def write_project(content: bytes, target: Path, *, force: bool) -> list[str]:
    """Unpack the artifact's zip into ``target``; returns the files written.

    An existing directory is only written over when it holds an earlier
    devgen output (its ``report.json``) or with ``force``.
    """
    earlier_output = (target / "report.json").is_file()
    if target.exists() and any(target.iterdir()) and not (force or earlier_output):
        fail(f"{target} exists and is not empty; pass --force to write over it", code=2)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = _safe_members(archive)
        for info in members:
            destination = target / info.filename
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(archive.read(info))
    return [info.filename for info in members]


def plan_lines(analysis: dict[str, Any]) -> list[str]:
    """What will be built and what will not, as printed before the project comes out."""
    plan = analysis.get("will_build") or {}
    lines = ["Will build:"]
    for entity in plan.get("entities", []):
        owned = ", owned by their creator" if entity.get("owned") else ""
        lines.append(
            f"  {entity['name']} (/{entity['plural']}: {', '.join(entity['operations'])}{owned})"
        )
    if plan.get("auth") and plan["auth"] != "none":
        lines.append(f"  auth: {plan['auth']}")
    for rule in plan.get("rules", []):
        lines.append(f"  rule {rule['id']}: {rule['summary']}")
    not_implemented = analysis.get("not_implemented") or []
    lines.append("Will not build:" if not_implemented else "Will not build: nothing left out.")
    lines += _not_implemented_lines(not_implemented)
    return lines


def _not_implemented_lines(sentences: list[dict[str, Any]]) -> list[str]:
    lines = []
    for item in sentences:
        lines.append(f"  - “{item['sentence']}”: {item['reason']}")
        if item.get("suggestion"):
            lines.append(f"    suggestion: {item['suggestion']}")
    return lines


def not_implemented_block(sentences: list[dict[str, Any]]) -> list[str]:
    """The block printed after the test tally: every sentence that was not implemented."""
    if not sentences:
        return []
    count = len(sentences)
    return [
        f"Not implemented ({count} sentence{'s' if count != 1 else ''} of the requirement):",
        *_not_implemented_lines(sentences),
    ]


def model_lines(extensions: list[dict[str, Any]]) -> list[str]:
    """The sentences the hybrid engine's model implemented, with its tests."""
    if not extensions:
        return []
    lines = [f"Implemented by the model ({len(extensions)} sentence(s)):"]
    for extension in extensions:
        lines.append(
            f"  - “{extension.get('sentence')}”: extension {extension.get('name')}, "
            f"{len(extension.get('tests') or [])} test(s)"
        )
    return lines


def open_questions_block(documents: dict[str, Any] | None) -> list[str]:
    """The product brief's open questions (report.json ``documents``), printed after the tally."""
    brief = (documents or {}).get("brief") or {}
    questions = [q for q in brief.get("open_questions") or [] if q.get("question")]
    if not questions:
        return []
    count = len(questions)
    lines = [f"Open questions of the product brief ({count}), for you to answer:"]
    for item in questions:
        lines.append(f"  - {item['question']}")
        if item.get("context"):
            lines.append(f"    why: {item['context']}")
    return lines


def exit_status(finished: dict[str, Any], not_implemented: list[Any], *, strict: bool) -> int:
    """0 all good; 1 the run or a test failed; 3 (``--strict``) something is not implemented."""
    tests = finished.get("tests") or {}
    if finished["state"] != "succeeded" or not tests.get("all_passed"):
        return EXIT_FAILED
    if strict and not_implemented:
        return EXIT_NOT_IMPLEMENTED
    return EXIT_OK


def _documents(target: Path | None, analysis: dict[str, Any]) -> dict[str, Any] | None:
    """The roles' documents: from the written report.json, else the generate step's output."""
    report = target / REPORT_FILES[1] if target is not None else None
    if report is not None and report.is_file():
        try:
            documents = json.loads(report.read_text("utf-8")).get("documents")
        except (OSError, ValueError, AttributeError):
            documents = None
        if isinstance(documents, dict):
            return documents
    found = analysis.get("documents")
    return found if isinstance(found, dict) else None


async def _analysis(platform: Platform, step: dict[str, Any]) -> dict[str, Any]:
    """The analyze step's whole output (the run's listing summarises large values)."""
    task: dict[str, Any] = await platform.data("GET", f"/api/v1/tasks/{step['id']}")
    output: dict[str, Any] = task.get("output") or {}
    return output


async def _follow(platform: Platform, run_id: str, analysis: dict[str, Any]) -> dict[str, Any]:
    reported: set[str] = set()
    with err.status("starting…", spinner="dots") as status:

        async def show(current: dict[str, Any]) -> None:
            for step in [*current["steps"], *current.get("compensations", [])]:
                if step["state"] in TERMINAL | {"skipped"} and step["id"] not in reported:
                    reported.add(step["id"])
                    out.print(step_line(step), highlight=False)
                    if step["step"] == "analyze" and step["state"] == "succeeded":
                        analysis.update(await _analysis(platform, step))
                        for line in plan_lines(analysis):
                            out.print(escape(line), highlight=False)
                    if step["type"] in {"generate", "repair"} and step["state"] == "succeeded":
                        output = await _analysis(platform, step)
                        if isinstance(output.get("extensions"), list):
                            analysis["extensions"] = output["extensions"]
                        if isinstance(output.get("documents"), dict):
                            analysis["documents"] = output["documents"]
            running = [s["step"] for s in current["steps"] if s["state"] in {"running", "retrying"}]
            status.update(f"{', '.join(running) or current['state']}…")

        return await RunFollower(platform, run_id, on_run=show, on_status=status.update).follow()


async def _default_engine(platform: Platform) -> str:
    """``hybrid`` when the platform's codegen offers it (a model is configured), else
    ``template``."""
    catalog: list[dict[str, Any]] = await platform.data("GET", "/api/v1/codegen/templates")
    offered = {engine for item in catalog for engine in item.get("engines") or []}
    return "hybrid" if "hybrid" in offered else "template"


async def _generate(
    server: str | None,
    body: dict[str, Any],
    out_dir: Path | None,
    force: bool,
    analysis: dict[str, Any],
) -> tuple[dict[str, Any], Path | None]:
    async with connect(server, run_steps=server is None) as platform:
        if body.get("engine") == "auto":
            body = {**body, "engine": await _default_engine(platform)}
        started: dict[str, Any] = await platform.data(
            "POST", "/api/v1/runs", json=body, expect=(202,)
        )
        err.print(f"[dim]Run {started['id']} ({platform.where}).[/]", highlight=False)
        try:
            finished = await _follow(platform, started["id"], analysis)
        except asyncio.CancelledError:
            err.print(
                f"Interrupted. The run {started['id']} "
                + ("goes on at the server" if server else "goes on the next time the platform runs")
                + f"; cancel it with `devgen runs cancel {started['id']}`."
            )
            raise
        if not finished.get("artifact_id"):
            return finished, None
        manifest: dict[str, Any] = await platform.data(
            "GET", f"/api/v1/artifacts/{finished['artifact_id']}"
        )
        target = out_dir or Path("generated") / manifest["name"]
        download = await platform.request(
            "GET", f"/api/v1/artifacts/{finished['artifact_id']}/download"
        )
        if download.status_code != 200:
            fail(f"the artifact could not be downloaded (HTTP {download.status_code})")
        write_project(download.content, target, force=force)
        return finished, target


def generate(
    requirement: Annotated[
        str | None,
        typer.Argument(
            help="What to build, in English (or a file holding it, e.g. examples/library.txt).",
            show_default=False,
        ),
    ] = None,
    spec: Annotated[
        Path | None, typer.Option(help="A spec file (JSON or YAML) instead of a requirement.")
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            help="`template` (offline, deterministic), `llm` (the model writes everything) or "
            "`hybrid` (the template builds what it covers, the model the sentences it does not; "
            "DEVGEN_LLM_*). `auto`: hybrid when the platform has a model configured, else "
            "template.",
        ),
    ] = "auto",
    analyst: Annotated[
        str,
        typer.Option(help="Who reads the requirement: `template` (offline) or `llm`."),
    ] = "template",
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Where to write the project and its report [default: generated/<name>]."
        ),
    ] = None,
    server: Server = None,
    budget_tokens: Annotated[
        int | None, typer.Option(min=1, help="LLM engine: the most tokens the run may use.")
    ] = None,
    budget_usd: Annotated[
        float | None, typer.Option(min=0, help="LLM engine: the most the run may cost (USD).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Write into a directory that is not empty.")] = False,
    strict: Annotated[
        bool,
        typer.Option(help="Exit 3 when any sentence of the requirement is not implemented."),
    ] = False,
) -> None:
    """Generate a tested service: analyse, generate, validate and test in the sandbox, repair
    (LLM and hybrid engines), package. Prints what will be built and what will not before
    the result.

    Exit status: 0 the run succeeded and every generated test passed; 1 the run or a
    generated test failed; 2 usage error; 3 with --strict, some sentences are not
    implemented (listed after the test tally)."""
    if engine not in {"auto", "template", "llm", "hybrid"}:
        fail("--engine is `auto`, `template`, `llm` or `hybrid`", code=2)
    if analyst not in {"template", "llm"}:
        fail("--analyst is `template` or `llm`", code=2)
    body: dict[str, Any] = {
        **_read_requirement(requirement, spec),
        "engine": engine,
        "analyst": analyst,
    }
    budget = {
        key: value
        for key, value in (("max_tokens", budget_tokens), ("max_cost_usd", budget_usd))
        if value is not None
    }
    if budget:
        body["budget"] = budget
    analysis: dict[str, Any] = {}
    finished, target = run(_generate(server, body, out_dir, force, analysis))
    tests = finished.get("tests")
    out.print(f"Tests: {tests_line(tests)}")
    by_model = [e for e in analysis.get("extensions") or [] if e.get("status") == "implemented"]
    for line in model_lines(by_model):
        out.print(escape(line), highlight=False)
    built = {e.get("sentence") for e in by_model}
    not_implemented = [
        item for item in analysis.get("not_implemented") or [] if item.get("sentence") not in built
    ]
    for line in not_implemented_block(not_implemented):
        out.print(escape(line), highlight=False)
    for line in open_questions_block(_documents(target, analysis)):
        out.print(escape(line), highlight=False)
    usage = finished.get("usage") or {}
    if usage.get("total_tokens"):
        out.print(f"Tokens: {usage['total_tokens']}, cost ${usage.get('cost_usd', 0):.4f}")
    if target is not None:
        out.print(
            f"Project and report written to [bold]{escape(str(target))}[/] "
            f"(report: {escape(str(target / REPORT_FILES[0]))})",
            highlight=False,
        )
    status = exit_status(finished, not_implemented, strict=strict)
    if status == EXIT_FAILED:
        error = finished.get("error") or {}
        err.print(
            f"[bold red]error:[/] the run {finished['state']}"
            + (f": {escape(error.get('message', ''))}" if error else ""),
            highlight=False,
        )
        raise typer.Exit(EXIT_FAILED)
    if status == EXIT_NOT_IMPLEMENTED:
        err.print(
            f"[bold yellow]strict:[/] {len(not_implemented)} sentence(s) not implemented",
            highlight=False,
        )
        raise typer.Exit(EXIT_NOT_IMPLEMENTED)
    out.print(
        f"[green]Done[/] in {finished.get('duration_seconds') or 0:.1f}s (run {finished['id']})."
    )
