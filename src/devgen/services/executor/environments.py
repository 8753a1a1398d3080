"""Environments: which dependency set an execution runs against, and what clients see of it.

A tenant's environment is a row pointing at a build keyed by the hash of
(runtime, interpreter version, package set); built-in environments live in
code (:mod:`.builtin`) and point at a build the same way (:mod:`.builds`
runs builds). Writes commit in their own transaction before a build
starts, so a build never waits on the request's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.auth import Principal
from devgen.kit.errors import NotFound, ValidationFailed
from devgen.kit.pagination import PageParams, PageResult, paginate_offset
from devgen.services.executor import repository
from devgen.services.executor.builds import Builds
from devgen.services.executor.builtin import BuiltinEnvironment, builtin_by_id, builtins
from devgen.services.executor.models import Environment, EnvironmentBuild
from devgen.services.executor.packages import InvalidRequirement, normalize_set
from devgen.services.executor.quota import EnvironmentQuota
from devgen.services.executor.runtimes import PYTHON
from devgen.services.executor.schemas import (
    BuildLogRead,
    EnvironmentCreate,
    EnvironmentRead,
)


@dataclass(frozen=True, slots=True)
class Target:
    """What an execution runs against: a runtime, and maybe an environment's build."""

    runtime: str
    environment_id: uuid.UUID | None = None
    environment_name: str | None = None
    build_key: str | None = None
    packages: tuple[str, ...] = ()
    default_limits: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str | None:
        """How a client names the environment: its built-in name, else its id."""
        if self.environment_name:
            return self.environment_name
        return str(self.environment_id) if self.environment_id else None


def _normalized(packages: list[str]) -> list[str]:
    try:
        return normalize_set(packages)
    except InvalidRequirement as exc:
        raise ValidationFailed(str(exc), details={"field": "packages"}) from exc


async def builtin_target(builds: Builds, builtin: BuiltinEnvironment) -> Target:
    packages = _normalized(list(builtin.packages))
    return Target(
        runtime=builtin.runtime,
        environment_id=builtin.id,
        environment_name=builtin.name,
        build_key=await builds.key_for(builtin.runtime, packages),
        packages=tuple(packages),
        default_limits=dict(builtin.default_limits),
    )


async def resolve_target(
    session: AsyncSession,
    builds: Builds,
    tenant_id: uuid.UUID,
    *,
    runtime: str | None,
    environment: str | None,
) -> Target:
    """The runtime and environment an execution asked for (``NotFound``/422 otherwise)."""
    if environment is None:
        return Target(runtime=runtime or PYTHON)
    target = await _find(session, builds, tenant_id, environment)
    if runtime is not None and runtime != target.runtime:
        raise ValidationFailed(
            f"environment {environment!r} runs {target.runtime}, not {runtime}",
            details={"field": "runtime"},
        )
    return target


async def _find(
    session: AsyncSession, builds: Builds, tenant_id: uuid.UUID, reference: str
) -> Target:
    if (builtin := builtins().get(reference)) is not None:
        return await builtin_target(builds, builtin)
    try:
        environment_id = uuid.UUID(reference)
    except ValueError:
        raise NotFound(f"There is no environment {reference[:64]!r}.") from None
    if (builtin := builtin_by_id(environment_id)) is not None:
        return await builtin_target(builds, builtin)
    row = await repository.environment_of_tenant(session, tenant_id, environment_id)
    if row is None:
        raise NotFound("The environment was not found.")
    return Target(
        runtime=row.runtime,
        environment_id=row.id,
        build_key=row.build_id,
        packages=tuple(row.packages),
    )


async def target_of(
    session: AsyncSession, builds: Builds, tenant_id: uuid.UUID, environment_id: uuid.UUID
) -> Target:
    """The target of an environment an execution was accepted with."""
    return await _find(session, builds, tenant_id, str(environment_id))


def _read(
    builds: Builds,
    target: Target,
    build: EnvironmentBuild | None,
    created_at: Any = None,
) -> EnvironmentRead:
    assert target.build_key is not None
    assert target.environment_id is not None
    return EnvironmentRead.model_validate(
        {
            "id": target.environment_id,
            "name": target.environment_name,
            "builtin": target.environment_name is not None,
            "runtime": target.runtime,
            "packages": list(target.packages),
            "status": builds.status(target.build_key, build),
            "error": build.error if build is not None else None,
            "default_limits": target.default_limits,
            "created_at": created_at,
            "build_started_at": build.started_at if build is not None else None,
            "build_finished_at": build.finished_at if build is not None else None,
        }
    )


async def create_environment(
    builds: Builds, quota: EnvironmentQuota, principal: Principal, body: EnvironmentCreate
) -> tuple[EnvironmentRead, bool]:
    """The tenant's environment for this package set, created if new; its build started.

    Returns the environment and whether it was created. Identical sets share
    one build, whoever asked first; asking again for a set whose build
    failed builds it again. Past the tenant's quota (environments kept,
    builds in progress) nothing is created or started.
    """
    assert principal.tenant_id is not None
    packages = _normalized(body.packages)
    key = await builds.key_for(body.runtime, packages)
    # Held until the build is started: the next request of this tenant sees it.
    async with quota.lock(principal.tenant_id):
        for attempt in range(2):
            try:
                row, created, build = await _create_rows(
                    builds, quota, principal, body.runtime, packages, key
                )
                break
            except IntegrityError:
                # Another tenant added the same build row at the same moment:
                # it exists now, so once more it is found instead of added.
                if attempt:
                    raise
        if builds.status(key, build) not in ("ready", "building"):
            builds.start(key, body.runtime, packages)
    target = Target(
        runtime=row.runtime, environment_id=row.id, build_key=key, packages=tuple(packages)
    )
    return _read(builds, target, build, row.created_at), created


async def _create_rows(
    builds: Builds,
    quota: EnvironmentQuota,
    principal: Principal,
    runtime: str,
    packages: list[str],
    key: str,
) -> tuple[Environment, bool, EnvironmentBuild]:
    """The tenant's row and the build row, created as needed, within the quota."""
    assert principal.tenant_id is not None
    python = await builds.runtimes.python()
    async with builds.database.transaction() as session:
        row = await repository.environment_by_build(session, principal.tenant_id, key)
        build = await repository.build(session, key)
        if row is None:
            await quota.check_new_environment(session, principal.tenant_id)
        if builds.status(key, build) not in ("ready", "building"):
            await quota.check_new_build(session, builds, principal.tenant_id)
        if build is None:
            build = EnvironmentBuild(
                id=key,
                runtime=runtime,
                python=python.version or "",
                packages=packages,
                status="pending",
            )
            session.add(build)
            await session.flush()
        if row is not None:
            return row, False, build
        row = Environment(
            tenant_id=principal.tenant_id,
            runtime=runtime,
            packages=packages,
            build_id=key,
            created_by=principal.actor,
        )
        session.add(row)
        await session.flush()
        return row, True, build


async def get_environment(
    session: AsyncSession, builds: Builds, principal: Principal, reference: str
) -> EnvironmentRead:
    """A built-in environment, or one of the tenant's (another tenant's is a 404)."""
    assert principal.tenant_id is not None
    target = await _find(session, builds, principal.tenant_id, reference)
    assert target.build_key is not None
    build = await repository.build(session, target.build_key)
    created_at = None
    if target.environment_name is None and target.environment_id is not None:
        row = await repository.environment_of_tenant(
            session, principal.tenant_id, target.environment_id
        )
        created_at = row.created_at if row is not None else None
    return _read(builds, target, build, created_at)


async def list_environments(
    session: AsyncSession, builds: Builds, principal: Principal, page: PageParams
) -> tuple[list[EnvironmentRead], PageResult]:
    """The built-in environments first (on the first page), then the tenant's own."""
    assert principal.tenant_id is not None
    result = await paginate_offset(
        session, repository.environments_of_tenant(principal.tenant_id), page
    )
    rows: list[Environment] = list(result.items)
    build_rows = await repository.builds_by_id(session, [row.build_id for row in rows])
    items = []
    if page.offset == 0:
        for builtin in builtins().values():
            target = await builtin_target(builds, builtin)
            assert target.build_key is not None
            items.append(_read(builds, target, await repository.build(session, target.build_key)))
    for row in rows:
        target = Target(
            runtime=row.runtime,
            environment_id=row.id,
            build_key=row.build_id,
            packages=tuple(row.packages),
        )
        items.append(_read(builds, target, build_rows.get(row.build_id), row.created_at))
    return items, result


async def build_log(
    session: AsyncSession, builds: Builds, principal: Principal, reference: str
) -> BuildLogRead:
    """The build output of an environment the caller can see."""
    assert principal.tenant_id is not None
    target = await _find(session, builds, principal.tenant_id, reference)
    assert target.build_key is not None
    assert target.environment_id is not None
    build = await repository.build(session, target.build_key)
    return BuildLogRead(
        id=target.environment_id,
        status=builds.status(target.build_key, build),
        log=builds.log_of(target.build_key, build),
    )
