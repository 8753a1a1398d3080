"""The LLM engine: any OpenAI-compatible chat endpoint or Anthropic's Messages API.

An architect plans the files (JSON), an engineer writes them one at a time; the analyst
reads requirements into specs; repair rewrites the files failing tests point at. Roles
that leave documents (product brief, design, review) run when asked (:mod:`.roles`). Every
call goes through :class:`LLMClient` (timeouts, retries, ``Retry-After``, a circuit
breaker) and is charged to a per-request :class:`Meter` with a hard budget.
"""

from devgen.services.codegen.engines.llm.analyst import analyze_with_llm
from devgen.services.codegen.engines.llm.budget import Budget, Meter, Prices, Usage
from devgen.services.codegen.engines.llm.client import (
    ClientConfig,
    LLMClient,
    Progress,
    ProgressCallback,
    reporting_progress,
)
from devgen.services.codegen.engines.llm.documents import ROLES, Documents, Role
from devgen.services.codegen.engines.llm.engine import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    Failure,
    LLMEngine,
    LLMProject,
    RepairResult,
    collect_test_ids,
)
from devgen.services.codegen.engines.llm.errors import (
    BudgetExceededError,
    LLMError,
    LLMNotConfiguredError,
    LLMOutputError,
    LLMRefusedError,
    LLMUnavailableError,
)
from devgen.services.codegen.engines.llm.protocols import Schema
from devgen.services.codegen.engines.llm.settings import LLMSettings

__all__ = [
    "GENERATOR_NAME",
    "GENERATOR_VERSION",
    "ROLES",
    "Budget",
    "BudgetExceededError",
    "ClientConfig",
    "Documents",
    "Failure",
    "LLMClient",
    "LLMEngine",
    "LLMError",
    "LLMNotConfiguredError",
    "LLMOutputError",
    "LLMProject",
    "LLMRefusedError",
    "LLMSettings",
    "LLMUnavailableError",
    "Meter",
    "Prices",
    "Progress",
    "ProgressCallback",
    "RepairResult",
    "Role",
    "Schema",
    "Usage",
    "analyze_with_llm",
    "collect_test_ids",
    "reporting_progress",
]
