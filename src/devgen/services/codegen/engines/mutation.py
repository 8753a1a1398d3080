"""Mutation check of generated rules: switch one rule's code off and see a test fail.

The template engine puts each rule's code in ``app/rules.py`` between ``# rule: <id>`` and
``# end rule: <id>``. :func:`disable_rule` turns every function in that block into a no-op
(``return None`` before its body), which is what deleting the rule would do to the
service's behaviour; a generated test named after the rule must then fail.
"""

from __future__ import annotations

import ast


class MutationError(ValueError):
    """The rule's block is not in the file, or holds no function."""


def disable_rule(source: str, rule_id: str) -> str:
    """``source`` (of ``app/rules.py``) with every function of rule ``rule_id`` a no-op."""
    lines = source.splitlines(keepends=True)
    start_marker, end_marker = f"# rule: {rule_id}\n", f"# end rule: {rule_id}\n"
    try:
        first = lines.index(start_marker)
        last = lines.index(end_marker, first)
    except ValueError:
        raise MutationError(f"no block for rule {rule_id!r} in app/rules.py") from None
    targets = [
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and first < node.lineno - 1 < last
    ]
    if not targets:
        raise MutationError(f"the block of rule {rule_id!r} holds no function")
    # Insert from the bottom so earlier line numbers stay right.
    for node in sorted(targets, key=lambda n: n.lineno, reverse=True):
        body = node.body
        has_doc = (
            isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        )
        anchor = body[1] if has_doc and len(body) > 1 else body[0]
        if has_doc and len(body) == 1:
            at, indent = body[0].end_lineno or body[0].lineno, body[0].col_offset
        else:
            at, indent = anchor.lineno - 1, anchor.col_offset
        lines.insert(at, " " * indent + "return None  # mutation: rule disabled\n")
    return "".join(lines)


__all__ = ["MutationError", "disable_rule"]
