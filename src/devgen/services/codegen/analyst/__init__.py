"""The business analyst: a requirement in, a spec with user stories and criteria out.

``analyze`` accepts a YAML/JSON spec (validated, taken as is) or plain English, read by a
deterministic rule-based reader; see ``docs/services/codegen-engine.md`` for its rules.
"""

from devgen.services.codegen.analyst.analyzer import (
    AnalysisError,
    AnalysisResult,
    Unparsed,
    analyze,
    analyze_spec,
)
from devgen.services.codegen.analyst.stories import derive_user_stories

__all__ = [
    "AnalysisError",
    "AnalysisResult",
    "Unparsed",
    "analyze",
    "analyze_spec",
    "derive_user_stories",
]
