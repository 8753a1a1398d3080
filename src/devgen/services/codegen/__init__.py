"""Codegen: the service spec, the requirement analyst, the generation engines, validation.

- :mod:`devgen.services.codegen.spec` — the versioned :class:`ServiceSpec` and its validation.
- :mod:`devgen.services.codegen.analyst` — plain English (or a YAML/JSON spec) to a spec,
  user stories and acceptance criteria.
- :mod:`devgen.services.codegen.engines` — engines that turn a spec into a project: the
  offline template engine (Jinja2) and the LLM engine (:mod:`.engines.llm`).
- :mod:`devgen.services.codegen.validation` — syntax, ruff, bandit and sandboxed tests.
- the HTTP API (:mod:`.api`) and its rules (:mod:`.service`), port 8006.
"""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.services.codegen.api import routers
from devgen.services.codegen.lifespan import lifespan
from devgen.services.codegen.models import Base
from devgen.services.codegen.settings import CodegenSettings

service = ServiceDefinition(
    name="codegen",
    title="devgen codegen",
    description="Requirement analysis, code generation (template and LLM engines), validation.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    calls=("identity", "executor"),
    port=8006,
    max_body_bytes=lambda _settings: CodegenSettings().body_limit(),
)
