"""Per-tenant quotas on environments: builds in progress, environments kept.

A build runs pip on the host and fills the environments directory, so one
tenant may not start more than ``builds`` at once (429, retry later) nor
keep more than ``environments`` package sets (409: until an operator raises
the quota). Built-in environments have no row and never count; asking again
for a set the tenant already has creates nothing and is never refused,
unless it would start a build again (a failed one) past the build quota.

Checks and creation run under a per-tenant lock in this process, so
concurrent requests of one tenant cannot both take the last place; with
several executor replicas a tenant may overshoot by at most one per replica.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from devgen.kit.errors import Conflict, RateLimited
from devgen.services.executor import repository
from devgen.services.executor.builds import BUILDING, Builds

RETRY_AFTER_S = 10


class EnvironmentQuotaExceeded(Conflict):
    """The tenant keeps as many environments as it may."""

    code = "QUOTA_EXCEEDED"
    default_message = "The tenant has as many environments as its quota allows."


class BuildQuotaExceeded(RateLimited):
    """The tenant has as many environment builds in progress as it may."""

    code = "QUOTA_EXCEEDED"
    default_message = "The tenant has as many environment builds in progress as it may."


class EnvironmentQuota:
    """The two limits, and the per-tenant lock their checks are taken under."""

    def __init__(self, *, builds: int, environments: int) -> None:
        self.builds = builds
        self.environments = environments
        self._locks: weakref.WeakValueDictionary[uuid.UUID, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def lock(self, tenant_id: uuid.UUID) -> asyncio.Lock:
        """The lock one tenant's environment creations are serialised by."""
        lock = self._locks.get(tenant_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[tenant_id] = lock
        return lock

    async def check_new_environment(self, session: AsyncSession, tenant_id: uuid.UUID) -> None:
        """Raise :class:`EnvironmentQuotaExceeded` if the tenant may keep no more."""
        kept = await repository.count_environments_of_tenant(session, tenant_id)
        if kept >= self.environments:
            raise EnvironmentQuotaExceeded(
                f"The tenant keeps {kept} environments, its quota is {self.environments}; "
                "reuse one of them (identical package sets share one build).",
                details=_details("environments", self.environments, kept),
            )

    async def check_new_build(
        self, session: AsyncSession, builds: Builds, tenant_id: uuid.UUID
    ) -> None:
        """Raise :class:`BuildQuotaExceeded` if the tenant may start no build now."""
        rows = list(await session.scalars(repository.environments_of_tenant(tenant_id)))
        build_rows = await repository.builds_by_id(session, [row.build_id for row in rows])
        building = sum(
            1
            for row in rows
            if builds.status(row.build_id, build_rows.get(row.build_id)) == BUILDING
        )
        if building >= self.builds:
            raise BuildQuotaExceeded(
                RETRY_AFTER_S,
                f"The tenant has {building} environment builds in progress, its quota is "
                f"{self.builds}; retry once one has finished.",
                details=_details("builds", self.builds, building),
            )


def _details(quota: str, limit: int, current: int) -> dict[str, Any]:
    return {"quota": quota, "limit": limit, "current": current}
