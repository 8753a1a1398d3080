"""The template engine: catalog, layout, determinism and the generated files' contents."""

import json
import random
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from devgen.kit.pins import service_pins
from devgen.services.codegen.engines import (
    LANGUAGES,
    TEMPLATES,
    GeneratedProject,
    GenerationError,
    generate,
    spec_hash,
)
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import AuthSpec, ServiceSpec, validate_spec

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def library() -> ServiceSpec:
    return validate_spec(_example("library"))


@pytest.fixture(scope="module")
def library_project(library: ServiceSpec) -> GeneratedProject:
    return generate(library)


def _shuffled(value: Any, rng: random.Random) -> Any:
    """The same data with every mapping's keys in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {key: _shuffled(item, rng) for key, item in items}
    if isinstance(value, list):
        return [_shuffled(item, rng) for item in value]
    return value


def test_catalog_lists_the_fastapi_template() -> None:
    info = TEMPLATES["fastapi-service"]

    assert info.language == "python"
    assert "python" in LANGUAGES
    assert any("openapi.json" in line for line in info.generates)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template": "django"}, "unknown template 'django'"),
        ({"language": "cobol"}, "unknown language 'cobol'"),
    ],
)
def test_unknown_template_or_language_is_refused(
    library: ServiceSpec, kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(GenerationError, match=message):
        generate(library, **kwargs)


def test_project_layout(library_project: GeneratedProject) -> None:
    files = set(library_project.files)

    assert files >= {
        "app/main.py", "app/db.py", "app/models.py", "app/schemas.py", "app/auth.py",
        "app/routers/book.py", "app/routers/member.py", "app/routers/loan.py",
        "tests/conftest.py", "tests/test_book.py", "tests/test_member.py", "tests/test_loan.py",
        "README.md", "requirements.txt", "Dockerfile", "openapi.json", "pyproject.toml",
        "k8s/deployment.yaml", "k8s/service.yaml", "alembic.ini", "migrations/env.py",
        "migrations/script.py.mako", "migrations/versions/0001_initial.py",
        "tests/test_migrations.py",
    }  # fmt: skip
    assert list(library_project.files) == sorted(files)


def test_no_auth_module_without_auth(library: ServiceSpec) -> None:
    no_auth = {"auth": AuthSpec(mode="none"), "auth_required": False}
    project = generate(library.model_copy(update=no_auth))

    assert "app/auth.py" not in project.files
    assert "API_TOKEN" not in project.files["app/config.py"]
    assert "401" not in project.files["openapi.json"]


def test_generated_python_compiles_and_has_no_placeholders(
    library_project: GeneratedProject,
) -> None:
    for path, content in library_project.files.items():
        assert "TODO" not in content, path
        assert "FIXME" not in content, path
        if path.endswith(".py"):
            compile(content, path, "exec")


def test_models_carry_the_constraints(library_project: GeneratedProject) -> None:
    models = library_project.files["app/models.py"]

    assert "isbn: Mapped[str] = mapped_column(sa.String(255), unique=True)" in models
    assert "phone_number: Mapped[str | None]" in models
    assert 'sa.ForeignKey("books.id", ondelete="RESTRICT")' in models


def test_schemas_use_a_pattern_for_email_not_email_validator(
    library_project: GeneratedProject,
) -> None:
    schemas = library_project.files["app/schemas.py"]

    assert "pattern=EMAIL_PATTERN" in schemas
    assert "import EmailStr" not in schemas
    assert ", EmailStr" not in schemas
    requirements = (
        library_project.files["requirements.txt"] + library_project.files["requirements-dev.txt"]
    )
    assert "email-validator" not in requirements


def test_openapi_document_lists_every_route(library_project: GeneratedProject) -> None:
    document = json.loads(library_project.files["openapi.json"])

    assert document["info"]["title"] == "Library"
    assert set(document["paths"]) == {
        "/health", "/ready", "/books", "/books/{book_id}", "/members", "/members/{member_id}",
        "/loans", "/loans/{loan_id}",
    }  # fmt: skip
    assert "delete" not in document["paths"]["/members/{member_id}"]
    assert "401" in document["paths"]["/books"]["get"]["responses"]
    assert "409" in document["paths"]["/books"]["post"]["responses"]


def test_metadata(library: ServiceSpec, library_project: GeneratedProject) -> None:
    assert library_project.template == "fastapi-service"
    assert library_project.language == "python"
    assert library_project.spec_hash == spec_hash(library)
    assert list(library_project.tests) == [t.node_id for t in plan_tests(library)]
    assert library_project.metadata["files"] == list(library_project.files)


def test_same_spec_gives_byte_identical_files(
    library: ServiceSpec, library_project: GeneratedProject
) -> None:
    again = generate(validate_spec(_example("library")))

    assert again.files == library_project.files
    assert again.spec_hash == library_project.spec_hash


def test_key_order_of_the_input_does_not_matter(library_project: GeneratedProject) -> None:
    shuffled = _shuffled(_example("library"), random.Random(7))
    assert list(shuffled) != list(_example("library"))

    again = generate(validate_spec(shuffled))

    assert again.files == library_project.files


def test_different_specs_give_different_hashes(library: ServiceSpec) -> None:
    other = library.model_copy(update={"description": "Another library."})

    assert spec_hash(other) != spec_hash(library)


def test_write_puts_every_file_under_the_root(
    library_project: GeneratedProject, tmp_path: Path
) -> None:
    written = library_project.write(tmp_path)

    assert len(written) == len(library_project.files)
    assert (tmp_path / "app/routers/book.py").read_text() == library_project.files[
        "app/routers/book.py"
    ]


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_requirements_carry_exactly_the_pins(library_project: GeneratedProject) -> None:
    pins = service_pins()

    assert _lines(library_project.files["requirements.txt"]) == list(
        pins.requirements(accounts=False)
    )
    dev = _lines(library_project.files["requirements-dev.txt"])
    assert dev == ["-r requirements.txt", *pins.dev]
    pyproject = tomllib.loads(library_project.files["pyproject.toml"])
    assert pyproject["project"]["dependencies"] == list(pins.requirements(accounts=False))
    assert pyproject["project"]["optional-dependencies"]["dev"] == list(pins.dev)


def test_the_initial_revision_creates_referenced_tables_first(
    library_project: GeneratedProject,
) -> None:
    revision = library_project.files["migrations/versions/0001_initial.py"]
    main = library_project.files["app/main.py"]

    created = re.findall(r'op\.create_table\(\s*"(\w+)"', revision)
    assert created.index("books") < created.index("loans")
    assert created.index("members") < created.index("loans")
    assert "create_all" not in main
    assert "migrate(engine)" in main
