"""ModelConfig: the sizes every model is built with (torch-free, so the UI and the validation can read it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class ModelConfig:
    """Sizes shared by every model; defaults reproduce the original's 104,512 / 149,248 parameters."""

    vocab_size: int = 128  # token ids 0..127 (SPEC section 1); also the size of the answer head
    d_model: int = 64  # width d of embeddings, attention, memory slots and heads
    memory_slots: int = 16  # S, rows of the memory bank M (memory models only); fixed, so state is O(S d)
    window: int = 8  # w, local attention sees t-w..t (forgetnet family, local_transformer)
    max_seq_len: int = 512  # rows of the learned position embedding; T + position_offset must fit
    n_layers: int = 2  # encoder layers of the Transformer baselines
    n_heads: int = 4  # attention heads of the Transformer baselines (ForgetNet's local attention has 1)
    d_ff: int = 256  # feed-forward width of the Transformer baselines
    dropout: float = 0.1  # tiny/local transformer only; the memory models and conv_transformer have none
    conv: Optional[int] = None  # causal conv kernel over the embeddings (0 = none); None = the model's default

    def __post_init__(self) -> None:
        for name in ("vocab_size", "d_model", "memory_slots", "max_seq_len", "n_layers", "n_heads", "d_ff"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(self.window, int) or isinstance(self.window, bool) or self.window < 0:
            raise ValueError(f"window must be a non-negative integer, got {self.window!r}")
        if not isinstance(self.dropout, (int, float)) or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        if self.conv is not None and (not isinstance(self.conv, int) or isinstance(self.conv, bool) or self.conv < 0):
            raise ValueError(f"conv must be None or a non-negative integer, got {self.conv!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})")



__all__ = ["ModelConfig"]
