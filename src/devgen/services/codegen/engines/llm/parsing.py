"""Tolerant reading of model answers: code in (or out of) fences, JSON with chatter around it.

Models wrap files in Markdown fences, add a sentence before and after, label the fence
with a language or a file name, or forget the closing fence. All of that is accepted. What
cannot be used raises :class:`OutputProblem`, whose message is written to be sent back to
the model so it can correct itself.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import PurePosixPath
from typing import Any

import yaml

_FENCE = re.compile(
    r"^(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=ticks)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_OPENING = re.compile(r"^(?:`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)\n", re.MULTILINE)

_LANGUAGES = {
    ".py": ("python", "py", "python3"),
    ".toml": ("toml",),
    ".json": ("json",),
    ".yaml": ("yaml", "yml"),
    ".yml": ("yaml", "yml"),
    ".md": ("markdown", "md"),
    ".txt": ("text", "txt", "plaintext"),
    ".cfg": ("ini", "cfg"),
    ".ini": ("ini",),
}


class OutputProblem(ValueError):
    """An answer that cannot be used; the message tells the model what to fix."""


def _blocks(answer: str) -> list[tuple[str, str]]:
    return [(m.group("info").strip().lower(), m.group("body")) for m in _FENCE.finditer(answer)]


def extract_code(answer: str, path: str, *, truncated: bool = False) -> str:
    """The content of file ``path`` in ``answer``, ending with one newline.

    Prefers a fence labelled with the file's language or name, then the longest fence;
    an unclosed fence is read to the end; an answer without fences is taken whole.
    """
    if truncated:
        raise OutputProblem(
            "Your answer was cut off because it reached the output token limit. Write the "
            f"complete file {path} again, more concisely, in one fenced code block."
        )
    blocks = _blocks(answer)
    if blocks:
        wanted = {*_LANGUAGES.get(PurePosixPath(path).suffix, ()), path.lower()}
        labelled = [body for info, body in blocks if info in wanted or info.endswith(path.lower())]
        body = labelled[0] if labelled else max((b for _, b in blocks), key=len)
    elif opening := _OPENING.search(answer):
        body = answer[opening.end() :]
    else:
        body = answer
    content = body.strip("\n")
    if not content.strip():
        raise OutputProblem(f"The answer held no content for {path}. Reply with the whole file.")
    return content.rstrip() + "\n"


def check_file(path: str, content: str) -> None:
    """Raise :class:`OutputProblem` when ``content`` does not parse as what ``path`` is."""
    suffix = PurePosixPath(path).suffix
    try:
        if suffix == ".py":
            compile(content, path, "exec", dont_inherit=True)
        elif suffix == ".json":
            json.loads(content)
        elif suffix == ".toml":
            tomllib.loads(content)
        elif suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(content))
    except SyntaxError as exc:
        raise OutputProblem(
            f"{path} does not compile: line {exc.lineno}: {exc.msg}. Reply with the whole "
            "corrected file."
        ) from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise OutputProblem(
            f"{path} does not parse: {exc}. Reply with the whole corrected file."
        ) from exc
    except (RecursionError, MemoryError) as exc:
        raise OutputProblem(f"{path} is nested too deeply to compile.") from exc


def extract_json(answer: str, *, truncated: bool = False) -> Any:
    """The JSON document in ``answer``: a ```json fence, any fence, or the outermost braces."""
    if truncated:
        raise OutputProblem(
            "Your answer was cut off at the output token limit; reply with shorter JSON."
        )
    candidates = [body for info, body in _blocks(answer) if info in {"json", ""}]
    candidates += [body for _, body in _blocks(answer)]
    start, end = answer.find("{"), answer.rfind("}")
    if start != -1 and end > start:
        candidates.append(answer[start : end + 1])
    if not candidates:
        raise OutputProblem("The answer held no JSON object. Reply with one JSON object only.")
    error: json.JSONDecodeError | None = None
    for text in candidates:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            error = error or exc
    raise OutputProblem(
        f"The answer is not valid JSON ({error}). Reply with one JSON object only, no comments."
    )
