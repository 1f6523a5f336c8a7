"""Model registry: the model names, ModelConfig, ModelOutput, build_model and parameter_count."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Optional

import torch
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
from forgetnet_core.trace import DeltaTrace, SlotTrace

# Keys of ModelOutput.stats for memory models (0-d tensors, detached); transformers return {}.
# Delta-rule models report erase_strength as the forget gate's mean 1 - alpha_t (0 without one),
# and surprise only where they measure it (forgetnet_delta and its ablations).
MEMORY_STATS = ("write_strength", "write_frequency", "erase_strength", "surprise", "memory_norm")


@dataclass
class ModelOutput:
    """What every model's forward returns."""

    answer_logits: torch.Tensor  # (B, T, V) answer head at every position; the benchmark reads [:, -1]
    token_logits: torch.Tensor  # (B, T, V) next-token prediction at every position (trained by the aux loss)
    stats: dict[str, torch.Tensor] = field(default_factory=dict)  # MEMORY_STATS -> 0-d tensor; {} for transformers
    trace: Optional[SlotTrace | DeltaTrace] = None  # per-token internals, only for memory models called with trace=True


def check_input(input_ids: torch.Tensor, position_offset: int, config: ModelConfig) -> None:
    """Raise ValueError unless input_ids is a non-empty (B, T) integer tensor whose positions fit."""
    if not isinstance(input_ids, torch.Tensor) or input_ids.dim() != 2:
        shape = tuple(input_ids.shape) if isinstance(input_ids, torch.Tensor) else type(input_ids).__name__
        raise ValueError(f"input_ids must be a (batch, seq_len) tensor, got {shape}")
    if input_ids.dtype.is_floating_point or input_ids.dtype == torch.bool:
        raise ValueError(f"input_ids must hold integer token ids, got {input_ids.dtype}")
    if input_ids.shape[0] < 1 or input_ids.shape[1] < 1:
        raise ValueError(f"input_ids must be non-empty, got shape {tuple(input_ids.shape)}")
    if not isinstance(position_offset, int) or isinstance(position_offset, bool) or position_offset < 0:
        raise ValueError(f"position_offset must be a non-negative int, got {position_offset!r}")
    seq_len = int(input_ids.shape[1])
    if seq_len + position_offset > config.max_seq_len:
        raise ValueError(
            f"seq_len {seq_len} + position_offset {position_offset} exceeds max_seq_len {config.max_seq_len}"
        )


def _model_classes() -> dict[str, type[nn.Module]]:
    # Imported here, not at module top: the model modules import ModelConfig from this one.
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
    "MEMORY_STATS",
    "MODEL_NAMES",
    "TRANSFORMER_MODELS",
    "ModelConfig",
    "ModelOutput",
    "build_model",
    "check_input",
    "parameter_count",
]
