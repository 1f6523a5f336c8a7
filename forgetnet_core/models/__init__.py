"""ForgetNet memory models and Transformer baselines, built through one registry."""

from forgetnet_core.models.registry import (
    MEMORY_MODELS,
    MEMORY_STATS,
    MODEL_NAMES,
    TRANSFORMER_MODELS,
    ModelConfig,
    ModelOutput,
    build_model,
    parameter_count,
)

__all__ = [
    "MEMORY_MODELS",
    "MEMORY_STATS",
    "MODEL_NAMES",
    "TRANSFORMER_MODELS",
    "ModelConfig",
    "ModelOutput",
    "build_model",
    "parameter_count",
]
