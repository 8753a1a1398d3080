"""Sniffing structured input: a requirement that is already a YAML or JSON spec."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml


def structured_spec(text: str) -> dict[str, Any] | None:
    """The mapping a JSON/YAML spec holds, or None if ``text`` is not one."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None
    if not re.search(r"^(spec_version|entities|name)\s*:", stripped, re.MULTILINE):
        return None
    try:
        data = yaml.safe_load(stripped)
    except yaml.YAMLError:
        return None
    if isinstance(data, dict) and ("entities" in data or "spec_version" in data):
        return data
    return None
