"""The documents the LLM roles leave: a product brief, a design and a review.

Each is a pydantic model the model answers as JSON (through the endpoint's structured
output where it has one, else read from its fences by :func:`extract_json`). ``read_*``
validates an answer and raises :class:`OutputProblem` listing every problem, which is sent
back to the model once; a document still malformed after that is reported as a problem
(:class:`DocumentProblem`), never stored.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devgen.services.codegen.engines.llm.parsing import OutputProblem
from devgen.services.codegen.engines.llm.plan import PlannedFile
from devgen.services.codegen.files import path_problem
from devgen.services.codegen.spec import format_path

Role = Literal["product_manager", "architect", "reviewer"]
"""``product_manager``: the product brief; ``architect``: the design; ``reviewer``: the
review of the engineer's work (and the rounds it asks for)."""

ROLES: tuple[Role, ...] = ("product_manager", "architect", "reviewer")

M = TypeVar("M", bound=BaseModel)

_Text = Field(min_length=1, max_length=2000)


class _Document(BaseModel):
    # The model may add keys of its own; they are dropped, not an error worth a re-ask.
    model_config = ConfigDict(extra="ignore")


class PrioritisedRequirement(_Document):
    """One requirement of the brief, with its priority (P0 must, P1 should, P2 could)."""

    id: str = Field(min_length=1, max_length=40, examples=["R1"])
    text: str = _Text
    priority: Literal["P0", "P1", "P2"]


class OpenQuestion(_Document):
    """A question the requirement leaves open: for the user to answer, never assumed."""

    question: str = _Text
    context: str = Field(default="", max_length=2000, description="why it matters")


class ProductBrief(_Document):
    """The product manager's brief: goals, stories, prioritised requirements, open questions."""

    goals: list[str] = Field(min_length=1, max_length=20)
    user_stories: list[str] = Field(default_factory=list, max_length=50)
    requirements: list[PrioritisedRequirement] = Field(min_length=1, max_length=100)
    open_questions: list[OpenQuestion] = Field(default_factory=list, max_length=50)


class ApiOperation(_Document):
    """One operation of the service's HTTP API."""

    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str = Field(min_length=1, max_length=300, pattern=r"^/")
    summary: str = Field(default="", max_length=500)


class Design(_Document):
    """The architect's design: data structures (Mermaid), the API list, the file plan."""

    class_diagram: str = Field(
        min_length=1, max_length=20_000, description="Mermaid `classDiagram` source"
    )
    apis: list[ApiOperation] = Field(min_length=1, max_length=200)
    files: list[PlannedFile] = Field(min_length=1, max_length=500)
    notes: str = Field(default="", max_length=4000)


class RequestedChange(_Document):
    """A change the reviewer asks for in one file."""

    path: str = Field(min_length=1, max_length=255)
    change: str = _Text


class ReviewAnswer(_Document):
    """One answer of the reviewer: approve, or change with reasons and the files to change."""

    verdict: Literal["approve", "change"]
    reasons: list[str] = Field(min_length=1, max_length=30)
    changes: list[RequestedChange] = Field(default_factory=list, max_length=20)


class ReviewRound(ReviewAnswer):
    """A review as recorded: its round (1 first) and which files the next round changed."""

    round: int = Field(ge=1)
    changed: list[str] = Field(default_factory=list)


class Review(_Document):
    """Every review round, the final verdict, and why the reviewing stopped early (if)."""

    rounds: list[ReviewRound] = Field(default_factory=list)
    verdict: Literal["approve", "change"] | None = None
    stopped: str | None = Field(
        default=None, description="why no further round ran, e.g. the budget was spent"
    )


class DocumentProblem(_Document):
    """A document that could not be had: which, and why (the model's last problem)."""

    document: Literal["brief", "design", "review"]
    message: str


class Documents(_Document):
    """What the roles left; a document a role did not run for is ``None``."""

    roles: list[Role] = Field(default_factory=list, description="the roles that ran")
    brief: ProductBrief | None = None
    design: Design | None = None
    review: Review | None = None
    problems: list[DocumentProblem] = Field(default_factory=list)


def _invalid(what: str, lines: Iterable[str]) -> OutputProblem:
    return OutputProblem(
        f"The {what} is not valid:\n"
        + "\n".join(f"- {line}" for line in lines)
        + f"\nReply with the corrected {what} as one JSON object."
    )


def _validated(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(
            what, (f"{format_path(e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors())
        ) from exc


def read_brief(data: Any) -> ProductBrief:
    """The product brief in ``data``; requirement ids must be unique."""
    brief = _validated(ProductBrief, data, "product brief")
    ids = [r.id for r in brief.requirements]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise _invalid("product brief", [f"requirements: ids used twice: {', '.join(twice)}"])
    return brief


_FENCED = re.compile(r"^\s*```\s*mermaid\s*\n(?P<body>.*?)\n?```\s*$", re.DOTALL)
_CLASS = re.compile(r"^\s*class\s+`?(?P<name>[A-Za-z_][\w]*)", re.MULTILINE)
_MEMBER = re.compile(r"^\s*(?P<name>[A-Za-z_][\w]*)\s*:", re.MULTILINE)
_RELATION = re.compile(
    r"^\s*(?P<left>[A-Za-z_][\w]*)\s*(?:\"[^\"]*\"\s*)?"
    r"(?:<\|--|--\|>|\*--|--\*|o--|--o|<--|-->|--|\.\.>|<\.\.|\.\.\|>|<\|\.\.|\.\.)"
    r"\s*(?:\"[^\"]*\"\s*)?(?P<right>[A-Za-z_][\w]*)",
    re.MULTILINE,
)


def _key(name: str) -> str:
    # `line_item`, `LineItem` and `lineitem` are one entity.
    return name.replace("_", "").lower()


def diagram_classes(diagram: str) -> list[str]:
    """The classes a Mermaid ``classDiagram`` names (declared, with members, or related)."""
    found: list[str] = []
    for match in (*_CLASS.finditer(diagram), *_MEMBER.finditer(diagram)):
        found.append(match.group("name"))
    for match in _RELATION.finditer(diagram):
        found += [match.group("left"), match.group("right")]
    return [n for n in dict.fromkeys(found) if n not in {"classDiagram", "direction", "note"}]


def read_design(
    data: Any, *, entities: Collection[str], known_paths: Collection[str] = ()
) -> Design:
    """The design in ``data``: a ``classDiagram`` naming every entity, valid file paths.

    A diagram wrapped in a ```` ```mermaid ```` fence is unwrapped. ``known_paths``: files
    that exist already (the template's, in the hybrid engine); the plan may name them.
    """
    design = _validated(Design, data, "design")
    diagram = design.class_diagram.strip()
    if fenced := _FENCED.match(diagram):
        diagram = fenced.group("body").strip()
    problems: list[str] = []
    if diagram.split(None, 1)[0:1] != ["classDiagram"]:
        problems.append("class_diagram: must be Mermaid source starting with `classDiagram`")
    named = {_key(n) for n in diagram_classes(diagram)}
    missing = [e for e in entities if _key(e) not in named]
    if missing:
        problems.append(f"class_diagram: has no class for the entities {', '.join(missing)}")
    seen: set[str] = set()
    for index, entry in enumerate(design.files):
        if entry.path not in known_paths and (problem := path_problem(entry.path)) is not None:
            problems.append(f"files[{index}].path: {problem}")
        if entry.path in seen:
            problems.append(f"files[{index}].path: {entry.path!r} is planned twice")
        seen.add(entry.path)
    if problems:
        raise _invalid("design", problems)
    return design.model_copy(update={"class_diagram": diagram})


def read_review(data: Any, *, changeable: Collection[str]) -> ReviewAnswer:
    """The review in ``data``; a ``change`` verdict names files among ``changeable``."""
    review = _validated(ReviewAnswer, data, "review")
    problems: list[str] = []
    if review.verdict == "change" and not review.changes:
        problems.append("changes: a `change` verdict names at least one file to change")
    for index, change in enumerate(review.changes):
        if change.path not in changeable:
            problems.append(
                f"changes[{index}].path: {change.path!r} cannot change; the files that can: "
                + ", ".join(sorted(changeable)[:40])
            )
    if problems:
        raise _invalid("review", problems)
    if review.verdict == "approve":
        review = review.model_copy(update={"changes": []})
    return review
