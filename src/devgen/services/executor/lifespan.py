"""The executor's start-up and shutdown.

Start-up is cheap: it probes the host (no mount, no network), refuses to
start when the sandbox cannot work (with the fix in the message), recovers
the executions a previous process left, and starts the pool. The sandbox's
state directory is mounted on the first execution (or at start by the
self-test, by default in production only), environments are built on first
use (or in the background with ``DEVGEN_EXECUTOR_PREBUILD``).

Shutdown kills what runs (recorded as ``killed``, with the reason), leaves
queued executions queued for the next start, and unmounts everything.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path, PurePosixPath

import structlog
from fastapi import FastAPI, Request

from devgen.kit.auth.remote import RemoteIntrospector
from devgen.kit.health import DependencyStatus
from devgen.kit.settings import Environment, Settings
from devgen.kit.streams import StreamLimiter
from devgen.services.executor import statedirs
from devgen.services.executor.builder import EnvironmentBuilder
from devgen.services.executor.builds import Builds
from devgen.services.executor.builtin import builtins
from devgen.services.executor.environments import builtin_target
from devgen.services.executor.lease import LeaseKeeper, Owner, recover
from devgen.services.executor.live import LiveHub
from devgen.services.executor.metrics import executor_metrics
from devgen.services.executor.pool import ExecutionPool
from devgen.services.executor.quota import EnvironmentQuota
from devgen.services.executor.runtimes import RuntimeCatalog
from devgen.services.executor.sandbox import (
    Sandbox,
    SandboxConfig,
    SandboxUnavailableError,
    UnsafeModeRefusedError,
    cgroup_probe,
    probe_host,
)
from devgen.services.executor.sandbox import command as sandbox_command
from devgen.services.executor.sandbox.cgroups import parent_name
from devgen.services.executor.settings import STATE_ROOT, ExecutorSettings
from devgen.services.executor.state import ExecutorState
from devgen.services.executor.worker import Worker

log = structlog.get_logger(__name__)

UNSAFE_HINT = "for development only, DEVGEN_SANDBOX=unsafe-none runs code without any isolation"


def sandbox_config(settings: ExecutorSettings, data_dir: Path) -> SandboxConfig:
    """The sandbox's configuration from the executor's settings."""
    return SandboxConfig(
        mode=settings.sandbox,
        state_dir=settings.state_dir_for(data_dir),
        slots=settings.executor_workers,
        base_uid=settings.executor_uid_base,
        base_gid=settings.executor_uid_base,
        protected_paths=(data_dir,),
        maxima=settings.maxima,
        cgroups=settings.executor_cgroups,
        cgroup_parent=settings.executor_cgroup_parent,
    )


async def _refuse_unless_isolating(config: SandboxConfig, environment: Environment) -> str:
    """Return what isolates executions here, or raise with the fix."""
    if config.mode == "unsafe-none":
        if environment is Environment.production:
            raise UnsafeModeRefusedError(
                "DEVGEN_SANDBOX=unsafe-none runs code without isolation and is refused "
                "when DEVGEN_ENV=production; install bubblewrap and use DEVGEN_SANDBOX=bwrap"
            )
        log.warning("executor.unsafe_mode", message=f"executions are NOT isolated ({UNSAFE_HINT})")
        return "unsafe-none"
    host = await asyncio.to_thread(
        probe_host, bwrap=config.bwrap, prlimit=config.prlimit, cgroup_parent=config.cgroup_parent
    )
    problems = host.problems()
    if host.cgroup_problem:
        problems.append(f"DEVGEN_EXECUTOR_CGROUP_PARENT is unusable: {host.cgroup_problem}")
    if problems:
        raise SandboxUnavailableError(
            "The executor cannot isolate executions on this host: "
            + "; ".join(problems)
            + f" ({UNSAFE_HINT})"
        )
    if config.cgroups in ("v2", "v1"):
        # Required: refuse now rather than at the first execution. Only makes
        # the parent group (the sandbox reuses it); removes nothing.
        await asyncio.to_thread(
            cgroup_probe.choose,
            mode=config.cgroups,
            name=parent_name(config.state_dir),
            delegated=config.cgroup_parent,
            root=config.cgroup_root,
        )
    return f"bwrap {host.bwrap_version}"


def _search_path(config: SandboxConfig) -> str:
    views = [
        sandbox_command.View(d, PurePosixPath(os.path.realpath(d))) for d in config.runtime_dirs
    ]
    return sandbox_command.search_path(views, [])


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build the executor's collaborators, recover, run, then stop cleanly."""
    settings: Settings = app.state.settings
    executor_settings = ExecutorSettings()
    config = sandbox_config(executor_settings, settings.core.data_dir)
    mechanism = await _refuse_unless_isolating(config, settings.core.env)
    derived_state = executor_settings.executor_state_dir is None and config.mode == "bwrap"
    if derived_state:
        statedirs.reclaim_abandoned(
            STATE_ROOT, keep=config.state_dir, cgroup_parent=config.cgroup_parent
        )
        statedirs.claim(config.state_dir)
    sandbox = Sandbox(environment=settings.core.env.value, config=config)
    check = executor_settings.executor_check_on_start
    if check if check is not None else settings.core.is_production:
        await sandbox.check()
    database = app.state.database
    runtimes = RuntimeCatalog(_search_path(config))
    builder = EnvironmentBuilder(
        executor_settings.executor_environments_dir,
        timeout_s=executor_settings.executor_build_timeout_seconds,
    )
    builds = Builds(database, builder, runtimes)
    hub = LiveHub()
    owner = Owner.current()
    worker = Worker(database=database, sandbox=sandbox, builds=builds, hub=hub, owner=owner)
    pool = ExecutionPool(
        workers=executor_settings.executor_workers,
        queue_size=executor_settings.executor_queue_size,
        tenant_concurrency=executor_settings.tenant_concurrency,
        tenant_queue=executor_settings.tenant_queue,
        run=worker,
    )
    gauges = executor_metrics()
    gauges.queued.set_function(lambda: pool.queued)
    gauges.running.set_function(lambda: pool.running)
    keeper = LeaseKeeper(
        database,
        pool,
        owner,
        heartbeat_s=executor_settings.executor_heartbeat_seconds,
        lease_s=executor_settings.executor_lease_seconds,
        on_reaped=lambda execution_id: hub.close(execution_id, "killed"),
    )
    app.state.executor = ExecutorState(
        settings=executor_settings,
        database=database,
        sandbox=sandbox,
        pool=pool,
        worker=worker,
        hub=hub,
        builds=builds,
        quota=EnvironmentQuota(
            builds=executor_settings.executor_tenant_builds,
            environments=executor_settings.executor_tenant_environments,
        ),
        runtimes=runtimes,
        owner=owner,
        streams=StreamLimiter(
            per_user=executor_settings.executor_streams_per_user,
            per_tenant=executor_settings.executor_streams_per_tenant,
        ),
        # Asked at identity, not the local authenticator: only identity knows of revocations.
        introspector=RemoteIntrospector(app.state.clients, app.state.service_credentials),
    )

    async def sandbox_health(_request: Request) -> DependencyStatus:
        return DependencyStatus(status="ok", detail=mechanism)

    app.state.health_checks["sandbox"] = sandbox_health
    try:
        await recover(database, pool, executor_settings.executor_lease_seconds)
        await builds.resume_interrupted()
        if executor_settings.executor_prebuild:
            for builtin in builtins().values():
                target = await builtin_target(builds, builtin)
                assert target.build_key is not None
                builds.start(target.build_key, target.runtime, list(target.packages))
        keeper.start()
        yield
    finally:
        await keeper.close()
        await pool.close()
        await builds.close()
        await sandbox.close()
        owner.retire()
        if derived_state:
            statedirs.release(config.state_dir)
