"""The executor's HTTP API."""

from devgen.services.executor.api.environments import router as environments_router
from devgen.services.executor.api.executions import router as executions_router
from devgen.services.executor.api.logs import router as logs_router
from devgen.services.executor.api.runtimes import router as runtimes_router

routers = [executions_router, logs_router, environments_router, runtimes_router]
