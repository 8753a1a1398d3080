"""The service's own database: an async SQLAlchemy engine and its sessions.

The request dependency owns the transaction: it begins one, hands the
session to the endpoint, commits when the endpoint returns and rolls back
when it raises. Service code calls ``flush()``, never ``commit()``.

One task holds at most one transaction per database. A second one opened
while the first is still open waits for the first's locks (SQLite's single
writer, a row the first has written) while the first waits for it: the
request stalls for the whole busy timeout and fails. ``Database`` therefore
remembers, per task, the transaction it has open: ``transaction()`` inside
one is an error in tests (``strict``) and a logged warning elsewhere, and
``joined_transaction()`` is the way for shared code to take part in the
caller's transaction when there is one.

Rolling back is shielded from cancellation: a task cancelled inside a
transaction (a client gone, a shutdown, a step interrupted) still releases
its locks before the cancellation goes on.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import structlog
from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, registry
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

log = structlog.get_logger(__name__)


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC.

    SQLite drops the offset; PostgreSQL keeps it. Normalising here means no
    service ever compares a naive and an aware datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        # TypeDecorator does not delegate this; keyset pagination needs it to decode cursors.
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use devgen.kit.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class UUIDPrimaryKey:
    """Mixin: a random UUID primary key named ``id``."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class Timestamps:
    """Mixin: ``created_at`` and ``updated_at`` kept by the database layer."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class ModelBase(DeclarativeBase):
    """Abstract root of every service's models.

    A service declares ``class Base(ModelBase): __abstract__ = True`` and
    gets a registry and a ``MetaData`` of its own: its migrations see only its
    tables, and a class name in ``relationship("User")`` resolves within the
    service. (SQLAlchemy gives a fresh registry only to direct subclasses of
    ``DeclarativeBase``; an abstract subclass would share ours.)
    """

    __abstract__ = True
    type_annotation_map = {datetime: UTCDateTime}

    def __init_subclass__(cls, **kw: Any) -> None:
        if ModelBase in cls.__bases__:
            if not cls.__dict__.get("__abstract__", False):
                raise TypeError(f"{cls.__name__}: a service's Base must set __abstract__ = True")
            service_registry = registry(
                metadata=cls.__dict__.get("metadata"),  # one given in the class body is kept
                type_annotation_map=ModelBase.type_annotation_map,
            )
            cls._sa_registry = service_registry
            cls.registry = service_registry
            cls.metadata = service_registry.metadata
        super().__init_subclass__(**kw)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, emit BEGIN (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


READ_ONLY_OPTION = "devgen_read_only"
"""Execution option of the engine a read-only session is bound to."""


def _sqlite_begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with
    # SQLITE_BUSY when another connection wrote in between (waiting cannot
    # help it). Taking the write lock at BEGIN makes concurrent writers wait
    # their turn (busy_timeout) instead of failing. A read-only session never
    # writes: its deferred transaction reads one WAL snapshot and takes no
    # lock that makes anyone wait (readers and the writer run side by side).
    if connection.get_execution_options().get(READ_ONLY_OPTION):
        connection.exec_driver_sql("BEGIN")
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private(database: Path) -> None:
    # The file may hold signing keys: readable by this user only. SQLite gives
    # its -wal and -shm files the mode of the database file, so they follow.
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _release_cancelled_connection(context: Any) -> None:
    # A task cancelled while SQLite runs its statement leaves the statement
    # running in aiosqlite's thread. SQLAlchemy then invalidates the connection
    # and closes it, but the interrupted statement's cursor lives on in the
    # cancellation's traceback, so SQLite only marks the connection closed
    # and keeps its transaction, and the write lock, until the traceback is
    # collected. Interrupting the statement and queueing a rollback behind it
    # (aiosqlite runs its calls in order) releases the lock now.
    if isinstance(context.original_exception, Exception) or context.connection is None:
        return  # only a cancellation (or another exit) leaves the statement running
    driver = context.connection.connection.driver_connection
    sqlite_connection = getattr(driver, "_conn", None)  # aiosqlite's sqlite3.Connection
    if sqlite_connection is None:
        return
    sqlite_connection.interrupt()  # thread-safe by sqlite3's contract
    rollback = asyncio.ensure_future(driver.rollback())
    _background.add(rollback)
    rollback.add_done_callback(_forget_background)


_background: set[asyncio.Future[Any]] = set()


def _forget_background(future: asyncio.Future[Any]) -> None:
    _background.discard(future)
    if not future.cancelled():
        future.exception()  # already closed: nothing was left to roll back


def build_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """An async engine for ``url`` with the settings each backend needs."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            _create_private(Path(database))
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        event.listen(engine.sync_engine, "handle_error", _release_cancelled_connection)
        return engine
    if parsed.get_backend_name() == "postgresql" and pool_size == 0:
        return create_async_engine(url, echo=echo, poolclass=NullPool)
    return create_async_engine(
        url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


class NestedTransactionError(RuntimeError):
    """A task opened a second transaction on a database while its first was still open."""


@dataclass(eq=False)
class _OpenTransaction:
    """A transaction a task holds: its session, while it is open."""

    session: AsyncSession
    task: asyncio.Task[object] | None
    open: bool = True


# The transactions of the current context by database id, replaced (never mutated)
# on every change, since child tasks get a copy of the context.
_holdings: ContextVar[dict[int, _OpenTransaction] | None] = ContextVar(
    "devgen_open_transactions", default=None
)


def _current_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # pragma: no cover - not inside a running loop
        return None


async def _shielded_rollback(session: AsyncSession) -> None:
    """Roll back and return the connection, even if this task is being cancelled again.

    The rollback runs in a task of its own and is awaited to the end: a
    cancellation that lands here must not leave SQLite's write lock held by a
    connection nobody will ever roll back.
    """
    cleanup = asyncio.ensure_future(_rollback_and_close(session))
    cancelled = False
    while not cleanup.done():
        try:
            await asyncio.shield(cleanup)
        except asyncio.CancelledError:
            cancelled = True
    cleanup.result()
    if cancelled:
        raise asyncio.CancelledError


async def _rollback_and_close(session: AsyncSession) -> None:
    try:
        await session.rollback()
    finally:
        await session.close()


class Database:
    """One service's engine and session factory, created in the app's lifespan.

    ``strict`` makes a nested transaction an error (tests); otherwise it is
    logged, so a production process does not fail on what only a test must.
    """

    def __init__(
        self, url: str, *, pool_size: int = 10, echo: bool = False, strict: bool = False
    ) -> None:
        self.url = url
        self.strict = strict
        self.engine = build_engine(url, pool_size=pool_size, echo=echo)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessionmaker = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY_OPTION: True}),
            expire_on_commit=False,
            autoflush=False,
        )

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def _held(self) -> _OpenTransaction | None:
        held = (_holdings.get() or {}).get(id(self))
        if held is None or not held.open or held.task is not _current_task():
            return None  # none, finished, or another task's (a copied context)
        return held

    def in_transaction(self) -> bool:
        """Whether the current task holds a transaction on this database."""
        return self._held() is not None

    def _refuse_nesting(self) -> None:
        if self._held() is None:
            return
        message = (
            "a transaction is already open on this database in this task; "
            "use the caller's session (or joined_transaction()) instead of a second one"
        )
        if self.strict:
            raise NestedTransactionError(message)
        log.warning("nested_transaction", database=self.backend, problem=message)

    @asynccontextmanager
    async def _hold(self, session: AsyncSession) -> AsyncIterator[_OpenTransaction]:
        held = _OpenTransaction(session, _current_task())
        token = _holdings.set({**(_holdings.get() or {}), id(self): held})
        try:
            yield held
        finally:
            held.open = False
            _holdings.reset(token)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        For work outside a request (event handlers, jobs, the CLI). Inside a
        request (or another transaction of this task) use the session you
        were given: a second transaction here is ``NestedTransactionError``.
        """
        self._refuse_nesting()
        session = self.sessionmaker()
        async with self._hold(session):
            try:
                yield session
            except BaseException:
                await _shielded_rollback(session)
                raise
            try:
                await session.commit()
            except BaseException:
                await _shielded_rollback(session)
                raise
            await session.close()

    @asynccontextmanager
    async def joined_transaction(self) -> AsyncIterator[AsyncSession]:
        """The session of the transaction this task already holds here, or a new one.

        For shared code that may run inside a request or outside one (the key
        ring, API-key lookups): inside, its work becomes part of the caller's
        transaction and is committed or rolled back with it.
        """
        held = self._held()
        if held is not None:
            yield held.session
            return
        async with self.transaction() as session:
            yield session

    @asynccontextmanager
    async def request_session(self) -> AsyncIterator[AsyncSession]:
        """The session of one request: like ``transaction()``, for the request dependency.

        An error rolls back everything the endpoint did; what must outlive a
        failed request is written with ``record_and_raise``.
        """
        async with self.transaction() as session:
            yield session

    @asynccontextmanager
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads only: one consistent snapshot, no write lock, rolled back.

        On SQLite its transaction is a deferred one (``BEGIN``), so many
        readers and the one writer proceed side by side instead of queueing
        for the write lock that ``transaction()`` takes; on PostgreSQL it is
        an ordinary transaction that is never committed. It is not a held
        transaction: a write made meanwhile by the same task (``transaction()``)
        is its own. Writing through it is a bug: nothing is ever committed.
        """
        session = self._read_sessionmaker()
        try:
            yield session
        finally:
            await _shielded_rollback(session)

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def record_and_raise(
    session: AsyncSession,
    record: Callable[[AsyncSession], Awaitable[object]],
    error: BaseException,
) -> NoReturn:
    """Undo the request's work, commit only what ``record`` writes, then raise ``error``.

    For failures that must leave a trace (a failed sign-in, a reused refresh
    token, a refused generation): the request's answer is the error, yet the
    record of it is kept, in a transaction of its own on the same connection.
    """
    await session.rollback()
    await record(session)
    await session.commit()
    raise error
