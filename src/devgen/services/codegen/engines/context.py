"""The view model the FastAPI templates render: names, code fragments and the test plan.

Everything a template needs is computed here from the spec, in spec order, so the templates
hold layout only and the output depends on nothing but the spec.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from devgen.kit.pins import service_pins
from devgen.services.codegen.engines.accounts import (
    STATIC_TOKEN,
    AccountsCode,
    EntityAccess,
    accounts_code,
    auth_mode,
    entity_access,
    is_owned,
)
from devgen.services.codegen.engines.links import LinkCode, links, many_to_one
from devgen.services.codegen.engines.pycode import FieldCode, field_code, literal
from devgen.services.codegen.engines.rules import HOOKS, RuleCode, build_rules, unbuilt_rules
from devgen.services.codegen.engines.testplan import (
    ChildLink,
    PlannedTest,
    child_links,
    contract_test_names,
    delete_test_name,
    plan_entity_tests,
    plan_rule_tests,
    required_without_default,
)
from devgen.services.codegen.spec import (
    EntitySpec,
    FieldSpec,
    FieldType,
    Operation,
    RelationSpec,
    ServiceSpec,
    UserStory,
    class_name,
)

# Rule kinds that answer 409 on a write.
_CONFLICT_KINDS = frozenset({"unique_together", "no_overlap", "count_limit"})
# Rule templates that read other rows before a write, so they lock the scope first
# (``lock_scope`` in app/rules.py): without it two concurrent writes both pass the check.
# A state machine locks the record it moves; a computed field locks the parent whose total
# it recomputes from the children (``_locks``: only a computed field that has children).
_LOCKING_TEMPLATES = frozenset(
    {"unique_together", "no_overlap", "count_limit", "managed_sequence", "state_machine"}
)


def _locks(rule: RuleCode) -> bool:
    """Whether ``rule``'s code takes ``lock_scope`` (see ``_LOCKING_TEMPLATES``)."""
    return rule.template in _LOCKING_TEMPLATES or (
        rule.template == "computed" and bool(rule.data.get("child"))
    )


@dataclass(frozen=True)
class RelationCode:
    """A many-to-one relation as the templates see it."""

    name: str
    column: str
    target: str
    target_class: str
    target_table: str
    required: bool
    on_delete_sql: str
    self_reference: bool
    # In accounts mode: the target's rows belong to accounts, so a reference must be visible.
    target_owned: bool = False


@dataclass(frozen=True)
class FilterCode:
    """A list filter: the query parameter, its annotation and the column it compares."""

    name: str
    param: str
    annotation: str
    field: FieldCode | None
    relation: RelationCode | None


@dataclass(frozen=True)
class ChildCode:
    """A relation of another entity that points here: what deleting a row here does."""

    test_name: str
    on_delete: str
    child: str
    child_class: str
    column: str


@dataclass
class EntityCode:
    """One entity with every derived name the templates use."""

    name: str
    cls: str
    plural: str
    words: str
    plural_words: str
    description: str
    fields: list[FieldCode]
    relations: list[RelationCode]
    operations: set[str]
    filters: list[FilterCode]
    sorting: list[str]
    required_fields: list[str]
    unique_fields: list[FieldCode]
    children: list[ChildCode]
    tests: list[PlannedTest]
    checks: list[tuple[str, str]] = field(default_factory=list)
    uniques: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    """Unique constraints over several columns: their columns and name."""
    access: EntityAccess | None = None

    @property
    def optional_relations(self) -> list[RelationCode]:
        """The many-to-one relations a row may leave empty."""
        return [r for r in self.relations if not r.required]

    @property
    def owned(self) -> bool:
        """Whether records belong to the account that created them."""
        return self.access is not None and self.access.owned

    def uses_account(self, operation: str) -> bool:
        """Whether the route of ``operation`` reads the signed-in account."""
        if self.access is None:
            return False
        if self.refers_to_owned and operation in {"create", "update"}:
            return True
        return self.access.owned or bool(self.access.rules_for(operation))

    @property
    def refers_to_owned(self) -> bool:
        """Whether a relation points at an owned entity (references are checked per account)."""
        return any(r.target_owned for r in self.relations)

    def account_param(self, operation: str) -> str:
        """The route's account parameter (with its leading comma), or nothing."""
        return ", account: CurrentAccount" if self.uses_account(operation) else ""

    @property
    def guarded(self) -> bool:
        """Whether a role rule guards any of this entity's operations (403 documented)."""
        return self.access is not None and any(self.access.rules_for(op) for op in self.operations)

    def forbidden(self, operation: str) -> str:
        """``**_FORBIDDEN, `` in a route's responses when role rules guard ``operation``."""
        if self.access is None or not self.access.rules_for(operation):
            return ""
        return "**_FORBIDDEN, "

    def role_checks(self, operation: str) -> str:
        """The calls of the role rules guarding ``operation``, one indented line each."""
        if self.access is None:
            return ""
        return "".join(
            f"    rules.{rule.function}(account)\n" for rule in self.access.rules_for(operation)
        )

    @property
    def access_test_imports(self) -> list[str]:
        """Names the access tests import from ``tests.conftest``."""
        if self.access is None:
            return []
        names = []
        refers = self.refers_to_owned and self.allows("create")
        strangers = self.access.stranger_operations or self.access.stranger_lists
        if (self.owned and strangers) or refers:
            names.append("Accounts")
        if self.owned and self.allows("create"):
            names.append("SignedIn")
        return names

    @property
    def owner_arg(self) -> str:
        """The extra argument of ``_get_or_404`` for owned entities."""
        return ", account" if self.owned else ""

    @property
    def access_imports(self) -> tuple[str, list[str]] | None:
        """(module, names) the router imports from ``app.auth``, or None."""
        if self.access is None:
            return None
        names = set()
        if any(self.uses_account(op) for op in self.operations):
            names.add("CurrentAccount")
        if self.owned and self.item_routes:
            names.add("can_see")
        if self.owned and self.allows("list"):
            names.add("is_admin")
        if self.refers_to_owned and self.operations & {"create", "update"}:
            names.add("ensure_visible")
        return ("auth", sorted(names, key=str.lower)) if names else None

    input_fields: list[FieldCode] = field(default_factory=list)
    rules: list[RuleCode] = field(default_factory=list)
    rule_tests: list[PlannedTest] = field(default_factory=list)
    fixups: list[str] = field(default_factory=list)
    # Hook calls another entity's rules place here (a computed total follows its children).
    foreign_calls: dict[str, list[str]] = field(default_factory=dict)

    @property
    def computed_columns(self) -> list[dict[str, str]]:
        """Columns of computed rules: name, type, mapped, column_args, read_annotation."""
        return [rule.data["column"] for rule in self.rules if rule.kind == "computed"]

    def allows(self, operation: str) -> bool:
        """Whether the entity offers ``operation``."""
        return operation in self.operations

    def hook(self, name: str) -> list[str]:
        """The rule functions the hook ``name`` (see ``HOOKS``) calls, in order."""
        if name not in HOOKS and name != "increment":
            raise KeyError(name)
        own = [fn for rule in self.rules for fn in rule.calls.get(name, ())]
        return own + self.foreign_calls.get(name, [])

    @property
    def hooks(self) -> list[str]:
        """The hook points of this entity that call at least one rule."""
        return [name for name in HOOKS if self.hook(name)]

    @property
    def managed_defaults(self) -> list[tuple[str, str]]:
        """(field, Python expression of ``n``) the test factory stores for managed fields."""
        return [
            (rule.data["field"], rule.data["factory"])
            for rule in self.rules
            if rule.kind.startswith("managed_")
        ]

    @property
    def managed_needs_n(self) -> bool:
        """Whether a managed field's factory value is built from the counter ``n``."""
        return any(re.search(r"\bn\b", expression) for _, expression in self.managed_defaults)

    @property
    def query_params(self) -> list[tuple[str, str]]:
        """(name, annotation) of the list query parameters the rules add."""
        params: list[tuple[str, str]] = []
        by_name = {f.name: f for f in self.fields}
        for rule in self.rules:
            if rule.kind == "search" and ("q", "") not in [(n, "") for n, _ in params]:
                params.append(("q", "Annotated[str, Field(min_length=1, max_length=200)] | None"))
            elif rule.kind == "range":
                field = by_name[rule.data["field"]]
                params += [
                    (f"{field.name}_{bound}", field.filter_annotation) for bound in ("min", "max")
                ]
        return params

    @property
    def managed_names(self) -> list[str]:
        """Fields the service fills itself; request bodies may not carry them."""
        inputs = {f.name for f in self.input_fields}
        return [f.name for f in self.fields if f.name not in inputs]

    @property
    def counters(self) -> list[tuple[str, str]]:
        """(field, increment function) of each counter field."""
        return [
            (rule.data["field"], fn)
            for rule in self.rules
            for fn in rule.calls.get("increment", ())
        ]

    @property
    def model_imports(self) -> list[str]:
        """Model classes the router uses: its own, and referenced ones when writes check them."""
        names = {self.cls}
        if self.operations & {"create", "update"}:
            names.update(r.target_class for r in self.relations)
        if (self.owned and self.item_routes) or (
            self.refers_to_owned and self.operations & {"create", "update"}
        ):
            names.add("AuthAccount")
        return sorted(names)

    @property
    def item_routes(self) -> bool:
        """Whether ``/<plural>/{id}`` has any route."""
        return bool(self.operations & {"get", "update", "delete"})

    @property
    def loads_rows(self) -> bool:
        """Whether some route loads a row by its id (the item routes, counter increments)."""
        return self.item_routes or bool(self.counters)

    @property
    def uses_rules(self) -> bool:
        """Whether some route of this entity calls ``app/rules.py``."""
        ops = self.operations
        return bool(
            (self.hook("before_write") and ops & {"create", "update"})
            or (self.hook("before_delete") and "delete" in ops)
            or (self.hook("after_write") and self.writes)
            or (self.hook("filter_list") and "list" in ops)
            or (self.hook("check_access") and self.item_routes)
            or self.counters
        )

    @property
    def calls_rules(self) -> bool:
        """Whether some route calls ``app/rules.py`` (a hook, or a role rule)."""
        if self.access and any(self.access.rules_for(op) for op in self.operations):
            return True
        return self.uses_rules

    @property
    def collection_routes(self) -> bool:
        """Whether ``/<plural>`` has any route."""
        return bool(self.operations & {"list", "create"})

    @property
    def field_types(self) -> set[str]:
        """The spec types of the fields (and of computed columns)."""
        return {f.type for f in self.fields} | {c["type"] for c in self.computed_columns}

    @property
    def needs_integrity_check(self) -> bool:
        """Whether writes must check unique fields or referenced rows first."""
        return bool(self.unique_fields or self.relations)

    @property
    def absent_operations(self) -> list[str]:
        """Operations the entity does not offer, in canonical order."""
        return [op.value for op in Operation if op.value not in self.operations]

    @property
    def writes(self) -> bool:
        """Whether any route changes data."""
        return bool(self.operations & {"create", "update", "delete"})

    @property
    def body_ints(self) -> list[str]:
        """Integer fields of the create and update bodies (relation columns too)."""
        names = [f.name for f in self.input_fields if f.type == "integer"]
        return names + [r.column for r in self.relations]

    @property
    def not_null(self) -> list[str]:
        """Columns an update may not set to null."""
        names = [f.name for f in self.input_fields if f.required]
        return names + [r.column for r in self.relations if r.required]

    @property
    def sort_values(self) -> list[str]:
        """Literal values the ``sort`` query parameter accepts."""
        return [literal(f"{sign}{name}") for name in ["id", *self.sorting] for sign in ("", "-")]

    @property
    def sort_fields(self) -> list[FieldCode]:
        """The fields the list can be sorted by."""
        by_name = {f.name: f for f in self.fields}
        return [by_name[name] for name in self.sorting]

    @property
    def invalid_cases(self) -> list[tuple[str, str]]:
        """(field, Python literal) pairs the API must refuse with 422."""
        cases = [(f.name, code) for f in self.input_fields for code in f.invalid]
        return cases + [(r.column, literal("not-an-id")) for r in self.relations]

    @property
    def schema_imports(self) -> list[str]:
        """Schema classes the entity's router uses."""
        names = []
        if self.loads_rows or self.writes:
            names.append("ErrorMessage")
        if self.allows("create"):
            names.append(f"{self.cls}Create")
        if self.operations & {"list", "get", "create", "update"}:
            names.append(f"{self.cls}Read")
        if self.allows("list"):
            names += [f"{self.cls}Page", f"{self.cls}Query"]
        if self.allows("update"):
            names.append(f"{self.cls}Update")
        return sorted(names)

    @property
    def typing_imports(self) -> list[str]:
        """Names the entity's router imports from ``typing``."""
        names = []
        if self.allows("list"):
            names.append("Annotated")
        if self.needs_integrity_check and self.operations & {"create", "update"}:
            names.append("Any")
        return names

    @property
    def operations_text(self) -> str:
        """The offered operations in words, e.g. ``list, get and create``."""
        offered = [op.value for op in Operation if op.value in self.operations]
        return offered[0] if len(offered) == 1 else ", ".join(offered[:-1]) + " and " + offered[-1]

    @property
    def conflict_text(self) -> str:
        """What a 409 from this entity's routes means."""
        reasons = []
        if self.unique_fields:
            reasons.append("a unique value is already taken")
        if self.relations:
            reasons.append("a referenced row does not exist")
        if self.children and self.allows("delete"):
            reasons.append(f"the {self.words} is still referenced")
        if any(rule.kind in _CONFLICT_KINDS for rule in self.rules):
            reasons.append("a business rule forbids it (see the detail)")
        if not reasons:
            return "The change conflicts with existing data"
        text = " or ".join(reasons)
        return text[0].upper() + text[1:]

    @property
    def delete_effects(self) -> str:
        """What deleting a row does to the rows that refer to it."""
        effects = {
            "restrict": "refused while a {child} refers to it",
            "cascade": "the {child} rows referring to it are deleted too",
            "set_null": "{child} rows referring to it lose the reference",
        }
        return "; ".join(
            effects[c.on_delete].format(child=c.child.replace("_", " ")) for c in self.children
        )

    @property
    def absent_checks(self) -> list[tuple[str, str, str, int]]:
        """(operation, method, path, expected status) for each operation not offered."""
        routes = {
            "list": ("get", f"/{self.plural}", self.collection_routes),
            "create": ("post", f"/{self.plural}", self.collection_routes),
            "get": ("get", f"/{self.plural}/1", self.item_routes),
            "update": ("patch", f"/{self.plural}/1", self.item_routes),
            "delete": ("delete", f"/{self.plural}/1", self.item_routes),
        }
        checks = []
        for op in self.absent_operations:
            method, path, path_exists = routes[op]
            # Starlette answers 405 when the path has other methods, 404 when it has none.
            checks.append((op, method, path, 405 if path_exists else 404))
        return checks

    @property
    def readme_rows(self) -> list[tuple[str, str, str]]:
        """(name, type, rules) rows of the README's field table."""
        managed = set(self.managed_names)
        rows = [
            (f.name, f.type, "set by the service, read-only" if f.name in managed else f.rules)
            for f in self.fields
        ]
        for r in self.relations:
            rules = "required" if r.required else "optional"
            rows.append((r.column, f"id of a {r.target}", f"{rules}, on delete {r.on_delete_sql}"))
        for c in self.computed_columns:
            rows.append((c["name"], c["type"], "computed by the service, read-only"))
        return rows

    @property
    def endpoints(self) -> list[tuple[str, str, str]]:
        """(method, path, summary) of each route, for the README."""
        base, item = f"/{self.plural}", f"/{self.plural}/{{id}}"
        described = {
            "list": ("GET", base, f"list {self.plural_words}"),
            "get": ("GET", item, f"one {self.words}"),
            "create": ("POST", base, f"create a {self.words}"),
            "update": ("PATCH", item, f"change a {self.words}"),
            "delete": ("DELETE", item, f"delete a {self.words}"),
        }
        rows = [described[op.value] for op in Operation if op.value in self.operations]
        params = [f.param for f in self.filters] + [name for name, _ in self.query_params]
        if params and self.allows("list"):
            names = ", ".join(f"`{name}`" for name in params)
            method, path, text = described["list"]
            rows[0] = (method, path, f"{text}; filters: {names}")
        rows += [
            ("POST", f"{item}/{name}/increment", f"add one to the {name.replace('_', ' ')}")
            for name, _ in self.counters
        ]
        return rows

    @property
    def created_links(self) -> list[tuple[str, str, str]]:
        """(name, operationRef, path parameter) of each OpenAPI link from the create route.

        They tell clients, and an API fuzzer's stateful phase, that the ``id`` a create
        answers is what the routes of one row take.
        """
        item = f"~1{self.plural}~1%7B{self.name}_id%7D"
        routes = {
            "get": ("Get", "get"),
            "update": ("Update", "patch"),
            "delete": ("Delete", "delete"),
        }
        links = [
            (f"{verb}{self.cls}", f"#/paths/{item}/{method}", f"{self.name}_id")
            for op, (verb, method) in routes.items()
            if op in self.operations
        ]
        links += [
            (
                f"Increment{self.cls}{name.title().replace('_', '')}",
                f"#/paths/{item}~1{name}~1increment/post",
                f"{self.name}_id",
            )
            for name, _ in self.counters
        ]
        return links

    @property
    def auth_probe(self) -> tuple[str, str]:
        """A (method, path) the auth test sends without a token."""
        if "list" in self.operations:
            return "get", f"/{self.plural}"
        if "get" in self.operations:
            return "get", f"/{self.plural}/1"
        if "delete" in self.operations:
            return "delete", f"/{self.plural}/1"
        if "update" in self.operations:
            return "patch", f"/{self.plural}/1"
        return "post", f"/{self.plural}"


@dataclass
class ProjectCode:
    """The whole project as the templates see it."""

    name: str
    title: str
    description: str
    auth: bool
    entities: list[EntityCode]
    accounts: AccountsCode | None
    links: list[LinkCode]
    stories: list[UserStory]
    all_tests: list[PlannedTest]
    not_implemented: list[tuple[str, str, str]] = field(default_factory=list)
    extensions: bool = False
    contract_tests: tuple[str, ...] = ()
    """The test functions of ``tests/test_contract.py``."""

    @property
    def rules(self) -> list[tuple[EntityCode, RuleCode]]:
        """Every rule of every entity, in spec order."""
        return [(e, rule) for e in self.entities for rule in e.rules]

    @property
    def later_kinds(self) -> set[str]:
        """Field types whose ``_later_<type>`` helper the test factory needs."""
        return {kind for _, rule in self.rules for _, kind in rule.data.get("fixups", [])}

    @property
    def managed_kinds(self) -> set[str]:
        """Kinds of managed field any entity has."""
        return {rule.kind.removeprefix("managed_") for _, rule in self.rules}

    @property
    def locking_rules(self) -> bool:
        """Whether a rule takes ``lock_scope`` before its check (see ``_LOCKING_TEMPLATES``)."""
        return any(_locks(rule) for _, rule in self.rules)

    @property
    def rule_imports(self) -> list[str]:
        """The import lines ``app/rules.py`` needs (ruff's isort fix merges them)."""
        lines = {line for _, rule in self.rules for line in rule.imports}
        lines |= {"import sqlalchemy as sa", "from typing import Any"}
        if self.locking_rules:
            lines |= {"import decimal", "import hashlib"}
        if self.extensions:
            lines.add("from app import extensions")
        models = {e.cls for e in self.entities if e.hooks}
        lines |= {f"from app.models import {cls}" for cls in models}
        for e in self.entities:
            if e.hook("before_write"):
                lines.add("from typing import Any")
            if e.hook("filter_list"):
                lines |= {"import sqlalchemy as sa", f"from app.schemas import {e.cls}Query"}
        return sorted(lines)

    @property
    def field_types(self) -> set[str]:
        """Every spec type any entity uses."""
        return set().union(*(e.field_types for e in self.entities))

    @property
    def any_columns(self) -> bool:
        """Whether any table has a column besides ``id``."""
        return any(e.fields or e.relations for e in self.entities) or bool(self.links)

    @property
    def uses_literal(self) -> bool:
        """Whether the schemas need ``typing.Literal`` (enum fields or a sort parameter)."""
        return (
            "enum" in self.field_types
            or any(e.allows("list") for e in self.entities)
            or self.accounts is not None
        )

    @property
    def router_modules(self) -> list[str]:
        """The modules of ``app/routers``, sorted."""
        names = [e.name for e in self.entities] + [link.module for link in self.links]
        if self.accounts is not None:
            names.append("auth")
        return sorted(names)

    @property
    def model_classes(self) -> list[str]:
        """Every table class but the accounts', sorted."""
        return sorted([e.cls for e in self.entities] + [link.cls for link in self.links])

    @property
    def app_routers(self) -> list[str]:
        """The routers every API route of which needs the auth dependency (not ``auth``)."""
        return [e.name for e in self.entities] + [link.module for link in self.links]

    @property
    def requirements(self) -> tuple[str, ...]:
        """The exact runtime pins (``kit/pins.toml``), with the accounts set if it has accounts."""
        return service_pins().requirements(accounts=self.accounts is not None)

    @property
    def dev_requirements(self) -> tuple[str, ...]:
        """The exact pins its tests and linters need on top of the runtime ones."""
        return service_pins().dev

    @property
    def any_unique(self) -> bool:
        """Whether a route checks unique fields."""
        return any(e.unique_fields and e.operations & {"create", "update"} for e in self.entities)

    @property
    def any_relation(self) -> bool:
        """Whether a route checks referenced rows."""
        return any(e.relations and e.operations & {"create", "update"} for e in self.entities)

    @property
    def any_body_ints(self) -> bool:
        """Whether a create (or update) body has an integer field."""
        return any(e.body_ints for e in self.entities)

    @property
    def any_required_update(self) -> bool:
        """Whether an update schema has required fields (which may be left out, never null)."""
        return any(e.not_null and e.allows("update") for e in self.entities)

    @property
    def factory_schemas(self) -> list[str]:
        """Schema classes the test factories use."""
        return sorted(f"{e.cls}{suffix}" for e in self.entities for suffix in ("Create", "Read"))


def build_project(spec: ServiceSpec, *, extensions: bool = False) -> ProjectCode:
    """The view model of ``spec``.

    With ``extensions``, every hook of every entity also calls ``app.extensions`` (the
    modules the hybrid engine's model writes for sentences no rule template builds).
    """
    entities = [_entity(spec, entity) for entity in spec.entities]
    by_name = {entity.name: entity for entity in entities}
    for entity in entities:
        fixups = [fixup for rule in entity.rules for fixup in rule.data.get("fixups", [])]
        # Fixed values (a time against "now") last: relative fixups must not move them back.
        entity.fixups += [statement for statement, kind in fixups if kind]
        entity.fixups += [statement for statement, kind in fixups if not kind]
    for entity in entities:
        for rule in entity.rules:
            for parent, statement in rule.data.get("parent_fixups", []):
                by_name[parent].fixups.append(statement)
            for other, hook, function in rule.data.get("foreign_calls", []):
                by_name[other].foreign_calls.setdefault(hook, []).append(function)
    if extensions:
        for entity in entities:
            for hook in EXTENSION_HOOKS:
                entity.foreign_calls.setdefault(hook, []).append(f"extensions.{hook}_{entity.name}")
    all_tests = [test for entity in entities for test in (*entity.tests, *entity.rule_tests)]
    not_implemented = [
        (item.sentence, item.reason, item.suggestion)
        for item in getattr(spec, "not_implemented", None) or []
    ]
    not_implemented += [
        (rule.source or f"{entity_name}: {rule.kind} rule {rule.id}", reason, "")
        for entity_name, rule, reason in unbuilt_rules(spec)
    ]
    return ProjectCode(
        name=spec.name,
        title=" ".join(word.capitalize() for word in spec.name.split("-")),
        description=spec.description or f"The {spec.name} service.",
        auth=auth_mode(spec) == STATIC_TOKEN,
        entities=entities,
        accounts=accounts_code(spec),
        links=links(spec),
        stories=list(spec.user_stories),
        all_tests=all_tests,
        not_implemented=not_implemented,
        extensions=extensions,
        contract_tests=contract_test_names(spec),
    )


EXTENSION_HOOKS = HOOKS
"""The hooks extension modules take part in: all of the rules'."""


def _entity(spec: ServiceSpec, entity: EntitySpec) -> EntityCode:
    table = entity.table
    indexed = set(entity.filters)
    fields = [_field(f, table, indexed=f.indexed or f.name in indexed) for f in entity.fields]
    managed = {f.name for f in entity.fields if f.managed is not None}
    by_name = {f.name: f for f in fields}
    relations = [_relation(spec, entity, r) for r in many_to_one(entity)]
    relations_by_name = {r.name: r for r in relations}
    filters = []
    for name in entity.filters:
        if name in by_name:
            code = by_name[name]
            filters.append(FilterCode(name, name, code.filter_annotation, code, None))
        else:
            relation = relations_by_name[name]
            filters.append(FilterCode(name, relation.column, "Int64 | None", None, relation))
    required = [f.name for f in required_without_default(entity) if f.name not in managed]
    required += [r.column for r in many_to_one(entity) if r.required]
    checks = [check for code in fields for check in code.checks]
    return EntityCode(
        uniques=_sequence_uniques(entity),
        name=entity.name,
        cls=class_name(entity.name),
        plural=table,
        words=entity.name.replace("_", " "),
        plural_words=table.replace("_", " "),
        description=entity.description or f"A {entity.name.replace('_', ' ')}.",
        fields=fields,
        relations=relations,
        operations={op.value for op in entity.operations},
        filters=filters,
        sorting=list(entity.sorting),
        required_fields=required,
        unique_fields=[code for code in fields if code.unique],
        children=[_child(entity, link) for link in child_links(spec, entity)],
        tests=plan_entity_tests(spec, entity),
        checks=checks,
        access=entity_access(spec, entity),
        input_fields=[code for code in fields if code.name not in managed],
        rules=build_rules(spec, entity),
        rule_tests=plan_rule_tests(spec, entity),
    )


def _sequence_uniques(entity: EntitySpec) -> list[tuple[tuple[str, ...], str]]:
    # A sequence number is unique per parent (or in the table): the database refuses a
    # duplicate even if a write ever got past the rule's lock.
    uniques = []
    for spec_field in entity.fields:
        managed = spec_field.managed
        if managed is None or managed.kind != "sequence":
            continue
        per = getattr(managed, "per", None)
        relation = entity.relation(per) if per else None
        columns = (relation.column, spec_field.name) if relation else (spec_field.name,)
        uniques.append((columns, f"uq_{entity.table}_{'_'.join(columns)}"))
    return uniques


def _field(spec_field: FieldSpec, table: str, *, indexed: bool) -> FieldCode:
    if spec_field.managed is None:
        return field_code(spec_field, table, indexed=indexed)
    # A managed field is always filled by the service: never null, no client default; a
    # generated code is unique by construction (and by an index).
    plain = spec_field.model_copy(update={"required": True, "default": None, "unique": False})
    code = field_code(plain, table, indexed=indexed)
    if spec_field.managed.kind == "code":
        code = dataclasses.replace(code, column_args=f"{code.column_args}, unique=True")
    return code


def _relation(spec: ServiceSpec, entity: EntitySpec, relation: RelationSpec) -> RelationCode:
    target = spec.entity(relation.target)
    if target is None:  # validate_spec refuses such specs; this keeps the types honest
        raise ValueError(f"unknown relation target {relation.target!r}")
    return RelationCode(
        name=relation.name,
        column=relation.column,
        target=target.name,
        target_class=class_name(target.name),
        target_table=target.table,
        required=relation.required,
        on_delete_sql=relation.on_delete.value.replace("_", " ").upper(),
        self_reference=target.name == entity.name,
        target_owned=is_owned(target) and accounts_code(spec) is not None,
    )


def _child(entity: EntitySpec, link: ChildLink) -> ChildCode:
    return ChildCode(
        test_name=delete_test_name(entity, link),
        on_delete=link.on_delete,
        child=link.child.name,
        child_class=class_name(link.child.name),
        column=f"{link.relation_name}_id",
    )


__all__ = ["EntityCode", "FieldType", "ProjectCode", "build_project", "literal"]
