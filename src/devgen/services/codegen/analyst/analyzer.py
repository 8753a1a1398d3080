"""The requirement analyst: plain English (or a YAML/JSON spec) to a validated spec.

``analyze`` is the entry point; the work is split by job: ``structured.py`` sniffs a YAML/JSON
spec, ``reader.py`` reads English with the patterns of ``grammar.py`` (data) and ``rules.py``
(business rules), ``result.py`` holds what comes back.
"""

from __future__ import annotations

from typing import Any

from devgen.services.codegen.analyst.reader import EnglishReader
from devgen.services.codegen.analyst.result import AnalysisError, AnalysisResult, Unparsed
from devgen.services.codegen.analyst.stories import derive_user_stories
from devgen.services.codegen.analyst.structured import structured_spec
from devgen.services.codegen.spec import validate_spec

__all__ = ["AnalysisError", "AnalysisResult", "Unparsed", "analyze", "analyze_spec"]


def analyze(requirement: str) -> AnalysisResult:
    """Turn a requirement into a spec with user stories and acceptance criteria.

    A YAML or JSON spec is validated and taken as is (user stories are derived only if it
    has none). Plain English is read sentence by sentence. Raises :class:`AnalysisError`
    when no entity can be found, or the result is not a valid spec, and
    :class:`SpecValidationError` for an invalid YAML/JSON spec.
    """
    data = structured_spec(requirement)
    if data is not None:
        return analyze_spec(data)
    return EnglishReader(requirement).read()


def analyze_spec(data: dict[str, Any]) -> AnalysisResult:
    """A spec given as an object: validated and taken as is; stories derived if it has none.

    Raises :class:`SpecValidationError` listing every problem with its path.
    """
    spec = validate_spec(data)
    if not spec.user_stories:
        spec = spec.model_copy(update={"user_stories": derive_user_stories(spec)})
    return AnalysisResult(source="spec", spec=spec)
