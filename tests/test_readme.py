"""The README's configuration table lists every setting the code reads, with its real default.

Settings are found the way the processes find them: every module under
``devgen`` is imported and every pydantic ``BaseSettings`` subclass defined
there is walked. A field added anywhere without a README row (or a row left
behind after a field is removed) fails here, and the failure prints the rows
to paste. ``.env.example`` must mention every setting too.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

import devgen

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ENV_EXAMPLE = ROOT / ".env.example"
_ROW = re.compile(r"^\|\s*`(DEVGEN_[A-Z0-9_]+)`\s*\|\s*([^|]*?)\s*\|")


def _skipped(name: str) -> bool:
    # __main__ runs the CLI; alembic's env.py and revisions run only under alembic.
    return name.endswith(".__main__") or ".migrations" in name


def _import_everything() -> None:
    """Import every module under ``devgen``; a module that cannot be imported fails the test."""
    broken: list[str] = []

    def _package_failed(name: str) -> None:
        broken.append(name)

    for module in pkgutil.walk_packages(devgen.__path__, "devgen.", onerror=_package_failed):
        if _skipped(module.name):
            continue
        try:
            importlib.import_module(module.name)
        except Exception as exc:  # noqa: BLE001 - reported below, with the module's name
            broken.append(f"{module.name}: {type(exc).__name__}: {exc}")
    assert not broken, "modules that cannot be imported (their settings cannot be checked):\n" + (
        "\n".join(broken)
    )


def _subclasses(cls: type) -> Iterator[type]:
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def _is_group(field: FieldInfo) -> bool:
    """A field holding a whole settings class (``Settings.core``) is not a setting itself."""
    annotation = field.annotation
    return isinstance(annotation, type) and issubclass(annotation, BaseSettings)


def _env_name(cls: type[BaseSettings], name: str, field: FieldInfo) -> str:
    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        return alias.upper()
    return f"{cls.model_config.get('env_prefix', '')}{name}".upper()


def settings_fields() -> dict[str, tuple[type[BaseSettings], FieldInfo]]:
    """Every environment variable a settings class under ``devgen`` reads."""
    _import_everything()
    found: dict[str, tuple[type[BaseSettings], FieldInfo]] = {}
    for cls in _subclasses(BaseSettings):
        if not cls.__module__.startswith("devgen."):
            continue
        for name, field in cls.model_fields.items():
            if not _is_group(field):
                found[_env_name(cls, name, field)] = (cls, field)
    return found


def render_default(field: FieldInfo) -> str:
    """The default as the README shows it: the value in backticks, ``(empty)`` or ``(computed)``."""
    if field.default_factory is not None and field.default_factory not in (list, dict):
        # Worked out where the process runs (e.g. from the number of cores): the
        # README explains the rule rather than this machine's value.
        return "(computed)"
    value: Any = field.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, float):
        value = f"{value:g}"
    if value is None or value in ("", []):
        return "(empty)"
    if isinstance(value, list):
        value = ",".join(map(str, value))
    return f"`{value}`"


def readme_rows() -> dict[str, str]:
    """The configuration table's rows: setting name to default cell."""
    return {
        match.group(1): match.group(2)
        for line in README.read_text().splitlines()
        if (match := _ROW.match(line))
    }


def _suggested_rows(names: list[str], fields: dict[str, tuple[type, FieldInfo]]) -> str:
    lines = []
    for name in names:
        cls, field = fields[name]
        description = field.description or (cls.__doc__ or "").strip().splitlines()[0]
        lines.append(f"| `{name}` | {render_default(field)} | {description} |")
    return "\n".join(lines)


def test_every_setting_prefix_is_devgen():
    _import_everything()
    for cls in _subclasses(BaseSettings):
        if cls.__module__.startswith("devgen."):
            assert cls.model_config.get("env_prefix") == "DEVGEN_", cls


def test_every_setting_has_a_row_in_the_readme_table():
    fields = settings_fields()
    missing = sorted(set(fields) - set(readme_rows()))

    assert not missing, "add to the README configuration table:\n" + _suggested_rows(
        missing, fields
    )


def test_every_row_of_the_readme_table_is_a_real_setting():
    stale = sorted(set(readme_rows()) - set(settings_fields()))

    assert not stale, f"the README documents settings that no longer exist: {stale}"


def test_the_readme_shows_each_setting_s_real_default():
    fields = settings_fields()
    rows = readme_rows()
    wrong = {
        name: (rows[name], render_default(field))
        for name, (_, field) in fields.items()
        if name in rows and rows[name] != render_default(field)
    }

    assert not wrong, f"README default (shown, actual): {wrong}"


def test_the_env_example_mentions_every_setting():
    text = ENV_EXAMPLE.read_text()
    missing = sorted(
        name for name in settings_fields() if not re.search(rf"^#?\s*{name}=", text, re.M)
    )

    assert not missing, f".env.example lacks: {missing}"
