"""One item of a "has" list: a typed field, a reference to an entity, or a "many Xs".

"a unique ISBN", "an optional bio", "a status that is one of draft, published or archived",
"a rating between 1 and 5", "a title of up to 100 characters", "many comments", "an author"
(when author is an entity). The type comes from an explicit hint or from the name's words;
the rules are tables below so they can be read (and documented) as data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from devgen.services.codegen.analyst.inflection import singularize, snake
from devgen.services.codegen.analyst.text import ENUM_CLAUSE

_ARTICLES = ("a", "an", "the", "its", "their", "his", "her", "one", "some", "each")
_MANY = re.compile(
    r"^(?:many|several|multiple|any number of|zero or more|one or more|a list of|a set of|"
    r"lots of)\s+(?P<noun>.+)$"
)
_MODIFIERS = {
    "unique": ("unique", True),
    "optional": ("required", False),
    "optionally": ("required", False),
    "required": ("required", True),
    "mandatory": ("required", True),
    "long": ("long", True),
    "short": ("long", False),
}
_NUMBER = r"-?\d+(?:\.\d+)?"
# "a price in euros", "a weight in kg": the unit is metadata, never part of the name.
UNITS = {
    "euro": "EUR", "euros": "EUR", "eur": "EUR", "€": "EUR", "dollar": "USD", "dollars": "USD",
    "usd": "USD", "us dollars": "USD", "pound": "GBP", "pounds": "GBP", "gbp": "GBP",
    "swiss francs": "CHF", "chf": "CHF", "kilograms": "kg", "kilogram": "kg", "kg": "kg",
    "grams": "g", "g": "g", "kilometres": "km", "kilometers": "km", "km": "km", "miles": "mi",
    "metres": "m", "meters": "m", "centimetres": "cm", "centimeters": "cm", "cm": "cm",
    "litres": "l", "liters": "l", "minutes": "minutes", "hours": "hours", "days": "days",
    "seconds": "seconds", "percent": "percent", "%": "percent",
}  # fmt: skip
CURRENCIES = frozenset({"EUR", "USD", "GBP", "CHF"})
_UNIT_CLAUSE = re.compile(
    r"\b(?:in|measured in|expressed in|given in) (?P<unit>"
    + "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
    + r")(?=$|[ ,)])"
)
# "may have a manager": a reference to a record of the same kind.
SELF_WORDS = frozenset(
    {"manager", "supervisor", "mentor", "parent", "boss", "lead", "coach", "referrer",
     "predecessor", "successor", "sponsor", "parent_category", "parent_task", "replaced_by"}
)  # fmt: skip
_MAY_HAVE = re.compile(
    r"^(?:may|might|can|could|optionally|sometimes) (?:have|has|be given|report to|belong to) "
)
_CHARS = r"(?P<chars> characters?(?: long)?)?"
_CLAUSES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"\b(?:that|which) (?:is|are|must be|should be) (?P<word>unique|optional|required)\b"
        ),
        "flag",
    ),
    (re.compile(r"\bif any\b|\bif known\b"), "optional"),
    (re.compile(rf"\bbetween (?P<low>{_NUMBER}) and (?P<high>{_NUMBER}){_CHARS}"), "range"),
    (re.compile(rf"\bfrom (?P<low>{_NUMBER}) to (?P<high>{_NUMBER}){_CHARS}"), "range"),
    (
        re.compile(
            rf"\b(?:of )?(?:up to|at most|no more than|max(?:imum)?) (?P<high>{_NUMBER}){_CHARS}"
        ),
        "max",
    ),
    (re.compile(rf"\b(?:of )?(?:at least|min(?:imum)?) (?P<low>{_NUMBER}){_CHARS}"), "min"),
    (re.compile(r"\b(?:that |which )?(?:is |must be |can be )?one of (?P<values>.+)$"), "enum"),
    (
        re.compile(
            r",? ?(?:that |which )?(?:defaults?|defaulting) (?:to |is )?(?P<value>[\w.@:/-]+)"
        ),
        "default",
    ),
]
# "a code like AB-123", "a postcode in the form 1234 AB": an example of the shape, ending the
# item. It needs a digit, so "a name like alice" is no pattern of letters.
_SHAPE_CLAUSE = re.compile(
    r",? ?(?:that looks like|looking like|like|such as|e\.g\.|in the form(?: of)?|of the form|"
    r"formatted as|shaped like|in the format) "
    r"(?P<example>(?=[a-z0-9./ -]*\d)[a-z0-9]+(?:[-/. ][a-z0-9]+)*)$"
)
# "a code matching `[A-Z]{3}`": a regular expression, written between backticks.
_REGEX_CLAUSE = re.compile(
    r",? ?(?:that |which )?(?:matching|matches|must match) `(?P<regex>[^`]+)`"
)
_TYPE_HINTS = {
    "text": "text", "long text": "text", "string": "string", "short text": "string",
    "number": "integer", "integer": "integer", "whole number": "integer", "int": "integer",
    "decimal": "decimal", "money": "decimal", "amount": "decimal", "decimal number": "decimal",
    "date": "date", "day": "date", "datetime": "datetime", "date and time": "datetime",
    "timestamp": "datetime", "time": "datetime", "boolean": "boolean", "yes/no": "boolean",
    "flag": "boolean", "true/false": "boolean", "email": "email", "email address": "email",
    "url": "url", "link": "url", "web address": "url", "uuid": "uuid",
}  # fmt: skip

# Whole-phrase renames before typing: different ways to say the same field.
ALIASES = {
    "e_mail": "email",
    "email_address": "email",
    "e_mail_address": "email",
    "web_site": "website",
    "web_address": "website",
    "home_page": "homepage",
    "date_of_birth": "birth_date",
    "dob": "birth_date",
}

BOOLEAN_WORDS = frozenset(
    {
        "active", "enabled", "done", "completed", "paid", "available", "verified", "archived",
        "published", "approved", "confirmed", "cancelled", "canceled", "visible", "featured",
        "resolved", "returned", "checked_in", "urgent", "vegetarian", "refundable", "public",
    }
)  # fmt: skip
DATETIME_WORDS = frozenset({"timestamp", "time", "datetime", "moment"})
DATE_WORDS = frozenset({"date", "birthday", "birthdate", "deadline", "day"})
COUNT_WORDS = frozenset(
    {
        "count", "quantity", "stock", "capacity", "pages", "age", "servings", "calories",
        "seats", "duration", "minutes", "hours", "mileage", "points", "credits", "guests",
        "copies", "attendees", "nights", "odometer",
    }
)  # fmt: skip
INTEGER_WORDS = COUNT_WORDS | {"year", "rating", "score", "level", "rank", "position", "floor"}
MONEY_WORDS = frozenset(
    {
        "price", "amount", "cost", "salary", "fee", "budget", "total", "weight", "height",
        "width", "fare", "rent", "deposit", "tax", "discount", "subtotal", "rate",
    }
)  # fmt: skip
DECIMAL_WORDS = MONEY_WORDS | {"balance", "latitude", "longitude", "temperature", "distance"}
URL_WORDS = frozenset({"url", "website", "link", "homepage"})
TEXT_WORDS = frozenset(
    {
        "description", "notes", "note", "bio", "biography", "body", "content", "summary",
        "details", "instructions", "message", "text", "remarks", "comment", "comments",
        "ingredients", "steps", "abstract", "review",
    }
)  # fmt: skip
UUID_WORDS = frozenset({"uuid", "guid"})


@dataclass
class FieldItem:
    """A typed field read from one list item."""

    name: str
    type: str
    required: bool = True
    unique: bool = False
    default: str | int | float | bool | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    values: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unit: str | None = None
    managed: dict[str, object] | None = None
    pattern: str | None = None


@dataclass
class RelationItem:
    """A reference to one row of an entity ("an author", "an origin airport")."""

    name: str
    target: str
    required: bool = True
    ignored: list[str] = field(default_factory=list)


@dataclass
class ManyItem:
    """A one-to-many: "many comments" means each comment refers to the subject."""

    target: str


@dataclass
class ItemError:
    """An item that could not be understood, and why."""

    text: str
    reason: str


Item = FieldItem | RelationItem | ManyItem | ItemError


def parse_item(
    text: str,
    entities: set[str],
    *,
    optional: bool = False,
    subject: str | None = None,
    written: str = "",
) -> Item:
    """Read one list item; ``entities`` are the known entity names, used for references.

    ``written`` is the sentence as written (``text`` is lowercase): a shape's example
    ("like AB-123") and a regex keep their case from it.
    """
    original = text
    text = text.strip(" ,")
    many = _MANY.match(text)
    if many:
        noun = snake(_strip_article(many.group("noun")))
        if not noun or len(noun.split("_")) > 3:
            return ItemError(original, "expected a plural noun after 'many'")
        return ManyItem(singularize(noun))

    facts: dict[str, object] = {}
    maybe = _MAY_HAVE.match(text)
    if maybe:
        facts["required"] = False
        text = text[maybe.end() :]
    unit = _UNIT_CLAUSE.search(text)
    if unit:
        facts["unit"] = UNITS[unit.group("unit")]
        text = (text[: unit.start()] + text[unit.end() :]).strip(" ,")
    text = _take_pattern(text, facts, written)
    text, hint = _take_hint(text, facts)
    for pattern, kind in _CLAUSES:
        match = pattern.search(text)
        if match:
            _record_clause(kind, match, facts)
            text = (text[: match.start()] + text[match.end() :]).strip(" ,")
    words = _strip_article(text).split()
    while words and words[0] in _MODIFIERS:
        key, value = _MODIFIERS[words.pop(0)]
        facts[key] = value
        words = _strip_article(" ".join(words)).split()
    if not words:
        return ItemError(original, "no field name found")
    if len(words) > 4 or not all(re.fullmatch(r"[a-z][a-z0-9'-]*", w) for w in words):
        return ItemError(
            original, "not a field: expected a short noun phrase such as 'a publication year'"
        )
    name = _field_name(" ".join(words))
    required = bool(facts.get("required", not optional))

    ignored = [str(part) for part in facts.get("ignored", [])]  # type: ignore[attr-defined]
    target = _entity_reference(name, entities)
    if target is None and subject is not None and name in SELF_WORDS:
        return RelationItem(name=name, target=subject, required=False, ignored=ignored)
    if target is not None and hint is None and "values" not in facts:
        return RelationItem(name=name, target=target, required=required, ignored=ignored)
    if "unit" in facts and facts["unit"] in CURRENCIES and hint is None:
        kind_hint = "decimal"
    else:
        kind_hint = None
    if singularize(name) != name and singularize(name) in entities:
        return ManyItem(singularize(name))

    hint = hint or kind_hint
    kind = hint or ("enum" if "values" in facts else infer_type(name, long=facts.get("long")))
    if hint is None and kind == "string" and facts.get("numeric_range"):
        kind = "integer"  # "a priority between 1 and 5" is a number, not a length
    if "unit" in facts and hint is None and kind in {"string", "integer"}:
        kind = "decimal" if facts["unit"] in CURRENCIES or kind == "string" else kind
    if kind == "boolean" and name.endswith("_flag"):
        name = name.removesuffix("_flag")
    item = FieldItem(
        name=name, type=kind, required=required, unique=bool(facts.get("unique")), ignored=ignored
    )
    if "pattern" in facts:
        if item.type not in {"string", "text"}:
            return ItemError(original, f"a pattern does not fit a {item.type} field")
        item.pattern = str(facts["pattern"])
    if "unit" in facts:
        item.unit = str(facts["unit"])
        if item.unit in {"minutes", "hours", "days", "seconds"} and hint is None:
            item.type = "integer"  # "a preparation time in minutes" is a count of minutes
            item.min_value = 0 if item.min_value is None else item.min_value
    return _apply_limits(item, facts, original)


def _take_pattern(text: str, facts: dict[str, object], written: str) -> str:
    """Read a shape ("like AB-123") or a regex (matching `...`) into ``facts["pattern"]``."""
    match = _REGEX_CLAUSE.search(text)
    if match:
        facts["pattern"] = _as_written(match.group("regex"), written)
    else:
        match = _SHAPE_CLAUSE.search(text)
        if not match:
            return text
        facts["pattern"] = shape_pattern(_as_written(match.group("example"), written))
    return (text[: match.start()] + text[match.end() :]).strip(" ,")


def _as_written(lowercase: str, written: str) -> str:
    """``lowercase`` with the case it has in ``written`` (itself if not found there)."""
    found = re.search(re.escape(lowercase), written, flags=re.IGNORECASE)
    return found.group(0) if found else lowercase


_REGEX_SPECIAL = set(".^$*+?{}[]\\|()")


def shape_pattern(example: str) -> str:
    """The regex of an example's shape: ``AB-123`` is ``[A-Z]{2}-[0-9]{3}``.

    Upper- and lowercase letters and digits become classes (runs counted), anything else
    is itself.
    """
    classes = []
    for char in example:
        if char.isdigit():
            kind = "[0-9]"
        elif char.isupper():
            kind = "[A-Z]"
        elif char.isalpha():
            kind = "[a-z]"
        else:
            kind = "\\" + char if char in _REGEX_SPECIAL else char
        if classes and classes[-1][0] == kind:
            classes[-1][1] += 1
        else:
            classes.append([kind, 1])
    return "".join(kind if count == 1 else f"{kind}{{{count}}}" for kind, count in classes)


def _field_name(words: str) -> str:
    """snake_case name; "a started at timestamp" is ``started_at``, "spent on date" ``spent_on``."""
    name = snake(words)
    name = ALIASES.get(name, name)
    for suffix, kept in (
        ("_at_timestamp", "_at"),
        ("_at_datetime", "_at"),
        ("_at_time", "_at"),
        ("_on_date", "_on"),
    ):
        if name.endswith(suffix):
            return name.removesuffix(suffix) + kept
    return name


def infer_type(name: str, *, long: object = None) -> str:
    """The field type a name suggests (see the tables above); ``string`` if nothing fits."""
    words = name.split("_")
    last = words[-1]
    if last in UUID_WORDS:
        return "uuid"
    if (last == "at" and len(words) > 1) or last in DATETIME_WORDS:
        return "datetime"
    if last in DATE_WORDS or name.startswith("date_of_") or name.endswith("_on"):
        return "date"
    if (words[0] in {"is", "has", "can"} and len(words) > 1) or last == "flag":
        return "boolean"
    if name in BOOLEAN_WORDS:
        return "boolean"
    if name.startswith("number_of_") or last in INTEGER_WORDS:
        return "integer"
    if last in DECIMAL_WORDS:
        return "decimal"
    if "email" in words:
        return "email"
    if last in URL_WORDS:
        return "url"
    if last in TEXT_WORDS or long is True:
        return "text"
    return "string"


def default_bounds(name: str, kind: str) -> tuple[int | None, int | None]:
    """Implicit (min, max): counts, quantities and money are never negative."""
    last = name.split("_")[-1]
    if kind == "integer" and (last in COUNT_WORDS or name.startswith("number_of_")):
        return 0, None
    if kind == "decimal" and last in MONEY_WORDS:
        return 0, None
    return None, None


def _strip_article(text: str) -> str:
    words = text.strip().split()
    while words and words[0] in _ARTICLES:
        words.pop(0)
    return " ".join(words)


def _take_hint(text: str, facts: dict[str, object]) -> tuple[str, str | None]:
    """Read "(...)" notes: a type hint, unique/optional/required, limits, enum values."""
    hint = None
    for match in list(re.finditer(r"\(([^()]*)\)", text)):
        content = match.group(1)
        enum = ENUM_CLAUSE.search(content)
        if enum:
            facts["values"] = _enum_values(enum.group(0).removeprefix("one of "))
            content = content.replace(enum.group(0), "")
        for part in (p.strip() for p in content.split(",") if p.strip()):
            part = _strip_article(part)
            if part in _TYPE_HINTS:
                hint = _TYPE_HINTS[part]
            elif part in _MODIFIERS:
                key, value = _MODIFIERS[part]
                facts[key] = value
            else:
                for pattern, kind in _CLAUSES:
                    clause = pattern.search(part)
                    if clause:
                        _record_clause(kind, clause, facts)
                        break
                else:
                    facts.setdefault("ignored", []).append(part)  # type: ignore[union-attr]
        text = text.replace(match.group(0), " ")
    return re.sub(r"\s+", " ", text).strip(), hint


def _record_clause(kind: str, match: re.Match[str], facts: dict[str, object]) -> None:
    groups = match.groupdict()
    chars = bool(groups.get("chars"))
    if kind == "flag":
        key, value = _MODIFIERS[groups["word"]]
        facts[key] = value
    elif kind == "optional":
        facts["required"] = False
    elif kind == "enum":
        facts["values"] = _enum_values(groups["values"])
    elif kind == "default":
        facts["default"] = groups["value"]
    else:
        if kind in {"range", "min", "max"} and not chars:
            facts["numeric_range"] = True
        if groups.get("low") is not None:
            facts["min_length" if chars else "min_value"] = _to_number(groups["low"])
        if groups.get("high") is not None:
            facts["max_length" if chars else "max_value"] = _to_number(groups["high"])


def _enum_values(text: str) -> list[str]:
    parts = re.split(r",\s*(?:or\s+)?|\s+or\s+", text)
    values = []
    for part in parts:
        value = snake(_strip_article(part.strip().strip("'\"")))
        if value and value not in values:
            values.append(value)
    return values


def _to_number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _entity_reference(name: str, entities: set[str]) -> str | None:
    """The entity ``name`` refers to: itself, or its last word(s) ("origin_airport")."""
    if name in entities:
        return name
    parts = name.split("_")
    for start in range(1, len(parts)):
        tail = "_".join(parts[start:])
        if tail in entities:
            return tail
    return None


def _apply_limits(item: FieldItem, facts: dict[str, object], original: str) -> Item:
    numeric = item.type in {"integer", "decimal"}
    low, high = default_bounds(item.name, item.type)
    for key in ("min_value", "max_value", "min_length", "max_length"):
        if key not in facts:
            continue
        value = facts[key]
        if key.endswith("_value") and not numeric:
            # "up to 100" on a string means characters.
            key = key.replace("_value", "_length")
        if key.endswith("_length") and item.type not in {"string", "text"}:
            return ItemError(original, f"a length limit does not fit a {item.type} field")
        setattr(item, key, value)
    if numeric:
        item.min_value = item.min_value if "min_value" in facts else low
        item.max_value = item.max_value if "max_value" in facts else high
        if item.type == "integer" and any(
            isinstance(v, float) for v in (item.min_value, item.max_value)
        ):
            item.type = "decimal"
    if "values" in facts:
        item.values = list(facts["values"])  # type: ignore[call-overload]
    if "default" in facts:
        item.default = _typed_default(item, str(facts["default"]))
        if item.default is None:
            return ItemError(original, f"default {facts['default']!r} does not fit {item.type}")
    elif item.type == "boolean":
        item.default = False
    return item


def _typed_default(item: FieldItem, raw: str) -> str | int | float | bool | None:
    if item.type == "boolean":
        return {"true": True, "yes": True, "false": False, "no": False}.get(raw)
    if item.type in {"integer", "decimal"}:
        try:
            number = _to_number(raw)
        except ValueError:
            return None
        return number if item.type == "decimal" or isinstance(number, int) else None
    if item.type == "enum":
        value = snake(raw)
        return value if value in item.values else None
    return raw
