"""Generation engines: turn a validated spec into the files of a project.

The offline template engine (:mod:`.template`) renders Jinja2 templates; its public API is
re-exported here.
"""

from devgen.services.codegen.engines.template import (
    LANGUAGES,
    TEMPLATES,
    GeneratedProject,
    GenerationError,
    LanguageInfo,
    TemplateInfo,
    generate,
    spec_hash,
)

__all__ = [
    "LANGUAGES",
    "TEMPLATES",
    "GeneratedProject",
    "GenerationError",
    "LanguageInfo",
    "TemplateInfo",
    "generate",
    "spec_hash",
]
