"""One finding about one file: where, which rule, what, how bad."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class Severity(StrEnum):
    """How much a finding matters: errors break the project, warnings should be fixed."""

    error = "error"
    warning = "warning"
    info = "info"


class Diagnostic(BaseModel):
    """A finding of a check, e.g. ``app/main.py:3 F401 (ruff) `os` imported but unused``."""

    file: str | None = Field(description="project path; null for the project as a whole")
    line: int | None = Field(default=None, ge=0)
    rule: str = Field(examples=["syntax", "ruff:F401", "bandit:B602", "format", "tests"])
    message: str
    severity: Severity
