"""The hybrid engine: template generation, then model-written extensions for what is left.

See :mod:`.engine` for the flow and :mod:`.protection` for what the model may not touch.
"""

from devgen.services.codegen.engines.hybrid.engine import (
    GENERATOR_NAME,
    GENERATOR_VERSION,
    Extension,
    HybridEngine,
    HybridProject,
    HybridRepair,
)
from devgen.services.codegen.engines.hybrid.protection import Refusal, content_hash, hashes

__all__ = [
    "GENERATOR_NAME",
    "GENERATOR_VERSION",
    "Extension",
    "HybridEngine",
    "HybridProject",
    "HybridRepair",
    "Refusal",
    "content_hash",
    "hashes",
]
