"""Names in a spec: the patterns they follow, the words they may not use, and plurals."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator

from devgen.services.codegen.spec.problems import SpecProblem

SLUG = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
ENUM_VALUE = re.compile(r"^[a-z0-9]+(?:[_-][a-z0-9]+)*$")
ID_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
URL_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
MAX_NAME_LENGTH = 40

PYTHON_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | {"self", "cls"}

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


def check_name(name: str, path: str, *, kind: str) -> Iterator[SpecProblem]:
    if not IDENTIFIER.match(name):
        yield SpecProblem(
            path,
            f"{kind} name {name!r} must be snake_case: lowercase letters, digits and single "
            "underscores, starting with a letter",
        )
        return
    if len(name) > MAX_NAME_LENGTH:
        yield SpecProblem(path, f"{kind} name is longer than {MAX_NAME_LENGTH} characters")
    if name in PYTHON_RESERVED:
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
