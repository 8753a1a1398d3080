"""Dependencies every service uses: the session, the clients, strict query strings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.client import ServiceClients
from devgen.kit.db import Database
from devgen.kit.errors import ValidationFailed
from devgen.kit.settings import Settings


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.request_session() as session:
        yield session


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    database: Database = request.app.state.database
    async with database.read_session() as session:
        yield session


async def _clients(request: Request) -> ServiceClients:
    clients: ServiceClients = request.app.state.clients
    return clients


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Session = Annotated[AsyncSession, Depends(_session, scope="function")]
"""The request's session, inside a transaction committed before the response is sent."""

ReadSession = Annotated[AsyncSession, Depends(_read_session, scope="function")]
"""A session for an endpoint that only reads: no write lock, nothing committed."""

Clients = Annotated[ServiceClients, Depends(_clients)]
"""Clients for calling the other services."""

AppSettings = Annotated[Settings, Depends(_settings)]
"""The settings the app was built with."""


def _query_names(dependant: Any) -> frozenset[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


# A route's declared parameters never change: its dependency tree is walked once, and
# the names kept on the route itself (routes are unhashable, so no outside cache).
_DECLARED = "_devgen_query_names"


async def _known_query_parameters(request: Request) -> None:
    # A misspelt filter (``?stauts=failed``) must not quietly list everything.
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared: frozenset[str] | None = getattr(route, _DECLARED, None)
    if declared is None:
        declared = _query_names(dependant)
        setattr(route, _DECLARED, declared)
    unknown = sorted(set(request.query_params) - declared)
    if unknown:
        # Bounded like every validation error: the names are the client's own input.
        errors = [
            {"location": f"query.{name[:64]}", "message": "not a parameter of this endpoint"}
            for name in unknown[:10]
        ]
        raise ValidationFailed("Unknown query parameters.", details={"errors": errors})


KnownQueryParameters = Depends(_known_query_parameters)
"""Router dependency: query parameters the route does not declare are refused with 422."""
