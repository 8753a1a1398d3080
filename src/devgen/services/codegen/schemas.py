"""Codegen's request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devgen.kit.types import LongText
from devgen.services.codegen.analyst import Unparsed
from devgen.services.codegen.engines.llm.documents import Documents, Role
from devgen.services.codegen.spec import (
    AcceptanceCriterion,
    NotImplementedSentence,
    ServiceSpec,
    UserStory,
)
from devgen.services.codegen.validation import Diagnostic, TestOutcome, TestStatus

Engine = Literal["template", "llm", "hybrid"]
"""``template``: offline and deterministic (the default); ``llm``: the configured model
writes everything; ``hybrid``: the template builds what the spec covers, the model writes
extensions for the sentences the template does not implement."""

Analyst = Literal["template", "llm"]
"""Who reads a requirement: the offline analyst or the configured model."""

RepairEngine = Literal["llm", "hybrid"]

SpecDocument = dict[str, Any]
"""A spec as JSON; its shape is published at ``GET /api/v1/codegen/spec-schema``."""

FileMap = dict[str, str]
"""Project files: relative POSIX path → UTF-8 text."""

_SPEC_DESCRIPTION = (
    "The service spec (JSON Schema at `GET /api/v1/codegen/spec-schema`). "
    "Problems are reported with their path, e.g. `entities[2].fields[0].type`."
)
_FILES_DESCRIPTION = "Relative POSIX path → file content (UTF-8 text)."
_FILES_EXAMPLE = {"app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"}


class _Request(BaseModel):
    # Strict: `"run_tests": 0` or `"max_tokens": "5"` is a client bug to report, not to guess.
    model_config = ConfigDict(extra="forbid", strict=True)


class BudgetIn(_Request):
    """The most an LLM request may spend; each limit left out takes the server's default."""

    max_tokens: int | None = Field(default=None, ge=1, description="input + output tokens")
    max_cost_usd: float | None = Field(default=None, ge=0, description="at the configured prices")


class BudgetRead(BaseModel):
    """The budget a request ran with."""

    max_tokens: int
    max_cost_usd: float


class UsageRead(BaseModel):
    """What an LLM request spent."""

    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost_usd: float
    budget: BudgetRead
    reasoning_tokens: int = Field(
        default=0, description="reasoning models' hidden tokens, inside output_tokens"
    )
    billed_failures: int = Field(
        default=0, description="calls that timed out or were cut off and may still be billed"
    )


class SpecSchemaRead(BaseModel):
    """The spec's JSON Schema, for the spec version it describes."""

    spec_version: str = Field(examples=["1"])
    json_schema: dict[str, Any] = Field(description="JSON Schema (draft 2020-12)")


class TemplateRead(BaseModel):
    """A template: what it generates, in which language, with which engines."""

    name: str = Field(examples=["fastapi-service"])
    language: str = Field(examples=["python"])
    description: str
    generates: list[str]
    engines: list[Engine] = Field(description="`llm` only when an endpoint is configured")


class LanguageRead(BaseModel):
    """A language some template generates."""

    name: str = Field(examples=["python"])
    description: str
    templates: list[str]


class AnalyzeRequest(_Request):
    """A requirement (plain English, or a spec written as YAML or JSON text), or a spec."""

    requirement: LongText | None = Field(
        default=None,
        min_length=1,
        examples=["A library lends books to members. Each book has a title and an ISBN."],
    )
    spec: SpecDocument | None = Field(
        default=None, description="a spec as an object, validated and completed (no engine)"
    )
    engine: Analyst = "template"
    budget: BudgetIn | None = Field(default=None, description="engine `llm` only")

    @model_validator(mode="after")
    def _one_input(self) -> Self:
        if (self.requirement is None) == (self.spec is None):
            raise ValueError("give exactly one of requirement and spec")
        return self


class PlannedEntityRead(BaseModel):
    """An entity that will be built."""

    name: str
    plural: str
    fields: list[str]
    relations: list[str] = Field(description="`name -> target (kind)`")
    operations: list[str]
    owned: bool


class PlannedRuleRead(BaseModel):
    """A rule that will be built and tested (server-managed fields included)."""

    id: str
    entity: str
    kind: str
    summary: str = Field(description="what it enforces, in one line")
    source: str = Field(description="the requirement sentence it comes from")


class BuildPlanRead(BaseModel):
    """What will be built: the auth mode, entities and rules."""

    auth: str
    entities: list[PlannedEntityRead]
    rules: list[PlannedRuleRead]


class AnalyzeRead(BaseModel):
    """The spec, its user stories and acceptance criteria, and what was not understood."""

    source: Literal["spec", "text", "llm"]
    spec: ServiceSpec
    user_stories: list[UserStory]
    acceptance_criteria: list[AcceptanceCriterion]
    unparsed: list[Unparsed]
    assumptions: list[str]
    will_build: BuildPlanRead = Field(description="the entities and rules that will be built")
    not_implemented: list[NotImplementedSentence] = Field(
        description="the sentences that will not be built, each with a reason and a suggestion"
    )
    usage: UsageRead | None = None


class GenerateRequest(_Request):
    """What to generate: a spec, and which engine, language and template."""

    spec: SpecDocument = Field(description=_SPEC_DESCRIPTION)
    engine: Engine = "template"
    language: str = Field(default="python", min_length=1, max_length=40)
    template: str = Field(default="fastapi-service", min_length=1, max_length=80)
    budget: BudgetIn | None = Field(default=None, description="engines `llm` and `hybrid`")
    requirement: LongText | None = Field(
        default=None,
        description="the requirement's text, for the model (engines `llm` and `hybrid`)",
    )
    roles: list[Role] | None = Field(
        default=None,
        max_length=3,
        description="engines `llm` and `hybrid`: the roles that leave documents (product "
        "brief, design, review) [default: the server's DEVGEN_LLM_ROLES]; `[]` for none",
    )

    @model_validator(mode="after")
    def _roles_need_a_model(self) -> Self:
        if self.roles and self.engine == "template":
            raise ValueError("roles need engine `llm` or `hybrid`: the template engine has none")
        return self


class ExtensionRead(BaseModel):
    """A sentence the template did not implement, and what the model made of it."""

    sentence: str
    reason: str = Field(description="why the template did not implement it")
    status: Literal["implemented", "not_implemented"]
    explanation: str = Field(description="the model's: what its code does, or why none")
    name: str = Field(description="the extension module's name (implemented only)")
    files: list[str]
    tests: list[str] = Field(description="pytest node ids of the model's tests for it")


class ExtensionIn(_Request):
    """An extension as the generation returned it (see :class:`ExtensionRead`)."""

    sentence: str = Field(max_length=2000)
    reason: str = Field(default="", max_length=2000)
    status: Literal["implemented", "not_implemented"]
    explanation: str = Field(default="", max_length=20_000)
    name: str = Field(default="", max_length=41, pattern=r"^([a-z][a-z0-9_]*)?$")
    files: list[str] = Field(default_factory=list, max_length=20)
    tests: list[str] = Field(default_factory=list, max_length=500)


class RefusalRead(BaseModel):
    """A change the model asked for that was refused."""

    path: str
    action: Literal["write", "delete"]
    reason: str


class PlannedFileRead(BaseModel):
    """A file of the LLM architect's plan."""

    path: str
    purpose: str


class GenerateRead(BaseModel):
    """The generated project: its files and how they were made."""

    id: uuid.UUID = Field(description="this generation (the subject of its events)")
    files: FileMap
    engine: Engine
    template: str
    language: str
    generator: str = Field(examples=["devgen-template-engine"])
    generator_version: str = Field(examples=["1.0.0"])
    spec_hash: str = Field(description="SHA-256 of the spec's canonical JSON")
    tests: list[str] = Field(description="pytest node ids of the generated tests")
    file_count: int
    total_bytes: int
    plan: list[PlannedFileRead] | None = Field(default=None, description="engine `llm` only")
    usage: UsageRead | None = Field(default=None, description="engines `llm` and `hybrid`")
    extensions: list[ExtensionRead] | None = Field(default=None, description="engine `hybrid`")
    protected: dict[str, str] | None = Field(
        default=None,
        description="engine `hybrid`: path → SHA-256 of every file the template built; "
        "repairs may not change them",
    )
    template_tests: list[str] | None = Field(
        default=None, description="engine `hybrid`: the template's (protected) tests"
    )
    documents: Documents | None = Field(
        default=None,
        description="engines `llm` and `hybrid`, when roles ran: the product brief, the "
        "design and the review (`null` for the template engine, which has no roles)",
    )


class ValidateRequest(_Request):
    """A project to check."""

    files: FileMap = Field(description=_FILES_DESCRIPTION, examples=[_FILES_EXAMPLE])
    run_tests: bool = Field(
        default=True, description="Run the project's tests in the executor's sandbox."
    )


class TestResultRead(BaseModel):
    """One test case of the sandboxed run."""

    id: str = Field(examples=["tests/test_book.py::test_create_book"])
    outcome: TestOutcome
    duration_seconds: float
    message: str = Field(description="why it failed (first line)")


class TestsRead(BaseModel):
    """The project's own tests, run in the sandbox."""

    status: TestStatus
    reason: str
    passed: int
    failed: int
    errors: int
    skipped: int
    results: list[TestResultRead]
    coverage_percent: float | None
    coverage_files: dict[str, float]
    verdict: str | None = Field(description="the executor's verdict")
    exit_code: int | None
    output: str = Field(description="the end of pytest's output")


class ValidateRead(BaseModel):
    """Every diagnostic, and the test run."""

    ok: bool = Field(description="no error diagnostic, and the tests passed or were skipped")
    errors: int
    warnings: int
    diagnostics: list[Diagnostic]
    tests: TestsRead


class FailureIn(_Request):
    """A failing test (or a failed run): its id, its file, what it said."""

    test: str | None = Field(default=None, max_length=1000, examples=["tests/test_x.py::test_y"])
    file: str | None = Field(default=None, max_length=255)
    message: str = Field(default="", max_length=20_000)


class RepairRequest(_Request):
    """A project whose tests fail, and the failures."""

    files: FileMap = Field(description=_FILES_DESCRIPTION, examples=[_FILES_EXAMPLE])
    spec: SpecDocument | None = Field(default=None, description="the spec, for context")
    failures: list[FailureIn] = Field(min_length=1)
    output: str = Field(default="", max_length=200_000, description="pytest's output")
    files_to_fix: list[str] | None = Field(
        default=None,
        max_length=10,
        description="Rewrite these files; by default those the failures point at.",
    )
    budget: BudgetIn | None = None
    engine: RepairEngine = Field(
        default="llm", description="`hybrid`: rewrite only the model's extensions"
    )
    protected: dict[str, str] | None = Field(
        default=None, description="engine `hybrid`: path → SHA-256 from the generation"
    )
    extensions: list[ExtensionIn] | None = Field(
        default=None, max_length=200, description="engine `hybrid`: the generation's extensions"
    )
    requirement: LongText | None = None

    @model_validator(mode="after")
    def _hybrid_needs_its_record(self) -> Self:
        if self.engine == "hybrid" and (self.protected is None or self.extensions is None):
            raise ValueError("engine `hybrid` needs `protected` and `extensions`")
        return self


class RepairRead(BaseModel):
    """The project after the repair: every file, the ones rewritten, the usage."""

    id: uuid.UUID = Field(description="this repair (the subject of its events)")
    files: FileMap
    targets: list[str]
    changed: list[str]
    usage: UsageRead
    refused: list[RefusalRead] = Field(
        default_factory=list, description="engine `hybrid`: changes to protected files, refused"
    )
    extensions: list[ExtensionRead] | None = None


class ProgressEntryRead(BaseModel):
    """One note of a running generation: ``role`` ``state`` on ``what`` (a ``file``)."""

    model_config = ConfigDict(extra="allow")

    seq: int = Field(description="Increasing number of the note; ask for those after one.")
    state: Literal["started", "writing", "done", "failed"]
    role: str = Field(description="product_manager, architect, engineer or reviewer")
    what: str = Field(description="What the role writes: brief, design, file plan, file, ...")
    file: str | None = None
    round: int | None = Field(default=None, description="The review round, when in one")
    tokens: int = Field(description="Output tokens of this piece of work so far (or in all)")
    usage_tokens: int = Field(description="Tokens the whole generation has spent so far")
    at: str


class ProgressRead(BaseModel):
    """The notes of one generation after ``after``; ``finished`` once its request ended."""

    key: str
    entries: list[ProgressEntryRead]
    last: int = Field(description="The number of the newest note (pass it as `after`).")
    finished: bool
    updated_at: datetime
