"""Tolerant reading of model answers: code in (or out of) fences, JSON with chatter around it.

Models wrap files in Markdown fences, add a sentence before and after, label the fence
with a language or a file name, or forget the closing fence. All of that is accepted.
When an answer holds several fences, the one labelled with the requested path wins (in
the fence's info string, on the line before it, or as a comment on its first line); a
fence labelled with another path is never taken for it. What cannot be used raises
:class:`OutputProblem`, whose message is written to be sent back to the model so it can
correct itself; a refusal or an empty answer raises :class:`RefusalProblem`.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
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


# "I can't help with that", "I'm sorry, but I cannot...", "Unfortunately, I am unable to..."
_REFUSAL = re.compile(
    r"^\W*(?:i(?:['\u2019]m|\s+am)\s+sorry|sorry|unfortunately|apologies)?[\s,.!]*(?:but\s+)?"
    r"i\s*(?:can['\u2019]?t|cannot|can\s+not|won['\u2019]t|will\s+not|"
    r"(?:am|['\u2019]m)\s+(?:unable|not\s+able)\s+to|must\s+decline)\b",
    re.IGNORECASE,
)
_REFUSAL_MAX_CHARS = 1500  # a long answer that starts apologetically is still an answer
# A file path: words joined by "/", ending in an alphabetic extension (not "python3.11").
_PATH_LIKE = re.compile(r"^[\w.-]+(?:/[\w.-]+)*\.[A-Za-z][\w]*$")
_LABEL_DECORATION = "#*`'\"_:>- \t"
_COMMENT_LABEL = re.compile(
    r"^\s*(?:#|//|--|;|<!--)\s*(?:file(?:name)?\s*:\s*)?(?P<path>\S+?)\s*(?:-->)?\s*$",
    re.IGNORECASE,
)


class OutputProblem(ValueError):
    """An answer that cannot be used; the message tells the model what to fix."""


class RefusalProblem(OutputProblem):
    """The model declined, or said nothing; ``words`` is what it said."""

    def __init__(self, words: str) -> None:
        super().__init__(words)
        self.words = words


def refusal_in(answer: str) -> str | None:
    """The model's words when ``answer`` is a refusal ("I can't help with that") or empty."""
    text = answer.strip()
    if not text:
        return "(empty answer)"
    if len(text) > _REFUSAL_MAX_CHARS or _OPENING.search(text):
        return None
    return text if _REFUSAL.match(text) else None


@dataclass(frozen=True)
class _Block:
    info: str
    body: str
    label: str | None  # the file path the answer gives this fence, if any


def _path_token(text: str) -> str | None:
    token = text.strip(_LABEL_DECORATION)
    token = re.sub(r"^(?:file(?:name)?|path)\s*[:=]\s*", "", token, flags=re.IGNORECASE)
    token = token.strip(_LABEL_DECORATION)
    return token if _PATH_LIKE.match(token) else None


def _label(info: str, before: str, body: str, wanted: str) -> str | None:
    """The path a fence is labelled with: info string, the line before, or a first-line comment."""
    for token in re.split(r"[\s:=,]+", info):
        if (path := _path_token(token)) is not None:
            return path
    lines = [line for line in before.splitlines() if line.strip()]
    if lines:
        last = lines[-1]
        if re.search(rf"(?<![\w/.-]){re.escape(wanted)}(?![\w/-])", last, re.IGNORECASE):
            return wanted
        if (path := _path_token(last)) is not None:
            return path
    first = body.split("\n", 1)[0]
    if (match := _COMMENT_LABEL.match(first)) and _PATH_LIKE.match(match.group("path")):
        return match.group("path")
    return None


def _names(label: str, path: str) -> bool:
    label, path = label.lower(), path.lower()
    return label == path or path.endswith("/" + label.lstrip("./"))


def _blocks(answer: str, wanted: str = "") -> list[_Block]:
    blocks: list[_Block] = []
    end = 0
    for match in _FENCE.finditer(answer):
        info, body = match.group("info").strip().lower(), match.group("body")
        before = answer[end : match.start()]
        blocks.append(_Block(info, body, _label(info, before, body, wanted)))
        end = match.end()
    return blocks


def extract_code(answer: str, path: str, *, truncated: bool = False) -> str:
    """The content of file ``path`` in ``answer``, ending with one newline.

    Prefers the fence labelled with ``path``; else, among fences labelled with no other
    path, the longest in the file's language, else the longest; an unclosed fence is read
    to the end; an answer without fences is taken whole (unless it is a refusal).
    """
    if truncated:
        raise OutputProblem(
            "Your answer was cut off because it reached the output token limit. Write the "
            f"complete file {path} again, more concisely, in one fenced code block."
        )
    blocks = _blocks(answer, path)
    if blocks:
        body = _choose(blocks, path)
    elif (words := refusal_in(answer)) is not None:
        raise RefusalProblem(words)
    elif opening := _OPENING.search(answer):
        body = answer[opening.end() :]
    else:
        body = answer
    content = body.strip("\n")
    if not content.strip():
        raise OutputProblem(f"The answer held no content for {path}. Reply with the whole file.")
    return content.rstrip() + "\n"


def _choose(blocks: list[_Block], path: str) -> str:
    named = [b for b in blocks if b.label is not None and _names(b.label, path)]
    if named:
        return named[0].body
    free = [b for b in blocks if b.label is None]
    if not free:
        others = sorted({b.label for b in blocks if b.label})
        raise OutputProblem(
            f"Your answer holds {', '.join(others)} but not {path}. Reply with the whole "
            f"file {path} in one fenced code block."
        )
    languages = _LANGUAGES.get(PurePosixPath(path).suffix, ())
    in_language = [b for b in free if b.info in languages]
    return max(in_language or free, key=lambda b: len(b.body)).body


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
    if (words := refusal_in(answer)) is not None and "{" not in answer:
        raise RefusalProblem(words)
    blocks = _blocks(answer)
    # Structured output: the whole answer is the document.
    candidates = [answer.strip()] if answer.lstrip().startswith(("{", "[")) else []
    candidates += [b.body for b in blocks if b.info in {"json", ""}]
    candidates += [b.body for b in blocks]
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
