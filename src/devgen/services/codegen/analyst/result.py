"""What an analysis returns: the spec, the phrases not understood, the assumptions made."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from devgen.services.codegen.spec import AcceptanceCriterion, ServiceSpec, UserStory


class Unparsed(BaseModel):
    """A sentence or phrase the analyst could not use, and why."""

    text: str
    reason: str
    sentence: int = Field(description="0-based index of the sentence it came from")


class AnalysisResult(BaseModel):
    """The spec (with its user stories), plus what was not understood or was assumed."""

    source: Literal["spec", "text", "llm"] = Field(
        description="`spec` (YAML/JSON taken as is), `text` (the English reader) or `llm`"
    )
    spec: ServiceSpec
    unparsed: list[Unparsed] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)

    @property
    def user_stories(self) -> list[UserStory]:
        """The spec's user stories."""
        return self.spec.user_stories

    @property
    def acceptance_criteria(self) -> list[AcceptanceCriterion]:
        """Every acceptance criterion, story by story."""
        return [c for story in self.spec.user_stories for c in story.acceptance_criteria]


class AnalysisError(ValueError):
    """The requirement could not be turned into a spec; the message says why."""

    code = "ANALYSIS_FAILED"
    status_code = 422

    def __init__(self, message: str, unparsed: list[Unparsed] | None = None) -> None:
        self.reason = message
        self.unparsed = unparsed or []
        detail = "".join(f"\n  - {u.text!r}: {u.reason}" for u in self.unparsed[:10])
        super().__init__(message + (f"\nNot understood:{detail}" if detail else ""))
