"""Where the CLI writes: results to stdout, problems to stderr, both through Rich."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from devgen.kit.settings import Settings
from devgen.runtime.failures import OPERATIONAL_ERRORS, describe, validation_problems

T = TypeVar("T")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error and leave with exit status ``code``."""
    # Escaped: messages quote user input and things like ``devgen[postgres]``.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The settings from the environment (and ``.env``); a readable error when they are wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        fail(f"the settings are not valid:\n{validation_problems(exc)}", code=2)
    except ValueError as exc:
        fail(f"the settings are not valid: {exc}", code=2)


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; an unreachable database, a missing driver or a bad value ends in one line.

    Anything else is a bug and keeps its traceback.
    """
    try:
        return asyncio.run(work)
    except OPERATIONAL_ERRORS as exc:
        fail(describe(exc))
