"""The pinned packages of a generated Python service, read from ``pins.toml``.

One list for everyone who needs it: codegen writes it into a generated project's
requirements, and the executor builds the ``python-service`` environment from it, so the
versions a generated suite passed with in devgen are the versions its user installs.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from importlib.resources import files


@dataclass(frozen=True, slots=True)
class ServicePins:
    """Exact requirements (``name==version``), sorted by name, per group."""

    runtime: tuple[str, ...]
    accounts: tuple[str, ...]
    dev: tuple[str, ...]

    def requirements(self, *, accounts: bool) -> tuple[str, ...]:
        """What the service needs to run: the runtime set, plus the accounts set if asked."""
        return _sorted(self.runtime + (self.accounts if accounts else ()))

    @property
    def everything(self) -> tuple[str, ...]:
        """Every pin of every group: what the sandbox installs to run any generated suite."""
        return _sorted(self.runtime + self.accounts + self.dev)

    def pin(self, name: str) -> str:
        """The pinned requirement of the package ``name`` (``KeyError`` if it has none)."""
        prefix = f"{name.lower()}=="
        for requirement in self.everything:
            if requirement.startswith(prefix):
                return requirement
        raise KeyError(name)


def _sorted(requirements: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(requirements, key=lambda r: r.partition("==")[0]))


def _group(table: dict[str, object], name: str) -> tuple[str, ...]:
    group = table[name]
    if not isinstance(group, dict):
        raise TypeError(f"pins.toml: [{name}] is not a table")
    return _sorted(tuple(f"{package}=={version}" for package, version in group.items()))


@functools.cache
def service_pins() -> ServicePins:
    """The pins of ``pins.toml`` (read once)."""
    table = tomllib.loads(files("devgen.kit").joinpath("pins.toml").read_text(encoding="utf-8"))
    return ServicePins(
        runtime=_group(table, "runtime"),
        accounts=_group(table, "accounts"),
        dev=_group(table, "dev"),
    )


__all__ = ["ServicePins", "service_pins"]
