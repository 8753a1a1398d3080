"""Who may call codegen: any signed-in caller reads the catalog; work needs ``write``."""

from __future__ import annotations

from devgen.kit.auth import RequireScope

Writer = RequireScope("write")
"""A member (or stronger) of the tenant, or an API key with the ``write`` scope."""
