"""The offline template engine: a spec in, a complete runnable project out, with Jinja2.

Generation is deterministic: the same spec (however its keys were ordered) gives
byte-identical files, because everything is rendered from the validated spec in spec order,
no clock or randomness is read, and the tools run afterwards (ruff, FastAPI's OpenAPI
export) are deterministic for a given installed version.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from devgen.services.codegen.engines.context import ProjectCode, build_project
from devgen.services.codegen.engines.migrations import REVISION, initial_revision
from devgen.services.codegen.engines.postprocess import PostprocessError, finish
from devgen.services.codegen.engines.pycode import literal
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import ServiceSpec, validate_spec

GENERATOR_NAME = "devgen-template-engine"
GENERATOR_VERSION = "1.0.0"


@dataclass(frozen=True)
class LanguageInfo:
    """A language some template generates."""

    name: str
    description: str


@dataclass(frozen=True)
class TemplateInfo:
    """A template of the catalog: what it generates, in which language."""

    name: str
    language: str
    description: str
    generates: tuple[str, ...]


LANGUAGES: dict[str, LanguageInfo] = {
    "python": LanguageInfo("python", "Python 3.11+"),
}

TEMPLATES: dict[str, TemplateInfo] = {
    "fastapi-service": TemplateInfo(
        name="fastapi-service",
        language="python",
        description=(
            "A REST service: FastAPI, SQLAlchemy 2 (SQLite by default), pydantic 2, "
            "a static bearer token or real accounts (argon2, JWT, owned records, roles), "
            "with a pytest suite per entity."
        ),
        generates=(
            "app/: main, config, db, models, schemas, routers per entity, auth when required",
            "production basics: settings checked at start (pydantic-settings), JSON request "
            "logs with request ids, /health and /ready, CORS from settings, a body limit",
            "migrations/: Alembic, an initial revision matching the models, run at start-up",
            "CRUD routes with offset/limit pagination, filters, sorting, 404/409/422 handling",
            "app/rules.py: one function per business rule, called from the routers' hooks",
            "accounts mode: /auth/register, /auth/login, /auth/me; owned records; role checks",
            "many-to-many links as resources listable both ways; optional self-references",
            "tests/: a pytest module per entity and a health test, one SQLite file per test",
            "tests/test_rules_<entity>.py: tests named after each rule they check",
            "README.md, requirements.txt, requirements-dev.txt, pyproject.toml (exact pins)",
            "Dockerfile, compose.yaml (with PostgreSQL), k8s/ (Deployment, Service, migration Job)",
            "openapi.json",
        ),
    ),
}


class GenerationError(ValueError):
    """Generation was refused (unknown template or language) or failed."""

    code = "GENERATION_FAILED"
    status_code = 422


@dataclass(frozen=True)
class GeneratedProject:
    """The files of a generated project (sorted by path) and how they were made."""

    files: dict[str, str]
    template: str
    language: str
    generator: str = GENERATOR_NAME
    generator_version: str = GENERATOR_VERSION
    spec_hash: str = ""
    tests: tuple[str, ...] = field(default=())

    def write(self, root: Path) -> list[Path]:
        """Write every file under ``root`` (created if missing); returns the paths written."""
        written = []
        for path, content in self.files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            written.append(target)
        return written

    @property
    def metadata(self) -> dict[str, Any]:
        """Everything but the file contents, as plain data."""
        return {
            "template": self.template,
            "language": self.language,
            "generator": self.generator,
            "generator_version": self.generator_version,
            "spec_hash": self.spec_hash,
            "files": list(self.files),
            "tests": list(self.tests),
        }


def spec_hash(spec: ServiceSpec) -> str:
    """SHA-256 of the spec's canonical JSON: equal specs, equal hashes."""
    return hashlib.sha256(spec.canonical_json().encode()).hexdigest()


def generate(
    spec: ServiceSpec,
    *,
    language: str = "python",
    template: str = "fastapi-service",
    extensions: bool = False,
) -> GeneratedProject:
    """Render ``template`` for ``spec``; the same spec always gives byte-identical files.

    With ``extensions``, the rule hooks also call ``app/extensions/`` (a package with no
    module yet), where the hybrid engine's model adds code for what the templates lack.

    Raises :class:`GenerationError` for an unknown template or language, or a template that
    does not fit the language.
    """
    if language not in LANGUAGES:
        raise GenerationError(f"unknown language {language!r}; known: {sorted(LANGUAGES)}")
    info = TEMPLATES.get(template)
    if info is None:
        raise GenerationError(f"unknown template {template!r}; known: {sorted(TEMPLATES)}")
    if info.language != language:
        raise GenerationError(f"template {template!r} generates {info.language}, not {language}")
    # Re-validating makes the spec canonical (defaults filled in) even if it was built in code.
    spec = validate_spec(spec.model_dump(mode="json"))
    project = build_project(spec, extensions=extensions)
    rendered = _render_fastapi(project)
    try:
        files = finish(rendered, openapi_path="openapi.json")
    except PostprocessError as exc:
        raise GenerationError(f"post-processing the rendered project failed: {exc}") from exc
    return GeneratedProject(
        files=dict(sorted(files.items())),
        template=template,
        language=language,
        spec_hash=spec_hash(spec),
        tests=tuple(test.node_id for test in plan_tests(spec)),
    )


def _render_fastapi(project: ProjectCode) -> dict[str, str]:
    env = _environment()
    files: dict[str, str] = {}

    def render(target: str, source: str, **context: Any) -> None:
        files[target] = env.get_template(f"fastapi-service/{source}").render(p=project, **context)

    for path in _SHARED_FILES:
        render(path, f"{path}.j2")
    render(
        f"migrations/versions/{REVISION}_initial.py",
        "migrations/versions/0001_initial.py.j2",
        m=initial_revision(project),
        m_revision=REVISION,
    )
    if project.extensions:
        render("app/extensions/__init__.py", "app/extensions/__init__.py.j2")
    if project.auth:
        render("app/auth.py", "app/auth.py.j2")
    if project.accounts:
        render("app/auth.py", "app/auth_accounts.py.j2")
        render("app/routers/auth.py", "app/routers/auth.py.j2")
        render("tests/test_auth.py", "tests/test_auth.py.j2")
    for link in project.links:
        render(f"app/routers/{link.module}.py", "app/routers/links.py.j2", link=link)
        render(link.test_file, "tests/test_links.py.j2", link=link)
    for entity in project.entities:
        render(f"app/routers/{entity.name}.py", "app/routers/entity.py.j2", e=entity)
        render(f"tests/test_{entity.name}.py", "tests/test_entity.py.j2", e=entity)
        if entity.optional_relations:
            render(
                f"tests/test_{entity.name}_relations.py",
                "tests/test_optional_relations.py.j2",
                e=entity,
            )
        if entity.access:
            render(f"tests/test_{entity.name}_access.py", "tests/test_access.py.j2", e=entity)
        if entity.rules:
            render(f"tests/test_rules_{entity.name}.py", "tests/test_rules.py.j2", e=entity)
    return files


_SHARED_FILES = (
    ".dockerignore",
    ".gitignore",
    "Dockerfile",
    "README.md",
    "alembic.ini",
    "app/__init__.py",
    "app/allow.py",
    "app/config.py",
    "app/cors.py",
    "app/db.py",
    "app/health.py",
    "app/integrity.py",
    "app/limits.py",
    "app/logs.py",
    "app/main.py",
    "app/models.py",
    "app/params.py",
    "app/responses.py",
    "app/routers/__init__.py",
    "app/rules.py",
    "app/schemas.py",
    "compose.yaml",
    "k8s/deployment.yaml",
    "k8s/migrate-job.yaml",
    "k8s/service.yaml",
    "migrations/env.py",
    "migrations/script.py.mako",
    "pyproject.toml",
    "requirements-dev.txt",
    "requirements.txt",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_contract.py",
    "tests/factories.py",
    "tests/test_body_limit.py",
    "tests/test_cors.py",
    "tests/test_health.py",
    "tests/test_migrations.py",
    "tests/test_request_logs.py",
    "tests/test_settings.py",
)


def _pytuple(values: Iterable[str], quote: bool = True) -> str:
    items = [literal(v) if quote else v for v in values]
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


_FILTERS: dict[str, Callable[..., str]] = {
    "pyliteral": literal,
    "pytuple": _pytuple,
    "code": lambda text: f"`{text}`",
}


@functools.cache
def _environment() -> jinja2.Environment:
    # One per process: the environment caches the compiled templates (compiling them is
    # most of rendering), its loader re-reads a template whose file changed, and rendering
    # from several threads at once is safe (the compiled templates are not changed by it).
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("devgen.services.codegen", "templates"),
        # The output is source code, not HTML: escaping would corrupt it.
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "xml"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(_FILTERS)
    return env


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
