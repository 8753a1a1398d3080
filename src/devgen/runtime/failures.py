"""Why the platform could not start or reach its data, in one line a person can act on.

Start-up and administration fail for a handful of ordinary reasons (the
database is down, a driver is not installed, a setting is malformed); those
are reported as a sentence, not as a stack trace.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

OPERATIONAL_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    SQLAlchemyError,
    ModuleNotFoundError,
    ValueError,  # includes pydantic's ValidationError: a malformed setting
)
"""Failures that come from the environment or the configuration, not from a bug."""

_EXTRAS = {
    "asyncpg": "postgres",
    "psycopg": "postgres",
    "redis": "redis",
    "aio_pika": "rabbitmq",
    "aioboto3": "s3",
}


class StartupFailed(Exception):
    """The server could not start; the message says why."""


def validation_problems(exc: ValidationError) -> str:
    """One line per invalid setting, naming it, never echoing its value (it may be a secret)."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or exc.title
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  {name}: {message}")
    return "\n".join(lines)


def describe(exc: BaseException) -> str:
    """A one-paragraph explanation of ``exc`` for the console (never a traceback)."""
    if isinstance(exc, ModuleNotFoundError):
        module = (exc.name or "").split(".")[0]
        if extra := _EXTRAS.get(module):
            return f"the {module} package is missing: pip install 'devgen[{extra}]'"
        return f"the Python module {exc.name!r} is missing"
    if isinstance(exc, DBAPIError):
        # The driver's own message, without SQLAlchemy's statement and help link.
        return f"database error: {exc.orig}"
    if isinstance(exc, SQLAlchemyError):
        return f"database error: {exc.args[0] if exc.args else type(exc).__name__}"
    if isinstance(exc, ValidationError):
        return f"a setting is not valid:\n{validation_problems(exc)}"
    if isinstance(exc, OSError | TimeoutError):
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
