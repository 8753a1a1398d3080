"""What one rule becomes in a generated project: functions in ``app/rules.py`` and tests.

A builder (one per rule kind, see :mod:`.crud` and :mod:`.flow`) turns a spec rule into a
:class:`RuleCode`. The templates render ``partials/rules/<template>.py.j2`` into
``app/rules.py`` (between ``# rule: <id>`` and ``# end rule: <id>``) and
``partials/tests/<template>.py.j2`` into ``tests/test_rules_<entity>.py``; each hook point
of the entity then calls the functions listed under it in :attr:`RuleCode.calls`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devgen.services.codegen.spec import EntitySpec, ServiceSpec

# The moments at which the routers call the rules; see docs in app/rules.py.j2.
HOOKS = ("before_write", "before_delete", "after_write", "filter_list", "check_access")


@dataclass(frozen=True)
class RuleCode:
    """One rule of an entity as the templates see it.

    ``calls`` maps a hook point (one of :data:`HOOKS`) to the functions of this rule the
    hook calls, in order; every function of the rule is rendered by its partial template.
    ``tests`` are the generated test functions, each named ``test_<function>_...``.
    """

    id: str
    kind: str
    function: str
    template: str
    text: str
    source: str = ""
    calls: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tests: tuple[str, ...] = ()
    imports: frozenset[str] = frozenset()
    test_imports: frozenset[str] = frozenset()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def criterion(self) -> str:
        """The acceptance criterion this rule's tests check."""
        return f"AC-{self.id}"


class RuleNotBuilt(ValueError):
    """A builder cannot generate this rule for this entity; the message says why."""


Builder = Callable[[ServiceSpec, EntitySpec, Any], RuleCode]


def function_name(rule_id: str) -> str:
    """A Python name for a rule id: ``loan.no_overlap.1`` → ``loan_no_overlap_1``."""
    name = re.sub(r"[^a-z0-9]+", "_", rule_id.lower()).strip("_")
    return name if name[:1].isalpha() else f"rule_{name}"


def rules_test_file(entity: EntitySpec) -> str:
    """The generated module holding the rule tests of ``entity``."""
    return f"tests/test_rules_{entity.name}.py"
