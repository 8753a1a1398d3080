"""Python source fragments for one field of the generated FastAPI project.

Each spec type maps to a SQLAlchemy column type, a pydantic annotation with the field's
limits, and test data: a valid value built from a counter ``n``, two ordered values for the
filter and sort tests, and values the API must refuse. Keeping this in Python (not in the
templates) keeps the templates about layout only.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
from dataclasses import dataclass

from devgen.services.codegen.engines.regexsample import counterexample, examples
from devgen.services.codegen.spec import FieldSpec, FieldType

_UTC_BASE_DAY = "2024-01-01"


def literal(value: object) -> str:
    """A Python literal for a JSON-compatible value (strings in double quotes)."""
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def _number(value: float | int | decimal.Decimal) -> str:
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class FieldCode:
    """Source fragments for one field; every string is ready to paste into a template."""

    name: str
    type: str
    required: bool
    unique: bool
    mapped: str
    column_args: str
    create_annotation: str
    create_default: str | None
    update_annotation: str
    read_annotation: str
    filter_annotation: str
    sample: str
    invalid: tuple[str, ...]
    low: str
    high: str
    checks: tuple[tuple[str, str], ...]
    rules: str
    pattern: str | None = None
    default_json: str | None = None


def field_code(field: FieldSpec, table: str, *, indexed: bool) -> FieldCode:
    """Build every fragment of ``field`` (a column of ``table``)."""
    kind = field.type
    python_type = _PYTHON_TYPES[kind]
    if kind is FieldType.ENUM:
        python_type = "Literal[" + ", ".join(literal(v) for v in field.values) + "]"
    nullable = " | None" if not field.required else ""
    default = _default_code(field)

    column = [_column_type(field)]
    if field.unique:
        column.append("unique=True")
    if indexed and not field.unique:
        column.append("index=True")
    if default is not None:
        column.append(f"default={default}")

    constrained = _constrained(field, python_type)
    if field.required and default is None:
        create_default = None
    elif default is None:
        create_default = "None"
    else:
        create_default = default
    read_type = "UtcDateTime" if kind is FieldType.DATETIME else python_type
    if field.unit:
        read_type = f"Annotated[{read_type}, Field(description={literal(_unit_text(field))})]"
    filter_type = {FieldType.DATETIME: "UtcDateTime", FieldType.INTEGER: "Int64"}.get(
        kind, python_type
    )
    low, high = _ordered_pair(field)
    return FieldCode(
        name=field.name,
        type=kind.value,
        required=field.required,
        unique=field.unique,
        mapped=f"Mapped[{_MAPPED_TYPES.get(kind, python_type)}{nullable}]",
        column_args=", ".join(column),
        create_annotation=constrained + ("" if field.required else " | None"),
        create_default=create_default,
        # An update may leave a required field out, never set it to null (so no `| None`).
        update_annotation=constrained if field.required else f"{constrained} | None",
        read_annotation=read_type + nullable,
        filter_annotation=f"{filter_type} | None",
        sample=_sample(field),
        invalid=tuple(_invalid(field)),
        low=low,
        high=high,
        checks=tuple(_checks(field, table)),
        rules=_rules(field),
        pattern=field.pattern if kind in _PATTERN_TYPES else None,
        default_json=_default_json(field),
    )


def _default_json(field: FieldSpec) -> str | None:
    """The default as the API returns it (a Python literal of the JSON value), or None."""
    value = field.default
    if value is None:
        return None
    if field.type is FieldType.DECIMAL:
        return literal(_decimal_text(decimal.Decimal(str(value)), field.decimal_places or 0))
    if field.type is FieldType.DATETIME:
        moment = dt.datetime.fromisoformat(str(value))
        moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
        return literal(moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"))
    return literal(value)


_PATTERN_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
# Unique fields need a fresh value for every row a test makes (the counter restarts per test).
_PATTERN_EXAMPLES = 16
_UNIQUE_PATTERN_EXAMPLES = 120


def _unit_text(field: FieldSpec) -> str:
    return f"Unit: {field.unit}."


def _full_match(pattern: str) -> str:
    """The pattern anchored at both ends: a value must match it in full."""
    return rf"^(?:{pattern})\Z"


def _pattern_examples(field: FieldSpec) -> list[str]:
    if not field.pattern or field.type not in _PATTERN_TYPES:
        return []
    return examples(
        field.pattern,
        _UNIQUE_PATTERN_EXAMPLES if field.unique else _PATTERN_EXAMPLES,
        min_length=field.min_length or 0,
        max_length=field.max_length,
    )


_PYTHON_TYPES = {
    FieldType.STRING: "str",
    FieldType.TEXT: "str",
    FieldType.INTEGER: "int",
    FieldType.DECIMAL: "decimal.Decimal",
    FieldType.BOOLEAN: "bool",
    FieldType.DATE: "dt.date",
    FieldType.DATETIME: "dt.datetime",
    FieldType.UUID: "uuid.UUID",
    FieldType.EMAIL: "str",
    FieldType.URL: "str",
    FieldType.ENUM: "str",
}
# The ORM stores enum values as plain strings (checked by a CHECK constraint).
_MAPPED_TYPES = {FieldType.ENUM: "str"}


def _column_type(field: FieldSpec) -> str:
    kind = field.type
    if kind in {FieldType.STRING, FieldType.EMAIL, FieldType.URL}:
        return f"sa.String({field.max_length})"
    if kind is FieldType.ENUM:
        return f"sa.String({max(len(v) for v in field.values)})"
    if kind is FieldType.DECIMAL:
        return f"sa.Numeric({field.max_digits}, {field.decimal_places})"
    return {
        FieldType.TEXT: "sa.Text()",
        FieldType.INTEGER: "sa.BigInteger()",
        FieldType.BOOLEAN: "sa.Boolean()",
        FieldType.DATE: "sa.Date()",
        FieldType.DATETIME: "sa.DateTime(timezone=True)",
        FieldType.UUID: "sa.Uuid()",
    }[kind]


def _constrained(field: FieldSpec, python_type: str) -> str:
    kind = field.type
    args: list[str] = []
    base = python_type
    if kind in {FieldType.STRING, FieldType.TEXT, FieldType.EMAIL, FieldType.URL}:
        if field.min_length:
            args.append(f"min_length={field.min_length}")
        if field.max_length is not None:
            args.append(f"max_length={field.max_length}")
        if kind is FieldType.EMAIL:
            args.append("pattern=EMAIL_PATTERN")
        if kind is FieldType.URL:
            args.append("pattern=URL_PATTERN")
        if field.pattern and kind in _PATTERN_TYPES:
            args.append(f"pattern={literal(_full_match(field.pattern))}")
    elif kind in {FieldType.INTEGER, FieldType.DECIMAL}:
        if kind is FieldType.INTEGER:
            base = "Int64"
        else:
            args += [f"max_digits={field.max_digits}", f"decimal_places={field.decimal_places}"]
        if field.min_value is not None:
            args.append(f"ge={_number(field.min_value)}")
        if field.max_value is not None:
            args.append(f"le={_number(field.max_value)}")
    elif kind is FieldType.DATETIME:
        base = "BodyDateTime"
    elif kind is FieldType.DATE:
        base = "BodyDate"
    elif kind is FieldType.BOOLEAN:
        base = "BodyBool"
    description = " ".join(
        part for part in (field.description, _unit_text(field) if field.unit else "") if part
    )
    if description:
        args.append(f"description={literal(description)}")
    return f"Annotated[{base}, Field({', '.join(args)})]" if args else base


def _default_code(field: FieldSpec) -> str | None:
    value = field.default
    if value is None:
        return None
    kind = field.type
    if kind is FieldType.DECIMAL:
        # At the field's places, as the API returns it whether or not the row was reread.
        text = _decimal_text(decimal.Decimal(str(value)), field.decimal_places or 0)
        return f"decimal.Decimal({literal(text)})"
    if kind is FieldType.DATE:
        return f"dt.date.fromisoformat({literal(value)})"
    if kind is FieldType.DATETIME:
        moment = dt.datetime.fromisoformat(str(value))
        moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
        return f"dt.datetime.fromisoformat({literal(moment.astimezone(dt.UTC).isoformat())})"
    if kind is FieldType.UUID:
        return f"uuid.UUID({literal(value)})"
    return literal(value)


def _sample(field: FieldSpec) -> str:
    """An expression of ``n`` giving a distinct valid JSON value for each ``n``."""
    kind = field.type
    name = literal(field.name)
    found = _pattern_examples(field)
    if found:
        return f"({', '.join(literal(v) for v in found)},)[n % {len(found)}]"
    if kind in {FieldType.STRING, FieldType.TEXT}:
        return f"_text({name}, n, {field.max_length or 10_000}, {field.min_length or 0})"
    if kind is FieldType.INTEGER:
        return f"_integer(n, {_bound(field.min_value)}, {_bound(field.max_value)})"
    if kind is FieldType.DECIMAL:
        return (
            f"_decimal(n, {_bound(field.min_value)}, {_bound(field.max_value)}, "
            f"{field.decimal_places})"
        )
    if kind is FieldType.ENUM:
        return f"_choice(n, ({', '.join(literal(v) for v in field.values)},))"
    return {
        FieldType.BOOLEAN: "n % 2 == 0",
        FieldType.DATE: "_day(n)",
        FieldType.DATETIME: "_moment(n)",
        FieldType.UUID: "str(uuid.UUID(int=n))",
        FieldType.EMAIL: 'f"user{n}@example.com"',
        FieldType.URL: 'f"https://example.com/{n}"',
    }[kind]


def _bound(value: float | int | None) -> str:
    if value is None:
        return "None"
    return f'decimal.Decimal("{_number(value)}")' if isinstance(value, float) else str(value)


def _decimal_text(value: decimal.Decimal, places: int) -> str:
    return f"{value:.{places}f}"


def _ordered_pair(field: FieldSpec) -> tuple[str, str]:
    """Two valid values, the first sorting before the second in the database."""
    kind = field.type
    found = sorted(_pattern_examples(field))
    if len(found) >= 2:
        return literal(found[0]), literal(found[-1])
    if kind in {FieldType.STRING, FieldType.TEXT}:
        size = max(1, field.min_length or 0)
        return literal("a" * size), literal("b" * size)
    if kind is FieldType.INTEGER:
        low = _integer_start(field)
        return str(low), str(low + 1)
    if kind is FieldType.DECIMAL:
        places = field.decimal_places or 0
        start = _decimal_start(field)
        step = decimal.Decimal(1)
        if field.max_value is not None and decimal.Decimal(str(field.max_value)) - start < step:
            step = decimal.Decimal(1).scaleb(-places)
        return (
            literal(_decimal_text(start, places)),
            literal(_decimal_text(start + step, places)),
        )
    if kind is FieldType.ENUM:
        first, second = sorted(field.values)[:2]
        return literal(first), literal(second)
    return {
        FieldType.BOOLEAN: ("False", "True"),
        FieldType.DATE: (literal("2024-01-01"), literal("2024-01-02")),
        FieldType.DATETIME: (literal("2024-01-01T00:00:00Z"), literal("2024-01-01T01:00:00Z")),
        FieldType.UUID: (
            literal("00000000-0000-0000-0000-000000000001"),
            literal("00000000-0000-0000-0000-000000000002"),
        ),
        FieldType.EMAIL: (literal("a@example.com"), literal("b@example.com")),
        FieldType.URL: (literal("https://example.com/a"), literal("https://example.com/b")),
    }[kind]


def _integer_start(field: FieldSpec) -> int:
    if field.min_value is not None:
        return int(field.min_value)
    if field.max_value is not None:
        return int(field.max_value) - 1
    return 1


def _decimal_start(field: FieldSpec) -> decimal.Decimal:
    places = field.decimal_places or 0
    quantum = decimal.Decimal(1).scaleb(-places)
    if field.min_value is not None:
        return decimal.Decimal(str(field.min_value)).quantize(quantum, decimal.ROUND_CEILING)
    if field.max_value is not None:
        return (decimal.Decimal(str(field.max_value)) - 1).quantize(quantum, decimal.ROUND_FLOOR)
    return decimal.Decimal(1).quantize(quantum)


def _invalid(field: FieldSpec) -> list[str]:
    """JSON values the API must refuse with 422 for this field."""
    kind = field.type
    if kind in {FieldType.STRING, FieldType.TEXT}:
        values = ["12345"]
        miss = counterexample(field.pattern) if field.pattern else None
        if miss is not None:
            values.append(literal(miss))
        if field.max_length is not None:
            values.append(f'"x" * {field.max_length + 1}')
        if field.min_length:
            values.append(f'"x" * {field.min_length - 1}')
        return values
    if kind is FieldType.INTEGER:
        # JSON types are kept: true is no integer (lax pydantic would read it as 1).
        values = [literal("not-a-number"), "True"]
        values.append(str(int(field.min_value) - 1) if field.min_value is not None else "")
        values.append(str(int(field.max_value) + 1) if field.max_value is not None else "2**63")
        return [v for v in values if v]
    if kind is FieldType.DECIMAL:
        places = field.decimal_places or 0
        values = [literal("not-a-number")]
        if field.min_value is not None:
            below = decimal.Decimal(str(field.min_value)) - 1
            values.append(literal(_decimal_text(below, places)))
        if field.max_value is not None:
            above = decimal.Decimal(str(field.max_value)) + 1
            values.append(literal(_decimal_text(above, places)))
        too_precise = _decimal_start(field) + decimal.Decimal(1).scaleb(-(places + 1))
        values.append(literal(_decimal_text(too_precise, places + 1)))
        return values
    # A number is no date (lax pydantic reads it as a Unix time), 1 no boolean.
    kept_type = {FieldType.DATE: ["0"], FieldType.DATETIME: ["0"], FieldType.BOOLEAN: ["1"]}
    return [
        *kept_type.get(kind, []),
        literal(
            {
                FieldType.BOOLEAN: "maybe",
                FieldType.DATE: "not-a-date",
                FieldType.DATETIME: "not-a-datetime",
                FieldType.UUID: "not-a-uuid",
                FieldType.EMAIL: "not-an-email",
                FieldType.URL: "not-a-url",
                FieldType.ENUM: "NOT A VALUE",
            }[kind]
        ),
    ]


def _checks(field: FieldSpec, table: str) -> list[tuple[str, str]]:
    """CHECK constraints (SQL expression, constraint name) that mirror the field's limits."""
    name = field.name
    checks: list[tuple[str, str]] = []
    if field.min_value is not None:
        checks.append((f"{name} >= {_number(field.min_value)}", "min"))
    if field.max_value is not None:
        checks.append((f"{name} <= {_number(field.max_value)}", "max"))
    if field.min_length:
        checks.append((f"length({name}) >= {field.min_length}", "min_length"))
    if field.type is FieldType.ENUM:
        allowed = ", ".join(f"'{v}'" for v in field.values)
        checks.append((f"{name} IN ({allowed})", "values"))
    return [(sql, constraint_name(table, name, suffix)) for sql, suffix in checks]


def _rules(field: FieldSpec) -> str:
    """The field's rules in words, for the README."""
    rules = ["required" if field.required else "optional"]
    if field.unique:
        rules.append("unique")
    if field.min_length:
        rules.append(f"at least {field.min_length} characters")
    if field.max_length is not None:
        rules.append(f"at most {field.max_length} characters")
    if field.min_value is not None:
        rules.append(f"at least {_number(field.min_value)}")
    if field.max_value is not None:
        rules.append(f"at most {_number(field.max_value)}")
    if field.type is FieldType.DECIMAL:
        rules.append(f"{field.decimal_places} decimal places")
    if field.values:
        rules.append("one of " + ", ".join(f"`{v}`" for v in field.values))
    if field.pattern and field.type in _PATTERN_TYPES:
        rules.append(f"matches `{field.pattern}` in full")
    if field.unit:
        rules.append(f"in {field.unit}")
    if field.default is not None:
        rules.append(f"default `{json.dumps(field.default)}`")
    return ", ".join(rules)


def constraint_name(table: str, column: str, suffix: str) -> str:
    """``ck_<table>_<column>_<suffix>``, shortened with a digest to fit PostgreSQL's 63 bytes."""
    name = f"ck_{table}_{column}_{suffix}"
    if len(name) <= 60:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:51]}_{digest}"
