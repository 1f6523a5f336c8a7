"""What every model shares: its output (ModelOutput), the memory statistics it reports, and the input check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import torch

from forgetnet_core.config import ModelConfig
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


__all__ = ["MEMORY_STATS", "ModelOutput", "check_input"]
