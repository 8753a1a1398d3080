"""The orchestrator's HTTP API: projects, workflows, runs and tasks."""

from devgen.services.orchestrator.api.projects import router as projects_router
from devgen.services.orchestrator.api.runs import router as runs_router
from devgen.services.orchestrator.api.tasks import router as tasks_router
from devgen.services.orchestrator.api.workflows import router as workflows_router

routers = [projects_router, workflows_router, runs_router, tasks_router]
