"""Reading the model's answer for one sentence: a verdict, a name, an explanation, files.

The answer is Markdown the model writes easily::

    STATUS: implemented            (or: not_implemented)
    NAME: late_fee
    EXPLANATION: one paragraph on what the code does, or why it cannot be built

    ```python app/extensions/late_fee.py
    ...
    ```

    ```python tests/test_ext_late_fee.py
    ...
    ```

    DELETE: app/extensions/old.py   (repairs only, any number of lines)

A fence names its file in its info string, or on the line just before it (``### path``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from devgen.services.codegen.engines.llm.parsing import OutputProblem, check_file

_FENCE = re.compile(
    r"^(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=ticks)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_FIELD = re.compile(
    r"^[ \t>*_-]*(?P<key>STATUS|NAME|EXPLANATION|DELETE)[*_]*[ \t]*:[*_]*[ \t]*(?P<value>.*)$",
    re.IGNORECASE | re.MULTILINE,
)
_PATH = re.compile(r"[`'\"]?(?P<path>[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)+\.[a-z]+)[`'\"]?")
STATUSES = ("implemented", "not_implemented")

FORMAT = """\
Reply in this form and nothing else:
STATUS: implemented            (or not_implemented, when no code can do it)
NAME: <a short snake_case name for the extension, e.g. late_fee>
EXPLANATION: <one paragraph: what the code does, or why it cannot be built>

```python app/extensions/<name>.py
<the whole module>
```

```python tests/test_ext_<name>.py
<the whole test module>
```"""


@dataclass(frozen=True)
class ExtensionAnswer:
    """What the model answered for one sentence."""

    status: str
    name: str
    explanation: str
    files: dict[str, str] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)


def _path_of(info: str, before: str) -> str | None:
    for text in (info, before):
        found = [m.group("path") for m in _PATH.finditer(text)]
        if found:
            return found[-1]
    return None


def _files(text: str) -> dict[str, str]:
    files: dict[str, str] = {}
    for match in _FENCE.finditer(text):
        preceding = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        path = _path_of(match.group("info"), preceding)
        if path is None:
            continue
        files[path] = match.group("body").strip("\n").rstrip() + "\n"
    return files


def read_answer(text: str, *, truncated: bool = False) -> ExtensionAnswer:
    """The answer's parts; :class:`OutputProblem` (sent back to the model) when unusable."""
    if truncated:
        raise OutputProblem(
            "Your answer was cut off at the output token limit. Answer again, more concisely."
        )
    outside = _FENCE.sub("", text)
    fields: dict[str, str] = {}
    deletes: list[str] = []
    for match in _FIELD.finditer(outside):
        key, value = match.group("key").upper(), match.group("value").strip().strip("`*_ ")
        if key == "DELETE":
            deletes.append(value)
        else:
            fields.setdefault(key, value)
    status = fields.get("STATUS", "").lower().replace(" ", "_").replace("-", "_")
    if status not in STATUSES:
        raise OutputProblem(
            "Your answer has no STATUS line (implemented or not_implemented).\n" + FORMAT
        )
    explanation = fields.get("EXPLANATION", "")
    if status == "not_implemented":
        if not explanation:
            raise OutputProblem("Say why in an EXPLANATION line.\n" + FORMAT)
        return ExtensionAnswer(status, fields.get("NAME", ""), explanation, deletes=deletes)
    files = _files(text)
    for path, content in files.items():
        check_file(path, content)
    return ExtensionAnswer(status, fields.get("NAME", "").lower(), explanation, files, deletes)
