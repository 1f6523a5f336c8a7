"""ForgetNet memory models, delta-rule memories and Transformer baselines, built through one registry."""

from forgetnet_core.config import ModelConfig
from forgetnet_core.models.base import MEMORY_STATS, ModelOutput
from forgetnet_core.models.registry import (
    DELTA_MODELS,
    MEMORY_MODELS,
    MODEL_NAMES,
    ORIGINAL_MODELS,
    SLOT_MODELS,
    TRANSFORMER_MODELS,
    build_model,
    parameter_count,
)

__all__ = [
    "DELTA_MODELS",
    "MEMORY_MODELS",
    "ORIGINAL_MODELS",
    "SLOT_MODELS",
    "MEMORY_STATS",
    "MODEL_NAMES",
    "TRANSFORMER_MODELS",
    "ModelConfig",
    "ModelOutput",
    "build_model",
    "parameter_count",
]
