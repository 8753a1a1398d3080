"""The spec's JSON Schema, generated from the models (served at ``/codegen/spec-schema``)."""

from __future__ import annotations

from typing import Any

from devgen.services.codegen.spec.models import SPEC_VERSION, ServiceSpec

SCHEMA_ID = f"https://devgen.dev/schemas/spec/v{SPEC_VERSION}.json"


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema of a spec as written by hand (the input form: ``from``, ``auth``)."""
    schema = ServiceSpec.model_json_schema(mode="validation")
    schema["$id"] = SCHEMA_ID
    return schema
