"""What the model is told in the hybrid engine: the requirement, the project, one sentence."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from devgen.services.codegen.engines.hybrid.answer import FORMAT
from devgen.services.codegen.engines.llm.prompts import project_context, requirement_block

EXTENDER_SYSTEM = f"""\
You are a senior Python engineer at devgen. devgen's templates generated a complete FastAPI
service (SQLAlchemy 2, pydantic 2, pytest) for a requirement; a few sentences of the
requirement were beyond the templates. For ONE such sentence you write an extension module
and its tests, without touching any generated file: those are protected, a change to them
is refused.

An extension module `app/extensions/<name>.py` takes part in the rule hooks by defining
functions named like them, e.g. `before_write_<entity>(ctx, values, row)` (values: the
columns the row will have; row is None on create), `before_delete_<entity>(ctx, row)`,
`after_write_<entity>(ctx, row)`, `filter_list_<entity>(ctx, query, where)`,
`check_access_<entity>(ctx, row)`. Refuse a request with `app.rules.invalid(msg, field)`
(422) or `app.rules.conflict(msg)` (409); `ctx.session` is the request's session, `ctx.now`
its time. Tests go in `tests/test_ext_<name>.py`, use the fixtures of `tests/conftest.py`
and must not skip, deselect or xfail anything. The code must pass ruff's default rules.
When no code in those hooks can do what the sentence asks, say so (not_implemented) and why.

{FORMAT}"""

_WORD = re.compile(r"[a-z]+")


def _stories(spec: Mapping[str, Any]) -> str:
    lines = []
    for story in spec.get("user_stories") or []:
        lines.append(
            f"- {story.get('id')}: As a {story.get('as_a')}, I want {story.get('i_want')} "
            f"so that {story.get('so_that')}."
        )
        lines += [
            f"  - {c.get('id')}: {c.get('text')}" for c in story.get("acceptance_criteria") or []
        ]
    return "\n".join(lines) or "(none)"


def _context(files: Mapping[str, str], shown: Sequence[str], limit_chars: int) -> str:
    return project_context({p: files[p] for p in shown}, shown, limit_chars)


def relevant_paths(files: Mapping[str, str], sentence: str, entities: Sequence[str]) -> list[str]:
    """The files worth showing for ``sentence``: the shared ones, then its entities'."""
    words = set(_WORD.findall(sentence.lower()))
    named = [
        e for e in entities if e in words or f"{e}s" in words or e.replace("_", " ") in sentence
    ]
    first = [
        "app/extensions/__init__.py",
        "app/rules.py",
        "app/models.py",
        "tests/conftest.py",
        "tests/factories.py",
    ]
    for entity in named or entities[:1]:
        first += [f"app/routers/{entity}.py", f"tests/test_{entity}.py"]
    first += ["app/schemas.py"]
    return [p for p in first if p in files]


def extender_prompt(
    *,
    requirement: str | None,
    spec: Mapping[str, Any],
    files: Mapping[str, str],
    sentence: Mapping[str, Any],
    taken: Sequence[str],
    limit_chars: int,
) -> str:
    """Ask for the extension implementing ``sentence`` in the generated project ``files``."""
    entities = [e["name"] for e in spec.get("entities") or []]
    shown = relevant_paths(files, str(sentence.get("sentence", "")), entities)
    listing = "\n".join(f"- {p}" for p in files)
    return (
        f"{requirement_block(requirement)}"
        f"User stories and acceptance criteria:\n{_stories(spec)}\n\n"
        f"The generated project's files:\n{listing}\n\n"
        f"The files that matter most:\n{_context(files, shown, limit_chars)}\n"
        f"The sentence the templates did not implement:\n> {sentence.get('sentence')}\n"
        f"(why: {sentence.get('reason') or 'no template for it'})\n\n"
        f"Extension names already taken: {', '.join(taken) or 'none'}.\n"
        "Write the extension and its tests, or explain why it cannot be built."
    )


def extension_repair_prompt(
    *,
    requirement: str | None,
    extension: Mapping[str, Any],
    files: Mapping[str, str],
    failures: str,
    limit_chars: int,
    heading: str = "The project's tests fail",
) -> str:
    """Ask for corrected files of one extension, given the failing tests (or a review)."""
    own = [p for p in extension.get("files") or [] if p in files]
    shared = ["app/extensions/__init__.py", "app/rules.py", "app/models.py", "tests/conftest.py"]
    shown = own + [p for p in shared if p in files]
    return (
        f"{requirement_block(requirement)}Your extension `{extension.get('name')}` implements:\n"
        f"> {extension.get('sentence')}\n\n"
        f"{heading}:\n{failures}\n\n"
        f"Its files and the ones it builds on:\n{_context(files, shown, limit_chars)}\n"
        f"Fix the extension: reply with STATUS, NAME ({extension.get('name')}), EXPLANATION and "
        "the complete corrected files of this extension only. Protected (generated) files "
        "cannot change; a change to them is refused."
    )


def spec_for_prompt(spec: Any) -> dict[str, Any]:
    """The spec as JSON data (stories included)."""
    data: dict[str, Any] = json.loads(spec.model_dump_json())
    return data
