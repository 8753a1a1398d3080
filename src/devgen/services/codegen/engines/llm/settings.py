"""How the LLM engine reaches its model: provider, endpoint, key, prices, limits and budgets.

Read from ``DEVGEN_LLM_*`` environment variables when the codegen service starts. With no
``DEVGEN_LLM_BASE_URL`` the LLM engine is simply not offered; the template engine works
without it.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from devgen.services.codegen.engines.llm.documents import ROLES, Role
from devgen.services.codegen.engines.llm.protocols import is_reasoning_model

Provider = Literal["openai", "anthropic"]
Switch = Literal["auto", "on", "off"]


class LLMSettings(BaseSettings):
    """One chat model behind an OpenAI-compatible or Anthropic Messages endpoint."""

    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )

    llm_provider: Provider = Field(
        default="openai",
        description="`openai` for any OpenAI-compatible chat-completions endpoint "
        "(OpenAI, vLLM, Ollama, llama.cpp server, LM Studio); `anthropic` for the Messages API.",
    )
    llm_base_url: str = Field(
        default="",
        description="e.g. https://api.openai.com/v1, http://localhost:11434/v1 (Ollama), "
        "https://api.anthropic.com; empty turns the LLM engine off.",
    )
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_price_input_per_1k: float = Field(default=0.0, ge=0, description="USD per 1k input tokens")
    llm_price_output_per_1k: float = Field(
        default=0.0, ge=0, description="USD per 1k output tokens"
    )
    llm_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    llm_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    llm_max_retries: int = Field(default=3, ge=0, le=10, description="HTTP retries (429, 5xx)")
    llm_output_retries: int = Field(
        default=2, ge=0, le=10, description="re-asks after malformed output"
    )
    llm_retry_after_max_seconds: float = Field(default=60.0, ge=0, le=3600)
    llm_backoff_seconds: float = Field(default=0.5, ge=0, le=60)
    llm_max_output_tokens: int = Field(default=4096, ge=256, le=200_000)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    # A 10-entity project is ~40 files of ~15k prompt tokens each: the default lets one
    # generation finish; the maxima stop a client from asking for an unbounded one.
    llm_budget_usd: float = Field(default=5.0, ge=0, description="default cost budget a request")
    llm_budget_tokens: int = Field(default=1_000_000, ge=1, description="default token budget")
    llm_max_budget_usd: float = Field(default=50.0, ge=0, description="largest budget allowed")
    llm_max_budget_tokens: int = Field(default=10_000_000, ge=1)
    llm_breaker_failures: int = Field(default=5, ge=1)
    llm_breaker_reset_seconds: float = Field(default=30.0, gt=0)
    llm_max_plan_files: int = Field(default=40, ge=1, le=500)
    llm_context_chars: int = Field(default=60_000, ge=1000, le=2_000_000)
    llm_anthropic_version: str = "2023-06-01"
    llm_stream: bool = Field(
        default=False,
        description="Stream answers (server-sent events): progress is reported while the "
        "model writes, and a stalled answer is cut after DEVGEN_LLM_STREAM_IDLE_SECONDS.",
    )
    llm_stream_idle_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Longest silence (pings do not count) inside a streamed answer.",
    )
    llm_reasoning: Switch = Field(
        default="auto",
        description="OpenAI reasoning-model request form (max_completion_tokens, no "
        "temperature): `auto` by the model's name (o1, o3, o4-mini, gpt-5...), `on`, `off`.",
    )
    llm_structured_output: Switch = Field(
        default="auto",
        description="Ask for JSON through the endpoint's structured output (OpenAI "
        "response_format json_schema, Anthropic tool use): `auto` for Anthropic and "
        "api.openai.com, `on`, `off`; refused by the endpoint, the fence parser is used.",
    )
    llm_max_continuations: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Times an answer cut at the output limit is continued (the partial "
        "answer sent back) before it is asked again, shorter.",
    )

    llm_roles: str = Field(
        default="",
        description="The roles that leave documents, comma-separated: `product_manager` "
        "(product brief), `architect` (design), `reviewer` (review rounds), or `all`; empty "
        "for none. Each costs model calls, charged to the request's budget.",
    )
    llm_review_rounds: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Engineer rounds a reviewer's `change` verdict may ask for; each is "
        "reviewed again.",
    )

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> LLMSettings:
        if self.llm_base_url:
            if not self.llm_base_url.startswith(("http://", "https://")):
                raise ValueError("DEVGEN_LLM_BASE_URL must be an http(s) URL")
            if not self.llm_model:
                raise ValueError("DEVGEN_LLM_MODEL is required when DEVGEN_LLM_BASE_URL is set")
        if self.llm_budget_usd > self.llm_max_budget_usd:
            raise ValueError("DEVGEN_LLM_BUDGET_USD is above DEVGEN_LLM_MAX_BUDGET_USD")
        if self.llm_budget_tokens > self.llm_max_budget_tokens:
            raise ValueError("DEVGEN_LLM_BUDGET_TOKENS is above DEVGEN_LLM_MAX_BUDGET_TOKENS")
        self.roles  # noqa: B018 - fails fast on an unknown role
        return self

    @property
    def roles(self) -> tuple[Role, ...]:
        """The roles ``DEVGEN_LLM_ROLES`` names, in the order they work."""
        names = {n.strip() for n in self.llm_roles.split(",") if n.strip()}
        if names == {"all"}:
            return ROLES
        unknown = sorted(names - set(ROLES))
        if unknown:
            raise ValueError(
                f"DEVGEN_LLM_ROLES: unknown role(s) {', '.join(unknown)}; known: "
                f"{', '.join(ROLES)}, all"
            )
        return tuple(r for r in ROLES if r in names)

    @property
    def enabled(self) -> bool:
        """Whether an endpoint is configured."""
        return bool(self.llm_base_url)

    @property
    def reasoning(self) -> bool:
        """Whether requests take the OpenAI reasoning-model form."""
        if self.llm_provider != "openai" or self.llm_reasoning == "off":
            return False
        return self.llm_reasoning == "on" or is_reasoning_model(self.llm_model)

    @property
    def structured_output(self) -> bool:
        """Whether JSON answers are asked for through the endpoint's structured output."""
        if self.llm_structured_output != "auto":
            return self.llm_structured_output == "on"
        if self.llm_provider == "anthropic":
            return True
        # Local OpenAI-compatible servers differ (docs/services/codegen.md): opt in.
        return urlsplit(self.llm_base_url).hostname == "api.openai.com"
