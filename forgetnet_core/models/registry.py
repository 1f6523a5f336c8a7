"""Model registry: every model class by its name, build_model and parameter_count."""

from __future__ import annotations

from dataclasses import fields, replace

from torch import nn

# Registry order: the original seven (SPEC section 3), then the v3 models (SPEC section 7).
# Defined in config.py, which imports no torch (the TUI validates against it).
from forgetnet_core.config import (  # noqa: E402
    DELTA_MODELS,  # delta-rule memories: a (dh x dh) state per head; trace=True gives a DeltaTrace
    MEMORY_MODELS,  # every model with a recurrent memory state (SLOT_MODELS + DELTA_MODELS)
    MODEL_NAMES,
    ORIGINAL_MODELS,
    SLOT_MODELS,  # the ForgetNet family: an S x d slot memory bank; trace=True gives a SlotTrace
    TRANSFORMER_MODELS,  # baselines: no memory, empty stats, no trace
    ModelConfig,  # the sizes every model is built with (torch-free, in config/model.py)
)
from forgetnet_core.models.baselines import (
    ConvTransformer,
    LocalTransformer,
    TinyTransformer,
)
from forgetnet_core.models.delta import (
    DeltaNet,
    ForgetNetDelta,
    ForgetNetDeltaNoForget,
    ForgetNetDeltaNoSurprise,
    GatedDeltaNet,
)
from forgetnet_core.models.forgetnet import (
    FifoMemory,
    ForgetNet,
    NoForget,
    NoSurprise,
    RandomWrite,
)


def _model_classes() -> dict[str, type[nn.Module]]:
    classes = (
        ForgetNet, NoForget, NoSurprise, RandomWrite, FifoMemory, TinyTransformer, LocalTransformer,
        ConvTransformer, DeltaNet, GatedDeltaNet, ForgetNetDelta, ForgetNetDeltaNoSurprise, ForgetNetDeltaNoForget,
    )
    return {cls.name: cls for cls in classes}


def build_model(name: str, **overrides) -> nn.Module:
    """Build model ``name`` with ``ModelConfig(**overrides)``; seed torch first for reproducible weights."""
    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r} (choose from {', '.join(MODEL_NAMES)})")
    known = {f.name for f in fields(ModelConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"unknown model option(s) {', '.join(unknown)} (choose from {', '.join(sorted(known))})")
    config = replace(ModelConfig(), **overrides)
    return _model_classes()[name](config)


def parameter_count(model: nn.Module) -> int:
    """Number of parameters (tied weights once, unused ablation weights included)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "DELTA_MODELS",
    "MEMORY_MODELS",
    "ORIGINAL_MODELS",
    "SLOT_MODELS",
    "MODEL_NAMES",
    "TRANSFORMER_MODELS",
    "ModelConfig",
    "build_model",
    "parameter_count",
]
