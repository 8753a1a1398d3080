"""The service spec: a versioned, validated description of the service to generate.

A spec is plain data (JSON or YAML) that a person can write by hand or the analyst can
derive from English. :func:`validate_spec` checks the shape with pydantic and then the rules
that span several fields (relation targets exist, defaults fit their type, names are not
reserved, ...) and reports *every* problem with its path, e.g. ``entities[2].fields[0].type``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import keyword
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

SPEC_VERSION = "1"

_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
_ENUM_VALUE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
_ID_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
MAX_NAME_LENGTH = 40

# Defaults filled in when a spec leaves them out, so every stored spec is explicit.
DEFAULT_MAX_LENGTH = {"string": 255, "email": 320, "url": 2048}
DEFAULT_MAX_DIGITS = 12
DEFAULT_DECIMAL_PLACES = 2

_PYTHON_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}

# Column names that SQL engines treat as keywords; quoting would work, but such columns make
# every hand-written query against the generated database a trap.
SQL_RESERVED = frozenset(
    {
        "all", "alter", "and", "any", "as", "asc", "between", "by", "case", "check", "column",
        "constraint", "create", "cross", "current_date", "current_time", "current_timestamp",
        "current_user", "default", "delete", "desc", "distinct", "drop", "else", "end",
        "except", "exists", "false", "fetch", "for", "foreign", "from", "full", "grant",
        "group", "having", "in", "index", "inner", "insert", "intersect", "into", "is", "join",
        "key", "left", "like", "limit", "not", "null", "offset", "on", "or", "order", "outer",
        "primary", "references", "right", "rowid", "select", "session_user", "set", "table",
        "then", "to", "true", "union", "unique", "update", "user", "using", "values", "when",
        "where", "with",
    }
)  # fmt: skip

# Names the generated code itself uses next to the spec's fields: the primary key, the list
# query parameters, module aliases (``dt``, ``decimal``, ``uuid``, ``sa``) and attributes that
# SQLAlchemy or pydantic own on every model.
GENERATED_FIELD_NAMES = frozenset(
    {
        "id", "dt", "decimal", "uuid", "sa", "limit", "offset", "sort", "metadata",
        "registry", "query", "items", "total",
    }
)  # fmt: skip

# Entity names become module names (``app/routers/<name>.py``) and class name prefixes; these
# would shadow the generated project's own modules or imported names.
GENERATED_ENTITY_NAMES = frozenset(
    {
        "app", "auth", "base", "config", "db", "main", "models", "schemas", "routers",
        "router", "health", "tests", "conftest", "factories", "factory", "session", "settings",
        "client", "mapped", "field", "annotated", "literal", "any", "self", "page",
    }
)  # fmt: skip


class FieldType(StrEnum):
    """The types a field can have."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    UUID = "uuid"
    EMAIL = "email"
    URL = "url"
    ENUM = "enum"


class OnDelete(StrEnum):
    """What happens to the referring rows when the referenced row is deleted."""

    RESTRICT = "restrict"
    CASCADE = "cascade"
    SET_NULL = "set_null"


class Operation(StrEnum):
    """The API operations an entity can offer."""

    LIST = "list"
    GET = "get"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


ALL_OPERATIONS: tuple[Operation, ...] = tuple(Operation)
_LENGTH_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.URL})
_NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL})

Scalar = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


# TEMPORARY STUB (rules-crud branch): the rule models of /work/notes/rules-design.md, the
# minimum the template engine needs until rules-spec's spec package lands on main.
class Condition(_Model):
    """A filter on a record: ``field`` op ``value``."""

    field: str
    op: Literal["is_null", "not_null", "eq", "ne", "in"]
    value: Scalar | list[Scalar] = None


class ManagedCreatedAt(_Model):
    kind: Literal["created_at"]


class ManagedUpdatedAt(_Model):
    kind: Literal["updated_at"]


class ManagedCode(_Model):
    kind: Literal["code"]
    length: int = Field(8, ge=4, le=64)
    alphabet: str = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class ManagedSequence(_Model):
    kind: Literal["sequence"]
    per: str | None = None


class ManagedCounter(_Model):
    kind: Literal["counter"]
    start: int = 0


Managed = Annotated[
    ManagedCreatedAt | ManagedUpdatedAt | ManagedCode | ManagedSequence | ManagedCounter,
    Field(discriminator="kind"),
]


class _RuleBase(_Model):
    id: str
    source: str = ""


class UniqueTogetherRule(_RuleBase):
    kind: Literal["unique_together"]
    fields: list[str] = Field(min_length=2)
    where: Condition | None = None


class CompareRule(_RuleBase):
    kind: Literal["compare"]
    left: str
    op: Literal["lt", "le", "gt", "ge", "ne"]
    right: str


class NoOverlapRule(_RuleBase):
    kind: Literal["no_overlap"]
    start: str
    end: str
    scope: list[str] = Field(default_factory=list)
    where: Condition | None = None


class CountLimitRule(_RuleBase):
    kind: Literal["count_limit"]
    relation: str
    max_count: int | None = None
    max_field: str | None = None
    where: Condition | None = None


class SearchRule(_RuleBase):
    kind: Literal["search"]
    fields: list[str] = Field(min_length=1)


class RangeRule(_RuleBase):
    kind: Literal["range"]
    field: str


Rule = Annotated[
    UniqueTogetherRule | CompareRule | NoOverlapRule | CountLimitRule | SearchRule | RangeRule,
    Field(discriminator="kind"),
]


_STUB_KEYS = ("unit", "pattern", "managed", "rules", "rule_id", "not_implemented")


class _StubDump(_Model):
    """Leaves the stubbed keys out of dumps while they are empty, so stored specs still match."""

    @model_serializer(mode="wrap")
    def _omit_empty_stub_keys(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for key in _STUB_KEYS:
                if key in data and data[key] in (None, []):
                    del data[key]
        return data


class NotImplementedSentence(_Model):
    sentence: str
    reason: str
    suggestion: str = ""


class FieldSpec(_StubDump):
    """A typed field of an entity, stored as one column."""

    name: str = Field(description="snake_case name of the field")
    type: FieldType
    description: str = ""
    required: bool = Field(True, description="the value may not be null")
    unique: bool = False
    indexed: bool = False
    default: Scalar = Field(None, description="value used when a create request omits it")
    min_length: int | None = Field(None, ge=0, description="string and text only")
    max_length: int | None = Field(None, ge=1, le=65535, description="string, text, email, url")
    min_value: int | float | None = Field(None, description="integer and decimal only")
    max_value: int | float | None = Field(None, description="integer and decimal only")
    max_digits: int | None = Field(None, ge=1, le=38, description="decimal only")
    decimal_places: int | None = Field(None, ge=0, le=18, description="decimal only")
    values: list[str] = Field(default_factory=list, description="enum only: allowed values")
    unit: str | None = None
    pattern: str | None = None
    managed: Managed | None = None

    @model_validator(mode="after")
    def _fill_type_defaults(self) -> Self:
        """Make implicit limits explicit so two equivalent specs dump identically."""
        if self.max_length is None and self.type.value in DEFAULT_MAX_LENGTH:
            self.max_length = DEFAULT_MAX_LENGTH[self.type.value]
        if self.type is FieldType.DECIMAL:
            if self.max_digits is None:
                self.max_digits = DEFAULT_MAX_DIGITS
            if self.decimal_places is None:
                self.decimal_places = DEFAULT_DECIMAL_PLACES
        return self


class RelationSpec(_Model):
    """A many-to-one reference to another entity (the one-to-many side is derived)."""

    name: str = Field(description="snake_case name; the column is `<name>_id`")
    target: str = Field(description="name of the referenced entity")
    kind: Literal["many_to_one"] = "many_to_one"
    required: bool = True
    on_delete: OnDelete = OnDelete.RESTRICT
    description: str = ""

    @property
    def column(self) -> str:
        """The foreign-key column name."""
        return f"{self.name}_id"


class EntitySpec(_StubDump):
    """A kind of record the service stores and exposes over the API."""

    name: str = Field(description="singular snake_case name, e.g. `book`")
    plural: str | None = Field(None, description="plural used for tables and URLs")
    description: str = ""
    fields: list[FieldSpec] = Field(default_factory=list)
    relations: list[RelationSpec] = Field(default_factory=list)
    operations: list[Operation] = Field(default_factory=lambda: list(ALL_OPERATIONS))
    filters: list[str] = Field(default_factory=list, description="fields or relations")
    sorting: list[str] = Field(default_factory=list, description="fields to sort by")
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_plural(self) -> Self:
        if self.plural is None and _IDENTIFIER.match(self.name):
            self.plural = pluralize(self.name)
        return self

    @property
    def table(self) -> str:
        """The table name and URL segment (the plural)."""
        return self.plural or pluralize(self.name)

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name``, if any."""
        return next((f for f in self.fields if f.name == name), None)

    def relation(self, name: str) -> RelationSpec | None:
        """The relation called ``name``, if any."""
        return next((r for r in self.relations if r.name == name), None)

    def allows(self, operation: Operation) -> bool:
        """Whether the API offers ``operation`` on this entity."""
        return operation in self.operations


class AcceptanceCriterion(_StubDump):
    """A testable condition of a user story, mapped to the generated tests that check it."""

    id: str
    text: str
    rule_id: str | None = None
    test_ids: list[str] = Field(
        default_factory=list, description="pytest node ids, e.g. tests/test_book.py::test_x"
    )


class UserStory(_Model):
    """'As a <role> I want <goal> so that <benefit>', with its acceptance criteria."""

    id: str
    as_a: str
    i_want: str
    so_that: str
    entity: str | None = None
    acceptance_criteria: list[AcceptanceCriterion] = Field(default_factory=list)

    @property
    def text(self) -> str:
        """The story as one sentence."""
        return f"As a {self.as_a}, I want {self.i_want} so that {self.so_that}."


class ServiceSpec(_StubDump):
    """Everything the generators need to build one service."""

    spec_version: Literal["1"] = SPEC_VERSION
    name: str = Field(description="slug, e.g. `library`")
    description: str = ""
    auth_required: bool = Field(False, description="every API route needs a bearer token")
    entities: list[EntitySpec] = Field(min_length=1)
    user_stories: list[UserStory] = Field(default_factory=list)
    not_implemented: list[NotImplementedSentence] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value) or len(value) > 63:
            raise ValueError(
                "must be a slug: lowercase letters, digits and single dashes, "
                "starting with a letter, at most 63 characters"
            )
        return value

    @model_validator(mode="after")
    def _check_rules(self, info: ValidationInfo) -> Self:
        # validate_spec runs the rules itself to keep each problem's path; a direct
        # model_validate still refuses an inconsistent spec, with the paths in the message.
        if isinstance(info.context, dict) and info.context.get("skip_rules"):
            return self
        problems = list(_rule_problems(self))
        if problems:
            raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
        return self

    def entity(self, name: str) -> EntitySpec | None:
        """The entity called ``name``, if any."""
        return next((e for e in self.entities if e.name == name), None)

    def canonical_json(self) -> str:
        """The spec as JSON with sorted keys: equal specs give equal text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class SpecProblem:
    """One problem found in a spec: where (``entities[0].fields[1].type``) and what."""

    path: str
    message: str


class SpecValidationError(ValueError):
    """A spec was refused; :attr:`problems` lists every problem found."""

    code = "INVALID_SPEC"
    status_code = 422

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p.path or '<root>'}: {p.message}" for p in problems)
        super().__init__(f"invalid spec ({len(problems)} problem(s)):\n{lines}")

    def to_dict(self) -> list[dict[str, str]]:
        """The problems as plain data, e.g. for an API error's details."""
        return [{"path": p.path, "message": p.message} for p in self.problems]


def validate_spec(data: dict[str, Any]) -> ServiceSpec:
    """Validate ``data`` as a :class:`ServiceSpec`.

    Raises :class:`SpecValidationError` listing every problem, each with its path in the
    form ``entities[2].fields[0].type``.
    """
    if not isinstance(data, dict):
        raise SpecValidationError([SpecProblem("", "a spec must be a mapping (JSON object)")])
    try:
        spec = ServiceSpec.model_validate(data, context={"skip_rules": True})
    except ValidationError as exc:
        problems = _convert_pydantic_errors(exc)
        # Check the rules on the well-formed parts too, so one typo does not hide the rest.
        known = {(p.path, p.message) for p in problems}
        problems += [
            p for p in _rule_problems(_partial_spec(data)) if (p.path, p.message) not in known
        ]
        raise SpecValidationError(problems) from None
    problems = list(_rule_problems(spec))
    if problems:
        raise SpecValidationError(problems)
    return spec


def load_spec_text(text: str) -> ServiceSpec:
    """Parse a spec written as JSON or YAML and validate it (see :func:`validate_spec`)."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecValidationError([SpecProblem("", f"not valid JSON or YAML: {exc}")]) from None
    return validate_spec(data)


def format_path(loc: Iterable[str | int]) -> str:
    """Turn a location tuple such as ``("entities", 2, "name")`` into ``entities[2].name``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def pluralize(word: str) -> str:
    """English plural of a snake_case name; only the last word changes (``line_items``)."""
    head, _, last = word.rpartition("_")
    prefix = f"{head}_" if head else ""
    if last in _IRREGULAR_PLURALS:
        return prefix + _IRREGULAR_PLURALS[last]
    if last.endswith(("s", "x", "z", "ch", "sh")):
        return f"{prefix}{last}es"
    if last.endswith("y") and len(last) > 1 and last[-2] not in "aeiou":
        return f"{prefix}{last[:-1]}ies"
    return f"{prefix}{last}s"


_IRREGULAR_PLURALS = {
    "person": "people",
    "child": "children",
    "man": "men",
    "woman": "women",
    "mouse": "mice",
    "foot": "feet",
    "tooth": "teeth",
    "goose": "geese",
    "leaf": "leaves",
    "knife": "knives",
    "life": "lives",
    "wife": "wives",
    "shelf": "shelves",
    "half": "halves",
    "analysis": "analyses",
    "criterion": "criteria",
    "series": "series",
    "species": "species",
    "datum": "data",
}


def class_name(name: str) -> str:
    """PascalCase class name of a snake_case entity name."""
    return "".join(part.capitalize() for part in name.split("_"))


# Suffixes of the classes generated per entity; two entities must not produce the same class.
GENERATED_CLASS_SUFFIXES = ("", "Create", "Update", "Read", "Page", "Query")


def _convert_pydantic_errors(exc: ValidationError) -> list[SpecProblem]:
    messages: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        # Union members add their type name to the location (``default.str``); the user
        # wrote one value, so the path stops at the field and the alternatives are merged.
        loc = [part for part in error["loc"] if part not in _UNION_MEMBER_TAGS]
        message = error["msg"].removeprefix("Value error, ")
        found = messages.setdefault(format_path(loc), [])
        if message not in found:
            found.append(message)
    problems = []
    for path, found in messages.items():
        if len(found) > 1 and all(m.startswith("Input should be ") for m in found):
            options = [m.removeprefix("Input should be ") for m in found]
            message = "Input should be " + ", ".join(options[:-1]) + " or " + options[-1]
            problems.append(SpecProblem(path, message))
        else:
            problems.extend(SpecProblem(path, message) for message in found)
    return problems


def _partial_spec(data: dict[str, Any]) -> ServiceSpec:
    """The well-formed parts of ``data``; a malformed entity, field or relation becomes None.

    The rule checks skip the None entries, and list positions are kept so paths stay right.
    """
    raw_entities = data.get("entities")
    entities: list[EntitySpec | None] = []
    for raw in raw_entities if isinstance(raw_entities, list) else []:
        entities.append(_partial_entity(raw) if isinstance(raw, dict) else None)
    return ServiceSpec.model_construct(
        name=data.get("name", ""),
        entities=entities,
        user_stories=_valid_items(UserStory, data.get("user_stories")),
    )


def _partial_entity(raw: dict[str, Any]) -> EntitySpec | None:
    name = raw.get("name")
    if not isinstance(name, str):
        return None
    parts = {"fields": FieldSpec, "relations": RelationSpec}
    rest = {k: v for k, v in raw.items() if k not in parts}
    try:
        shell = EntitySpec.model_validate(rest)
    except ValidationError:
        shell = EntitySpec.model_construct(
            name=name, plural=None, operations=list(ALL_OPERATIONS), filters=[], sorting=[]
        )
    shell.fields = _valid_items(FieldSpec, raw.get("fields"))
    shell.relations = _valid_items(RelationSpec, raw.get("relations"))
    return shell


def _valid_items(model: type[_Model], raw: Any) -> list[Any]:
    items: list[Any] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            items.append(model.model_validate(item))
        except ValidationError:
            items.append(None)
    return items


_UNION_MEMBER_TAGS = frozenset({"str", "int", "float", "bool", "none"})


def _rule_problems(spec: ServiceSpec) -> Iterator[SpecProblem]:
    """Every rule that spans more than one field; yields problems in document order."""
    entities_by_name: dict[str, EntitySpec] = {}
    plurals: dict[str, int] = {}
    class_names: dict[str, int] = {}
    for index, entity in enumerate(spec.entities):
        if entity is None:
            continue
        base = f"entities[{index}]"
        yield from _check_name(entity.name, f"{base}.name", kind="entity")
        if entity.name in entities_by_name:
            yield SpecProblem(f"{base}.name", f"duplicate entity name {entity.name!r}")
            continue
        entities_by_name[entity.name] = entity
        if entity.plural is not None:
            if not _IDENTIFIER.match(entity.plural):
                yield SpecProblem(f"{base}.plural", "must be snake_case")
            elif entity.plural in plurals:
                other = plurals[entity.plural]
                yield SpecProblem(
                    f"{base}.plural",
                    f"plural {entity.plural!r} is already used by entities[{other}]",
                )
            plurals.setdefault(entity.plural, index)
        for suffix in GENERATED_CLASS_SUFFIXES:
            generated = class_name(entity.name) + suffix
            if generated in class_names and class_names[generated] != index:
                other = class_names[generated]
                yield SpecProblem(
                    f"{base}.name", f"generated class {generated!r} clashes with entities[{other}]"
                )
            class_names.setdefault(generated, index)

    for index, entity in enumerate(spec.entities):
        if entity is None:
            continue
        yield from _entity_problems(entity, f"entities[{index}]", entities_by_name)
    yield from _cycle_problems(spec)
    yield from _story_problems(spec, entities_by_name)


def _check_name(name: str, path: str, *, kind: str) -> Iterator[SpecProblem]:
    if not _IDENTIFIER.match(name):
        yield SpecProblem(
            path,
            f"{kind} name {name!r} must be snake_case: lowercase letters, digits and single "
            "underscores, starting with a letter",
        )
        return
    if len(name) > MAX_NAME_LENGTH:
        yield SpecProblem(path, f"{kind} name is longer than {MAX_NAME_LENGTH} characters")
    if name in _PYTHON_RESERVED:
        yield SpecProblem(path, f"{name!r} is a Python keyword")
    elif kind == "entity" and name in GENERATED_ENTITY_NAMES:
        yield SpecProblem(path, f"{name!r} is used by the generated project itself")
    elif kind == "relation" and name in GENERATED_FIELD_NAMES:
        yield SpecProblem(path, f"{name!r} is reserved by the generated code")
    elif kind == "field":
        if name in SQL_RESERVED:
            yield SpecProblem(path, f"{name!r} is an SQL keyword; choose a more specific name")
        elif name in GENERATED_FIELD_NAMES or name.startswith("model_"):
            yield SpecProblem(path, f"{name!r} is reserved by the generated code")


def _entity_problems(
    entity: EntitySpec, base: str, entities: dict[str, EntitySpec]
) -> Iterator[SpecProblem]:
    columns: dict[str, str] = {}
    for index, field in enumerate(entity.fields):
        if field is None:
            continue
        path = f"{base}.fields[{index}]"
        yield from _check_name(field.name, f"{path}.name", kind="field")
        if field.name in columns:
            yield SpecProblem(f"{path}.name", f"duplicate field name {field.name!r}")
        columns.setdefault(field.name, f"{path}.name")
        yield from _field_problems(field, path)

    for index, relation in enumerate(entity.relations):
        if relation is None:
            continue
        path = f"{base}.relations[{index}]"
        yield from _check_name(relation.name, f"{path}.name", kind="relation")
        for column in (relation.name, relation.column):
            if column in columns:
                yield SpecProblem(
                    f"{path}.name", f"{column!r} clashes with the column of {columns[column]}"
                )
        columns.setdefault(relation.name, f"{path}.name")
        columns.setdefault(relation.column, f"{path}.name")
        if relation.target not in entities:
            yield SpecProblem(
                f"{path}.target", f"unknown entity {relation.target!r}; known: {sorted(entities)}"
            )
        if relation.on_delete is OnDelete.SET_NULL and relation.required:
            yield SpecProblem(
                f"{path}.on_delete", "set_null needs an optional relation (required: false)"
            )
        if relation.target == entity.name and relation.required:
            yield SpecProblem(f"{path}.required", "a relation to the same entity must be optional")

    if not entity.operations:
        yield SpecProblem(f"{base}.operations", "at least one operation is needed")
    yield from _duplicates(entity.operations, f"{base}.operations")

    filterable = {f.name for f in entity.fields if f} | {r.name for r in entity.relations if r}
    for index, name in enumerate(entity.filters):
        if name not in filterable:
            yield SpecProblem(
                f"{base}.filters[{index}]", f"no field or relation {name!r} on {entity.name}"
            )
    yield from _duplicates(entity.filters, f"{base}.filters")
    sortable = {f.name for f in entity.fields if f}
    for index, name in enumerate(entity.sorting):
        if name not in sortable:
            yield SpecProblem(f"{base}.sorting[{index}]", f"no field {name!r} on {entity.name}")
    yield from _duplicates(entity.sorting, f"{base}.sorting")
    if (entity.filters or entity.sorting) and Operation.LIST not in entity.operations:
        yield SpecProblem(f"{base}.operations", "filters and sorting need the list operation")


def _duplicates(items: list[Any], path: str) -> Iterator[SpecProblem]:
    seen: set[Any] = set()
    for index, item in enumerate(items):
        if item in seen:
            yield SpecProblem(f"{path}[{index}]", f"duplicate {str(item)!r}")
        seen.add(item)


def _field_problems(field: FieldSpec, path: str) -> Iterator[SpecProblem]:
    kind = field.type
    if field.min_length is not None and kind not in {FieldType.STRING, FieldType.TEXT}:
        yield SpecProblem(f"{path}.min_length", "min_length applies to string and text only")
    if field.max_length is not None and kind not in _LENGTH_TYPES:
        yield SpecProblem(
            f"{path}.max_length", "max_length applies to string, text, email and url only"
        )
    if (
        field.min_length is not None
        and field.max_length is not None
        and field.min_length > field.max_length
    ):
        yield SpecProblem(f"{path}.min_length", "min_length is greater than max_length")
    for bound in ("min_value", "max_value"):
        value = getattr(field, bound)
        if value is None:
            continue
        if kind not in _NUMERIC_TYPES:
            yield SpecProblem(f"{path}.{bound}", f"{bound} applies to integer and decimal only")
        elif kind is FieldType.INTEGER and not isinstance(value, int):
            yield SpecProblem(f"{path}.{bound}", "an integer bound must be a whole number")
    if (
        field.min_value is not None
        and field.max_value is not None
        and field.min_value >= field.max_value
    ):
        yield SpecProblem(f"{path}.max_value", "max_value must be greater than min_value")
    if kind is not FieldType.DECIMAL:
        for name in ("max_digits", "decimal_places"):
            if getattr(field, name) is not None:
                yield SpecProblem(f"{path}.{name}", f"{name} applies to decimal only")
    elif (field.decimal_places or 0) >= (field.max_digits or 0):
        yield SpecProblem(f"{path}.decimal_places", "decimal_places must be less than max_digits")

    if kind is FieldType.ENUM:
        if len(field.values) < 2:
            yield SpecProblem(f"{path}.values", "an enum needs at least two values")
        for index, value in enumerate(field.values):
            if not _ENUM_VALUE.match(value) or len(value) > 50:
                yield SpecProblem(
                    f"{path}.values[{index}]",
                    f"enum value {value!r} must be lowercase letters and digits joined by "
                    "'_' or '-', at most 50 characters",
                )
        yield from _duplicates(field.values, f"{path}.values")
    elif field.values:
        yield SpecProblem(f"{path}.values", "values apply to enum fields only")

    if kind in {FieldType.EMAIL, FieldType.URL} and (field.max_length or 0) < 30:
        yield SpecProblem(f"{path}.max_length", f"an {kind.value} field needs at least 30")
    if kind is FieldType.DECIMAL and field.max_digits and field.decimal_places is not None:
        # A bound the column cannot store makes the field unusable.
        limit = 10 ** (field.max_digits - field.decimal_places)
        for bound in ("min_value", "max_value"):
            value = getattr(field, bound)
            if value is not None and abs(value) >= limit:
                yield SpecProblem(
                    f"{path}.{bound}", f"{bound} does not fit in {field.max_digits} digits"
                )
    if field.unique and kind is FieldType.BOOLEAN:
        yield SpecProblem(f"{path}.unique", "a boolean field cannot be unique")
    if field.default is not None:
        error = default_error(field)
        if error:
            yield SpecProblem(f"{path}.default", error)


def default_error(field: FieldSpec) -> str | None:
    """Why ``field.default`` does not fit the field's type and limits, or None if it does."""
    value = field.default
    kind = field.type
    if kind is FieldType.BOOLEAN:
        return None if isinstance(value, bool) else "default must be true or false"
    if kind in _NUMERIC_TYPES:
        return _numeric_default_error(field)
    if not isinstance(value, str):
        return f"default must be a string for a {kind.value} field"
    if field.max_length is not None and len(value) > field.max_length:
        return f"default is longer than max_length ({field.max_length})"
    if field.min_length is not None and len(value) < field.min_length:
        return f"default is shorter than min_length ({field.min_length})"
    parsers: dict[FieldType, Any] = {
        FieldType.DATE: dt.date.fromisoformat,
        FieldType.DATETIME: dt.datetime.fromisoformat,
        FieldType.UUID: uuid.UUID,
    }
    if kind in parsers:
        try:
            parsers[kind](value)
        except ValueError:
            return f"default {value!r} is not a valid {kind.value}"
    if kind is FieldType.EMAIL and not re.match(EMAIL_PATTERN, value):
        return f"default {value!r} is not an email address"
    if kind is FieldType.URL and not re.match(URL_PATTERN, value):
        return f"default {value!r} is not an http(s) URL"
    if kind is FieldType.ENUM and value not in field.values:
        return f"default {value!r} is not one of {field.values}"
    return None


def _numeric_default_error(field: FieldSpec) -> str | None:
    value = field.default
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"default must be a number for a {field.type.value} field"
    if field.type is FieldType.INTEGER and not isinstance(value, int):
        return "default must be a whole number for an integer field"
    if field.min_value is not None and value < field.min_value:
        return f"default is below min_value ({field.min_value})"
    if field.max_value is not None and value > field.max_value:
        return f"default is above max_value ({field.max_value})"
    if field.type is FieldType.DECIMAL:
        exponent = decimal.Decimal(str(value)).as_tuple().exponent
        if isinstance(exponent, int) and -exponent > (field.decimal_places or 0):
            return f"default has more than {field.decimal_places} decimal places"
    return None


def _cycle_problems(spec: ServiceSpec) -> Iterator[SpecProblem]:
    # A cycle of required relations means no row of any entity in it can ever be created.
    graph = {
        e.name: sorted({r.target for r in e.relations if r and r.required and r.target != e.name})
        for e in spec.entities
        if e
    }
    index = {e.name: i for i, e in enumerate(spec.entities) if e}
    state: dict[str, int] = {}
    reported: set[frozenset[str]] = set()

    def visit(node: str, trail: list[str]) -> Iterator[list[str]]:
        state[node] = 1
        for target in graph.get(node, []):
            if state.get(target) == 1:
                yield [*trail[trail.index(target) :], target]
            elif target in graph and target not in state:
                yield from visit(target, [*trail, target])
        state[node] = 2

    for name in graph:
        if name not in state:
            for cycle in visit(name, [name]):
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    yield SpecProblem(
                        f"entities[{index[cycle[0]]}].relations",
                        "required relations form a cycle ("
                        + " -> ".join(cycle)
                        + "); make one of them optional",
                    )


def _story_problems(spec: ServiceSpec, entities: dict[str, EntitySpec]) -> Iterator[SpecProblem]:
    ids: set[str] = set()
    for index, story in enumerate(spec.user_stories):
        if story is None:
            continue
        path = f"user_stories[{index}]"
        if not _ID_TOKEN.match(story.id):
            yield SpecProblem(f"{path}.id", "an id is letters, digits, '.', '_' or '-'")
        if story.id in ids:
            yield SpecProblem(f"{path}.id", f"duplicate id {story.id!r}")
        ids.add(story.id)
        if story.entity is not None and story.entity not in entities:
            yield SpecProblem(f"{path}.entity", f"unknown entity {story.entity!r}")
        for number, criterion in enumerate(story.acceptance_criteria):
            where = f"{path}.acceptance_criteria[{number}]"
            if not _ID_TOKEN.match(criterion.id):
                yield SpecProblem(f"{where}.id", "an id is letters, digits, '.', '_' or '-'")
            if criterion.id in ids:
                yield SpecProblem(f"{where}.id", f"duplicate id {criterion.id!r}")
            ids.add(criterion.id)
