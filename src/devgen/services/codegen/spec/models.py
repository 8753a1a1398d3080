"""The spec's data model: a service, its entities, fields, relations, rules and stories.

Plain pydantic models; the checks that span several fields live in
:mod:`devgen.services.codegen.spec.validation`.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from devgen.services.codegen.spec.naming import IDENTIFIER, SLUG, pluralize

SPEC_VERSION: Final = "1"

# Defaults filled in when a spec leaves them out, so every stored spec is explicit.
DEFAULT_MAX_LENGTH = {"string": 255, "email": 320, "url": 2048}
DEFAULT_MAX_DIGITS = 12
DEFAULT_DECIMAL_PLACES = 2
# Generated codes avoid the characters that read alike (0/O, 1/I).
DEFAULT_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


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
LENGTH_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.URL})
NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL})
TEMPORAL_TYPES = frozenset({FieldType.DATE, FieldType.DATETIME})
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.URL})

Scalar = str | int | float | bool | None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class ManagedCreatedAt(_Model):
    """Set by the server when the record is created (a datetime field)."""

    kind: Literal["created_at"] = "created_at"


class ManagedUpdatedAt(_Model):
    """Set by the server on creation and on every change (a datetime field)."""

    kind: Literal["updated_at"] = "updated_at"


class ManagedCode(_Model):
    """A random code drawn from ``alphabet`` (a string field), unique by construction."""

    kind: Literal["code"] = "code"
    length: int = Field(8, ge=4, le=64)
    alphabet: str = Field(DEFAULT_CODE_ALPHABET, min_length=2)


class ManagedSequence(_Model):
    """1, 2, 3 … per parent (``per`` names a many-to-one relation) or over all records."""

    kind: Literal["sequence"] = "sequence"
    per: str | None = Field(None, description="a many_to_one relation of the entity, or null")


class ManagedCounter(_Model):
    """An integer that starts at ``start``; ``POST /<plural>/{id}/<field>/increment`` adds one."""

    kind: Literal["counter"] = "counter"
    start: int = 0


Managed = Annotated[
    ManagedCreatedAt | ManagedUpdatedAt | ManagedCode | ManagedSequence | ManagedCounter,
    Field(discriminator="kind"),
]
"""A server-managed field: read-only for clients, a create or update carrying it gets 422."""


class FieldSpec(_Model):
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
    unit: str | None = Field(None, description="metadata only, e.g. EUR, kg, minutes")
    pattern: str | None = Field(None, description="string and text: a regex to match in full")
    managed: Managed | None = Field(None, description="set by the server, read-only for clients")

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
    """A reference to another entity (the one-to-many side of many_to_one is derived).

    ``many_to_many`` keeps a link table ``<entity>_<name>``; the link is a resource
    (``GET/PUT/DELETE /<plural>/{id}/<name>/{target_id}``) listable from both sides.
    """

    name: str = Field(description="snake_case name; a many_to_one column is `<name>_id`")
    target: str = Field(description="name of the referenced entity (may be the entity itself)")
    kind: Literal["many_to_one", "many_to_many"] = "many_to_one"
    required: bool = Field(True, description="many_to_one only; false makes it optional")
    on_delete: OnDelete = OnDelete.RESTRICT
    description: str = ""

    @model_validator(mode="after")
    def _links_cascade(self) -> Self:
        # Deleting either side of a many-to-many deletes its links; it is the only choice.
        if self.kind == "many_to_many" and "on_delete" not in self.model_fields_set:
            self.on_delete = OnDelete.CASCADE
        return self

    @property
    def column(self) -> str:
        """The foreign-key column name."""
        return f"{self.name}_id"


class Condition(_Model):
    """Which records a rule applies to, e.g. loans whose ``returned_at`` is null."""

    field: str = Field(description="a field or many_to_one relation of the entity")
    op: Literal["is_null", "not_null", "eq", "ne", "in"]
    value: Scalar | list[Scalar] = Field(None, description="eq/ne: a value; in: a list")


class _Rule(_Model):
    id: str = Field(description="unique in the spec, e.g. `loan.no_overlap.1`")
    source: str = Field("", description="the requirement sentence it came from")


class UniqueTogetherRule(_Rule):
    """No two records (matching ``where``) share the values of ``fields``; violation: 409."""

    kind: Literal["unique_together"] = "unique_together"
    fields: list[str] = Field(description="two or more fields or many_to_one relations")
    where: Condition | None = None


class CompareRule(_Rule):
    """``left <op> right`` for two fields of the same family; violation: 422."""

    kind: Literal["compare"] = "compare"
    left: str
    op: Literal["lt", "le", "gt", "ge", "ne"]
    right: str


class NoOverlapRule(_Rule):
    """Half-open intervals [start, end) do not overlap within ``scope``; violation: 409."""

    kind: Literal["no_overlap"] = "no_overlap"
    start: str
    end: str
    scope: list[str] = Field(default_factory=list, description="fields or relations; [] = all")
    where: Condition | None = None


class CountLimitRule(_Rule):
    """At most ``max_count`` (or the parent's ``max_field``) children per parent; 409."""

    kind: Literal["count_limit"] = "count_limit"
    relation: str = Field(description="a many_to_one relation of this entity (to the parent)")
    max_count: int | None = Field(None, ge=1)
    max_field: str | None = Field(None, description="an integer field of the parent")
    where: Condition | None = Field(None, description="count only the children matching")


class Transition(_Model):
    """From one state to the states allowed next. Written ``{"from": "a", "to": ["b"]}``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)

    @model_serializer(mode="wrap")
    def _dump_from(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        # by_alias dumps already name it "from"; plain dumps name it "from_"
        source = data.pop("from_") if "from_" in data else data.pop("from")
        return {"from": source, **data}


class StateMachineRule(_Rule):
    """The states an enum field goes through; a wrong move or a locked record: 409."""

    kind: Literal["state_machine"] = "state_machine"
    field: str = Field(description="an enum field")
    initial: str = Field(description="every record starts here; creating in another: 422")
    transitions: list[Transition] = Field(default_factory=list)
    terminal: list[str] = Field(default_factory=list, description="no way out")
    frozen: list[str] = Field(
        default_factory=list, description="no field may change, except by a transition out"
    )
    undeletable: list[str] = Field(default_factory=list, description="delete answers 409")

    def allowed(self, state: str) -> list[str]:
        """The states reachable in one step from ``state``."""
        return [t for tr in self.transitions if tr.from_ == state for t in tr.to]


class ComputedRule(_Rule):
    """A read-only field computed from own fields or over children; always current."""

    kind: Literal["computed"] = "computed"
    field: str = Field(description="a new read-only field (not one of `fields`)")
    type: Literal["integer", "decimal"]
    op: Literal["sum", "count", "product"]
    terms: list[str] = Field(
        default_factory=list,
        description="own fields, or the child's fields when `child` is set (each child "
        "contributes the product of its terms)",
    )
    child: str | None = Field(None, description="child entity")
    via: str | None = Field(None, description="the child's many_to_one relation to this entity")


class SearchRule(_Rule):
    """``?q=`` on the list matches any of ``fields``, case-insensitive contains."""

    kind: Literal["search"] = "search"
    fields: list[str]


class RangeRule(_Rule):
    """``?<field>_min=`` and ``?<field>_max=`` (inclusive) on the list."""

    kind: Literal["range"] = "range"
    field: str


class RoleRequiredRule(_Rule):
    """Only accounts with one of ``roles`` may do ``operations`` (403 otherwise)."""

    kind: Literal["role_required"] = "role_required"
    operations: list[Operation]
    roles: list[str]


Rule = Annotated[
    UniqueTogetherRule
    | CompareRule
    | NoOverlapRule
    | CountLimitRule
    | StateMachineRule
    | ComputedRule
    | SearchRule
    | RangeRule
    | RoleRequiredRule,
    Field(discriminator="kind"),
]
"""One business rule of an entity; ``kind`` says which."""

RULE_KINDS: tuple[str, ...] = (
    "unique_together",
    "compare",
    "no_overlap",
    "count_limit",
    "state_machine",
    "computed",
    "search",
    "range",
    "role_required",
)
MANAGED_KINDS: tuple[str, ...] = ("created_at", "updated_at", "code", "sequence", "counter")


class EntitySpec(_Model):
    """A kind of record the service stores and exposes over the API."""

    name: str = Field(description="singular snake_case name, e.g. `book`")
    plural: str | None = Field(None, description="plural used for tables and URLs")
    description: str = ""
    fields: list[FieldSpec] = Field(default_factory=list)
    relations: list[RelationSpec] = Field(default_factory=list)
    operations: list[Operation] = Field(default_factory=lambda: list(ALL_OPERATIONS))
    filters: list[str] = Field(default_factory=list, description="fields or relations")
    sorting: list[str] = Field(default_factory=list, description="fields to sort by")
    owned: bool = Field(
        False, description="records belong to the account that created them (accounts mode)"
    )
    rules: list[Rule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_plural(self) -> Self:
        if self.plural is None and IDENTIFIER.match(self.name):
            self.plural = pluralize(self.name)
        return self

    @model_validator(mode="after")
    def _default_states_to_initial(self) -> Self:
        """A state machine's field defaults to its initial state: a create need not send it."""
        for rule in self.rules:
            if getattr(rule, "kind", None) != "state_machine":
                continue
            field = self.field(rule.field)
            if field is not None and field.default is None and rule.initial in field.values:
                field.default = rule.initial
        return self

    @property
    def table(self) -> str:
        """The table name and URL segment (the plural)."""
        return self.plural or pluralize(self.name)

    def field(self, name: str) -> FieldSpec | None:
        """The field called ``name``, if any."""
        # None entries only exist in a partly valid spec being checked.
        return next((f for f in self.fields if f is not None and f.name == name), None)

    def relation(self, name: str) -> RelationSpec | None:
        """The relation called ``name``, if any."""
        return next((r for r in self.relations if r is not None and r.name == name), None)

    def allows(self, operation: Operation) -> bool:
        """Whether the API offers ``operation`` on this entity."""
        return operation in self.operations

    def rules_of(self, kind: str) -> list[Any]:
        """This entity's rules of one ``kind`` (e.g. ``"compare"``), in spec order."""
        return [rule for rule in self.rules if rule.kind == kind]

    def link_table(self, relation: RelationSpec) -> str:
        """The link table of one of this entity's many_to_many relations."""
        return f"{self.name}_{relation.name}"

    @property
    def computed_fields(self) -> list[ComputedRule]:
        """The computed (read-only, derived) fields of this entity."""
        return [rule for rule in self.rules if isinstance(rule, ComputedRule)]

    @property
    def managed_fields(self) -> list[FieldSpec]:
        """The fields the server sets; clients may not send them."""
        return [field for field in self.fields if field.managed is not None]


class AcceptanceCriterion(_Model):
    """A testable condition of a user story, mapped to the generated tests that check it."""

    id: str
    text: str
    rule_id: str | None = Field(None, description="the rule this criterion checks, if any")
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


class AuthSpec(_Model):
    """How the generated service knows who calls it.

    ``static_token``: one bearer token from settings (for "a bearer token", "an API key").
    ``accounts``: register, sign in, argon2 hashes, signed tokens, roles.
    """

    mode: Literal["none", "static_token", "accounts"] = "none"
    roles: list[str] = Field(
        default_factory=list,
        description="accounts only; the first account is `admin` when it is a role",
    )
    default_role: str | None = Field(None, description="the role of every later account")


class NotImplementedSentence(_Model):
    """A requirement sentence the generated service will not implement, and why."""

    sentence: str
    reason: str
    suggestion: str = ""


class ServiceSpec(_Model):
    """Everything the generators need to build one service."""

    spec_version: Literal["1"] = SPEC_VERSION
    name: str = Field(description="slug, e.g. `library`")
    description: str = ""
    auth: AuthSpec = Field(default_factory=lambda: AuthSpec.model_validate({}))
    auth_required: bool = Field(
        False,
        exclude=True,
        description="old form of `auth`: true reads as `auth.mode: static_token`; "
        "always equal to `auth.mode != none` once loaded",
    )
    entities: list[EntitySpec] = Field(min_length=1)
    user_stories: list[UserStory] = Field(default_factory=list)
    not_implemented: list[NotImplementedSentence] = Field(
        default_factory=list, description="sentences of the requirement that are not built"
    )

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value) or len(value) > 63:
            raise ValueError(
                "must be a slug: lowercase letters, digits and single dashes, "
                "starting with a letter, at most 63 characters"
            )
        return value

    @model_validator(mode="after")
    def _read_old_auth(self) -> Self:
        if self.auth_required and self.auth.mode == "none":
            self.auth.mode = "static_token"
        self.auth_required = self.auth.mode != "none"
        return self

    @model_validator(mode="after")
    def _check_rules(self, info: ValidationInfo) -> Self:
        # validate_spec runs the rules itself to keep each problem's path; a direct
        # model_validate still refuses an inconsistent spec, with the paths in the message.
        if isinstance(info.context, dict) and info.context.get("skip_rules"):
            return self
        from devgen.services.codegen.spec.checks import rule_problems

        problems = list(rule_problems(self))
        if problems:
            raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
        return self

    def entity(self, name: str) -> EntitySpec | None:
        """The entity called ``name``, if any."""
        return next((e for e in self.entities if e.name == name), None)

    def rule(self, rule_id: str) -> Any:
        """The rule with id ``rule_id`` in any entity, if any."""
        return next((r for e in self.entities for r in e.rules if r.id == rule_id), None)

    def canonical_json(self) -> str:
        """The spec as JSON with sorted keys: equal specs give equal text."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
