"""The tests a generated FastAPI project contains, by name, and the criterion each checks.

The template engine renders exactly these test functions and the analyst maps acceptance
criteria to them, so both read the names from here and cannot drift apart (the generated
project tests compare this plan with the test cases pytest actually ran).
"""

from __future__ import annotations

from dataclasses import dataclass

from devgen.services.codegen.engines.accounts import (
    AUTH_TEST_FILE,
    STATIC_TOKEN,
    access_test_file,
    access_test_names,
    auth_mode,
    auth_test_names,
)
from devgen.services.codegen.engines.links import (
    link_test_names,
    links,
    many_to_one,
)
from devgen.services.codegen.engines.rules import build_rules, rules_test_file
from devgen.services.codegen.spec import EntitySpec, FieldSpec, Operation, ServiceSpec

HEALTH_FILE = "tests/test_health.py"
# The production basics every generated service has: probes, settings, logs, limits, CORS.
PRODUCTION_TESTS: dict[str, tuple[str, ...]] = {
    HEALTH_FILE: (
        "test_ready",
        "test_ready_answers_503_when_the_database_is_unreachable",
    ),
    "tests/test_settings.py": (
        "test_the_served_app_reads_its_settings_from_the_environment",
        "test_an_invalid_setting_stops_the_start_by_name",
    ),
    "tests/test_request_logs.py": (
        "test_each_request_writes_one_json_line",
        "test_the_callers_request_id_is_kept",
        "test_a_request_id_that_could_break_a_line_is_replaced",
        "test_a_request_that_fails_is_logged_with_status_500",
    ),
    "tests/test_body_limit.py": (
        "test_a_body_over_the_limit_answers_413",
        "test_a_chunked_body_over_the_limit_answers_413",
    ),
    "tests/test_cors.py": ("test_only_the_configured_origins_may_call_from_a_browser",),
}
# tests/test_settings.py with a static token: the service does not start without it.
API_TOKEN_TEST = "test_service_refuses_to_start_without_api_token"  # noqa: S105 - a test name
MIGRATIONS_TEST_FILE = "tests/test_migrations.py"
# The generated tests/test_migrations.py: the migrated schema is the models'.
MIGRATIONS_TESTS = (
    "test_a_postgresql_url_is_served_by_psycopg",
    "test_a_postgresql_engine_uses_psycopg",
    "test_the_migrated_schema_matches_the_models",
    "test_migrating_an_up_to_date_database_changes_nothing",
    "test_alembic_upgrade_head_migrates_the_database_of_database_url",
    "test_the_initial_revision_downgrades_to_an_empty_database",
    "test_start_up_applies_the_migrations",
    "test_start_up_leaves_the_schema_alone_when_told",
)

CONTRACT_TEST_FILE = "tests/test_contract.py"
# The generated tests/test_contract.py: answers the OpenAPI document promises for any route.
UNREADABLE_BODY_TEST = "test_a_body_that_is_not_json_answers_a_documented_error"
CONTRACT_TESTS = ("test_a_method_a_path_does_not_take_answers_405_naming_those_it_takes",)


def contract_test_names(spec: ServiceSpec) -> tuple[str, ...]:
    """The tests of ``tests/test_contract.py``; the body test only where a route takes one."""
    takes_body = auth_mode(spec) == "accounts" or any(
        {Operation.CREATE, Operation.UPDATE} & set(entity.operations) for entity in spec.entities
    )
    return ((UNREADABLE_BODY_TEST,) if takes_body else ()) + CONTRACT_TESTS


@dataclass(frozen=True)
class PlannedTest:
    """One generated test function and the acceptance criterion it checks (if any)."""

    file: str
    name: str
    criterion: str | None
    rule_id: str | None = None

    @property
    def node_id(self) -> str:
        """The pytest node id, e.g. ``tests/test_book.py::test_create_book``."""
        return f"{self.file}::{self.name}"


@dataclass(frozen=True)
class ChildLink:
    """A relation of ``child`` that points at ``parent_name``, the entity being deleted."""

    parent_name: str
    child: EntitySpec
    relation_name: str
    on_delete: str

    @property
    def full(self) -> str:
        """``<child>_<relation>``, e.g. ``flight_origin``."""
        return f"{self.child.name}_{self.relation_name}"

    @property
    def suffix(self) -> str:
        """``loan`` when the relation is named after its target, else ``<child>_<relation>``."""
        return self.child.name if self.relation_name == self.parent_name else self.full


def entity_test_file(entity: EntitySpec) -> str:
    """The generated test module of ``entity``."""
    return f"tests/test_{entity.name}.py"


def criterion_id(entity: EntitySpec, *parts: str) -> str:
    """Acceptance-criterion id, e.g. ``AC-book-create`` or ``AC-book-list-filter``."""
    return "-".join(part.replace("_", "-") for part in ("AC", entity.name, *parts))


def required_without_default(entity: EntitySpec) -> list[FieldSpec]:
    """Fields a create request must carry."""
    return [f for f in entity.fields if f.required and f.default is None and f.managed is None]


def child_links(spec: ServiceSpec, entity: EntitySpec) -> list[ChildLink]:
    """Relations (of any entity, in spec order) that reference ``entity``."""
    return [
        ChildLink(entity.name, child, relation.name, relation.on_delete.value)
        for child in spec.entities
        for relation in many_to_one(child)
        if relation.target == entity.name
    ]


def delete_test_name(entity: EntitySpec, link: ChildLink) -> str:
    """Name of the test of what deleting ``entity`` does to a referring row."""
    verb = {"restrict": "blocked_by", "cascade": "cascades_to", "set_null": "clears"}[
        link.on_delete
    ]
    suffix = link.full if link.on_delete == "set_null" else link.suffix
    return f"test_delete_{entity.name}_{verb}_{suffix}"


def plan_entity_tests(spec: ServiceSpec, entity: EntitySpec) -> list[PlannedTest]:
    """The tests of ``tests/test_<entity>.py``, in file order."""
    file = entity_test_file(entity)
    name, plural = entity.name, entity.table
    unique = any(f.unique for f in entity.fields)
    tests: list[tuple[str, str | None]] = []

    def add(test: str, *criterion: str) -> None:
        tests.append((test, criterion_id(entity, *criterion) if criterion else None))

    if entity.allows(Operation.CREATE):
        add(f"test_create_{name}", "create")
        add(f"test_create_{name}_rejects_invalid_data", "create-validation")
        if required_without_default(entity) or any(r.required for r in many_to_one(entity)):
            add(f"test_create_{name}_requires_fields", "create-validation")
        if any(f.default is not None and f.managed is None for f in entity.fields):
            add(f"test_create_{name}_applies_defaults", "create")
        if unique:
            add(f"test_create_{name}_rejects_duplicate", "create-unique")
        for relation in many_to_one(entity):
            add(f"test_create_{name}_rejects_unknown_{relation.name}", "create", relation.name)
    if entity.allows(Operation.GET):
        add(f"test_get_{name}", "get")
        add(f"test_get_{name}_not_found", "get-missing")
    if entity.allows(Operation.LIST):
        add(f"test_list_{plural}_paginates", "list")
        for field_name in entity.filters:
            add(f"test_list_{plural}_filters_by_{field_name}", "list-filter")
        for field_name in entity.sorting:
            add(f"test_list_{plural}_sorts_by_{field_name}", "list-sort")
    if entity.allows(Operation.UPDATE):
        add(f"test_update_{name}", "update")
        add(f"test_update_{name}_not_found", "update-missing")
        add(f"test_update_{name}_rejects_invalid_data", "update-validation")
        if unique:
            add(f"test_update_{name}_rejects_duplicate", "update-unique")
    if entity.allows(Operation.DELETE):
        add(f"test_delete_{name}", "delete")
        add(f"test_delete_{name}_not_found", "delete-missing")
        for link in child_links(spec, entity):
            add(delete_test_name(entity, link), "delete", link.full)
    for operation in Operation:
        if not entity.allows(operation):
            add(f"test_{operation.value}_{name}_is_not_offered")
    if auth_mode(spec) == STATIC_TOKEN:
        tests.append((f"test_{plural}_require_token", "AC-auth-token"))
    planned = [PlannedTest(file, test, criterion) for test, criterion in tests]
    relations_file = f"tests/test_{entity.name}_relations.py"
    for relation in many_to_one(entity):
        if not relation.required:
            criterion = criterion_id(entity, relation.name, "optional")
            planned.append(
                PlannedTest(relations_file, f"test_{name}_{relation.name}_is_optional", criterion)
            )
    access_file = access_test_file(entity)
    planned += [PlannedTest(access_file, t, c) for t, c in access_test_names(spec, entity)]
    return planned


def plan_tests(spec: ServiceSpec) -> list[PlannedTest]:
    """Every test of the generated project: the health check, then entity by entity."""
    planned = [PlannedTest(HEALTH_FILE, "test_health", "AC-health")]
    planned += [PlannedTest(f, t, None) for f, tests in PRODUCTION_TESTS.items() for t in tests]
    if auth_mode(spec) == STATIC_TOKEN:
        planned.append(PlannedTest("tests/test_settings.py", API_TOKEN_TEST, None))
    planned += [PlannedTest(MIGRATIONS_TEST_FILE, t, None) for t in MIGRATIONS_TESTS]
    planned += [PlannedTest(CONTRACT_TEST_FILE, t, None) for t in contract_test_names(spec)]
    planned += [PlannedTest(AUTH_TEST_FILE, t, c) for t, c in auth_test_names(spec)]
    for entity in spec.entities:
        planned.extend(plan_entity_tests(spec, entity))
        planned.extend(plan_rule_tests(spec, entity))
    for link in links(spec):
        planned += [PlannedTest(link.test_file, t, c) for t, c in link_test_names(link)]
    return planned


def plan_rule_tests(spec: ServiceSpec, entity: EntitySpec) -> list[PlannedTest]:
    """The tests of ``tests/test_rules_<entity>.py``: each rule's, named after the rule."""
    file = rules_test_file(entity)
    return [
        PlannedTest(file, test, rule.criterion, rule.id)
        for rule in build_rules(spec, entity)
        for test in rule.tests
    ]
