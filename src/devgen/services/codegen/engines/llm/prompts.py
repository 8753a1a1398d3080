"""What the roles are told: the system prompts and the user messages of each step.

Prompts are plain functions of their inputs, so a test can read exactly what a model sees.
The project context handed to the engineer is capped (``context_chars``): files the
current one depends on come first, whole; the rest follow while they fit, then by name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from devgen.services.codegen.engines.llm.plan import PLAN_EXAMPLE, FilePlan, PlannedFile

ARCHITECT_SYSTEM = """\
You are the software architect of devgen, a generator of small, complete Python services.
Given a service spec, you decide which files the project has. Reply with ONE JSON object and
nothing else, shaped like this example:
{example}
Rules: paths are relative POSIX paths; list files so that a file comes after the files it
depends on; plan a pytest suite (tests/test_*.py) that covers every operation of the spec,
and a requirements.txt; at most {max_files} files; no binary files."""

ENGINEER_SYSTEM = """\
You are a senior Python engineer at devgen. You write ONE file of a project at a time.
Reply with the complete file in a single fenced code block and nothing else. No
placeholders, no TODO, no "..." elisions: the code must import, run, pass ruff with its
default rules, and the project's pytest suite must pass. Use only the standard library and
the packages the plan's requirements name."""

ANALYST_SYSTEM = """\
You are the business analyst of devgen. You turn a plain-English requirement into a service
spec: the entities to store, their typed fields, relations between them, the operations
offered, and user stories with acceptance criteria. Every sentence of the requirement that
the spec cannot express (no field, rule or operation says it) goes into `not_implemented`
with the sentence as written and the reason; never drop a sentence silently. Reply with ONE
JSON object that is valid against the JSON Schema you are given, and nothing else. If the
requirement describes no data to store at all, reply {"error": "<why, in one sentence>"}
instead."""

TRIAGE_SYSTEM = """\
You are the software architect of devgen. A project's tests fail. Name the files that must
change to make them pass (prefer fixing application code over weakening tests). Reply with
ONE JSON object and nothing else: {"files": ["app/x.py", ...]}."""


def _json_block(data: Any) -> str:
    # Compact: every character of the spec is paid for again in each engineer's prompt.
    return "```json\n" + json.dumps(data, separators=(",", ":")) + "\n```"


def architect_system(max_files: int) -> str:
    """The architect's instructions."""
    return ARCHITECT_SYSTEM.format(example=json.dumps(PLAN_EXAMPLE), max_files=max_files)


def requirement_block(requirement: str | None) -> str:
    """The requirement's text, quoted, for a prompt (nothing when there is none)."""
    return f'The requirement:\n"""\n{requirement.strip()}\n"""\n\n' if requirement else ""


def architect_prompt(
    spec: Mapping[str, Any],
    template: str,
    generates: Sequence[str],
    requirement: str | None = None,
) -> str:
    """Ask for the file plan of ``spec`` (and of ``requirement``, its source, when known)."""
    hints = "\n".join(f"- {line}" for line in generates)
    return (
        f"{requirement_block(requirement)}"
        f"Plan a Python project in the style of devgen's `{template}` template, which "
        f"usually contains:\n{hints}\n\nThe service spec:\n{_json_block(spec)}\n"
        "Reply with the file plan as one JSON object."
    )


def project_context(written: Mapping[str, str], first: Sequence[str], limit_chars: int) -> str:
    """Already-written files for the prompt: ``first`` ones first, whole while they fit."""
    order = [p for p in first if p in written] + [p for p in written if p not in first]
    parts: list[str] = []
    left = limit_chars
    omitted: list[str] = []
    for path in order:
        block = f"### {path}\n```\n{written[path]}```\n"
        if len(block) <= left:
            parts.append(block)
            left -= len(block)
        else:
            omitted.append(path)
    if omitted:
        parts.append("Also written (not shown, to save space): " + ", ".join(omitted) + "\n")
    return "".join(parts) or "(no files written yet)\n"


def plan_outline(plan: FilePlan) -> str:
    """The plan as a list: path, purpose."""
    return "\n".join(f"- {f.path}: {f.purpose}" for f in plan.files)


def engineer_prompt(
    spec: Mapping[str, Any],
    plan: FilePlan,
    entry: PlannedFile,
    written: Mapping[str, str],
    limit_chars: int,
    requirement: str | None = None,
) -> str:
    """Ask for one file, with the plan and the files written so far as context."""
    return (
        f"{requirement_block(requirement)}"
        f"The service spec:\n{_json_block(spec)}\n\nThe file plan:\n{plan_outline(plan)}\n\n"
        f"Files written so far:\n{project_context(written, entry.depends_on, limit_chars)}\n"
        f"Write `{entry.path}`: {entry.purpose or 'as the plan describes'}.\n"
        "Reply with the complete file in one fenced code block."
    )


def failures_text(failures: Sequence[Mapping[str, str | None]], output: str, limit: int) -> str:
    """Failing tests and the test output, capped at ``limit`` characters."""
    lines = []
    for failure in failures:
        where = failure.get("test") or failure.get("file") or "test run"
        lines.append(f"- {where}: {failure.get('message') or 'failed'}")
    text = "\n".join(lines)
    if output:
        text += f"\n\nTest output:\n```\n{output}\n```"
    return text[:limit]


def triage_prompt(paths: Sequence[str], failures: str) -> str:
    """Ask which files to change."""
    listing = "\n".join(f"- {p}" for p in paths)
    return f"The project's files:\n{listing}\n\nThe failures:\n{failures}\n"


def repair_prompt(
    spec: Mapping[str, Any] | None,
    path: str,
    failures: str,
    files: Mapping[str, str],
    limit_chars: int,
) -> str:
    """Ask for a corrected ``path``, with the failures and the rest of the project."""
    others = {p: c for p, c in files.items() if p != path}
    spec_part = f"The service spec:\n{_json_block(spec)}\n\n" if spec else ""
    return (
        f"{spec_part}The project's tests fail:\n{failures}\n\n"
        f"The current `{path}`:\n```\n{files.get(path, '')}```\n\n"
        f"Other files of the project:\n{project_context(others, [], limit_chars)}\n"
        f"Fix `{path}` so the tests pass. Reply with the complete corrected `{path}` in one "
        "fenced code block."
    )


def analyst_prompt(requirement: str, schema: Mapping[str, Any]) -> str:
    """Ask for the spec of ``requirement``, giving the schema it must satisfy."""
    return (
        f"The JSON Schema of a spec (spec_version 1):\n{_json_block(schema)}\n\n"
        f'The requirement:\n"""\n{requirement}\n"""\n'
        "Reply with the spec as one JSON object."
    )


PRODUCT_MANAGER_SYSTEM = """\
You are the product manager of devgen, a generator of small, complete Python services.
From a requirement (and the spec the analyst read from it) you write the product brief:
the goals, the user stories, a prioritised list of requirements (P0 must, P1 should, P2
could), and the open questions: everything the requirement leaves for you to guess (a
limit, a rule, who may do what, what happens at the edges). Never answer an open question
yourself and never build a guess into a requirement: list it as a question for the user.
Reply with ONE JSON object and nothing else, shaped like this example:
{example}"""

DESIGN_SYSTEM = """\
You are the software architect of devgen, a generator of small, complete Python services.
You write the design of a service: its data structures as a Mermaid class diagram (one
class per entity of the spec, with its fields and its relations), the list of its HTTP
operations, and the file plan. Reply with ONE JSON object and nothing else, shaped like
this example:
{example}
{rules}"""

_DESIGN_RULES_LLM = """\
File plan rules: paths are relative POSIX paths; list files so that a file comes after the
files it depends on; plan a pytest suite (tests/test_*.py) that covers every operation of
the spec, and a requirements.txt; at most {max_files} files; no binary files."""

_DESIGN_RULES_HYBRID = """\
devgen's templates have already built the project (its files are listed): the file plan
names those you rely on, and for each sentence the templates did not implement the
extension module `app/extensions/<name>.py` and its tests `tests/test_ext_<name>.py`."""

REVIEWER_SYSTEM = """\
You are the code reviewer of devgen. You read what the engineer wrote against the
requirement, the product brief and the spec, and answer approve or change. Ask for a change
only for a defect you can name: a requirement not met, a rule not enforced or enforced
wrongly, a test that does not check what it claims. Name each file to change and what must
change in it. The brief's open questions are for the user: they are not defects. Reply
with ONE JSON object and nothing else, shaped like this example:
{example}"""

BRIEF_EXAMPLE: dict[str, Any] = {
    "goals": ["Members borrow books and return them on time"],
    "user_stories": ["As a librarian, I want to record a loan so that I know who has a book"],
    "requirements": [
        {"id": "R1", "text": "A loan names a book and a member", "priority": "P0"},
        {"id": "R2", "text": "Overdue loans can be listed", "priority": "P1"},
    ],
    "open_questions": [
        {"question": "How many books may a member borrow at once?", "context": "no limit given"}
    ],
}

DESIGN_EXAMPLE: dict[str, Any] = {
    "class_diagram": (
        "classDiagram\n  class Book {\n    +int id\n    +str title\n  }\n"
        "  class Loan {\n    +int id\n    +date due\n  }\n  Loan --> Book : book"
    ),
    "apis": [
        {"method": "POST", "path": "/api/v1/books", "summary": "create a book"},
        {"method": "GET", "path": "/api/v1/books/{id}", "summary": "read a book"},
    ],
    "files": PLAN_EXAMPLE["files"],
    "notes": "one sentence about the design",
}

REVIEW_EXAMPLE: dict[str, Any] = {
    "verdict": "change",
    "reasons": ["R2 is not met: the overdue filter compares a date with a string"],
    "changes": [{"path": "app/main.py", "change": "compare loan.due with date.today()"}],
}


def product_manager_system() -> str:
    """The product manager's instructions."""
    return PRODUCT_MANAGER_SYSTEM.format(example=json.dumps(BRIEF_EXAMPLE))


def design_system(*, hybrid: bool, max_files: int) -> str:
    """The architect's instructions for a design (the hybrid engine's: around the template)."""
    rules = _DESIGN_RULES_HYBRID if hybrid else _DESIGN_RULES_LLM.format(max_files=max_files)
    return DESIGN_SYSTEM.format(example=json.dumps(DESIGN_EXAMPLE), rules=rules)


def reviewer_system() -> str:
    """The reviewer's instructions."""
    return REVIEWER_SYSTEM.format(example=json.dumps(REVIEW_EXAMPLE))


def _brief_block(brief: Mapping[str, Any] | None) -> str:
    return f"The product brief:\n{_json_block(brief)}\n\n" if brief else ""


def brief_prompt(spec: Mapping[str, Any], requirement: str | None) -> str:
    """Ask for the product brief of ``requirement`` (and of the spec read from it)."""
    return (
        f"{requirement_block(requirement)}The service spec the analyst read from it:\n"
        f"{_json_block(spec)}\n\nWrite the product brief as one JSON object."
    )


def design_prompt(
    spec: Mapping[str, Any],
    requirement: str | None,
    brief: Mapping[str, Any] | None,
    *,
    template: str,
    generates: Sequence[str],
    built: Sequence[str] = (),
) -> str:
    """Ask for the design; ``built``: the files the templates already wrote (hybrid)."""
    if built:
        project = "The files devgen's templates built:\n" + "\n".join(f"- {p}" for p in built)
    else:
        hints = "\n".join(f"- {line}" for line in generates)
        project = (
            f"The project follows devgen's `{template}` template, which usually contains:\n{hints}"
        )
    return (
        f"{requirement_block(requirement)}{_brief_block(brief)}"
        f"The service spec:\n{_json_block(spec)}\n\n{project}\n\n"
        "Write the design as one JSON object."
    )


def review_prompt(
    spec: Mapping[str, Any],
    requirement: str | None,
    brief: Mapping[str, Any] | None,
    *,
    work: str,
    changeable: Sequence[str],
    round_number: int,
) -> str:
    """Ask for the review of ``work`` (the engineer's files, as text) in round ``round_number``."""
    again = (
        f"This is review round {round_number}: the engineer has changed the files after "
        "your last review.\n\n"
        if round_number > 1
        else ""
    )
    return (
        f"{requirement_block(requirement)}{_brief_block(brief)}"
        f"The service spec:\n{_json_block(spec)}\n\n{again}"
        f"What the engineer wrote:\n{work}\n"
        "The files a change may name: " + ", ".join(changeable) + ".\n"
        "Review the work against the requirement: approve, or ask for changes."
    )


def review_text(verdict: str, reasons: Sequence[str], changes: Sequence[Mapping[str, str]]) -> str:
    """A review as the engineer is shown it."""
    lines = [f"Verdict: {verdict}.", "Reasons:", *(f"- {r}" for r in reasons)]
    if changes:
        lines += ["Changes asked for:", *(f"- `{c['path']}`: {c['change']}" for c in changes)]
    return "\n".join(lines)


def review_fix_prompt(
    spec: Mapping[str, Any], path: str, review: str, files: Mapping[str, str], limit_chars: int
) -> str:
    """Ask for ``path`` changed as the reviewer asks, with the rest of the project."""
    others = {p: c for p, c in files.items() if p != path}
    return (
        f"The service spec:\n{_json_block(spec)}\n\n"
        f"The reviewer asks for changes:\n{review}\n\n"
        f"The current `{path}`:\n```\n{files.get(path, '')}```\n\n"
        f"Other files of the project:\n{project_context(others, [], limit_chars)}\n"
        f"Change `{path}` as the reviewer asks. Reply with the complete corrected `{path}` in "
        "one fenced code block."
    )
