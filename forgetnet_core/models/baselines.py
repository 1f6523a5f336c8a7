"""Transformer baselines without memory: tiny_transformer (causal), local_transformer (window t-w..t), conv_transformer (pre-norm + conv)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forgetnet_core.config import ModelConfig
from forgetnet_core.models.base import ModelOutput, check_input
from forgetnet_core.models.layers import maybe_conv


class TinyTransformer(nn.Module):
    """TokEmb + PosEmb, n_layers post-norm encoder layers with a causal mask, answer and token heads.

    Layers are ``nn.TransformerEncoderLayer(d_model, n_heads, d_ff, dropout,
    activation="gelu", batch_first=True, norm_first=False)``. The answer head is
    ``Linear(d_model, vocab_size)`` with bias; the next-token head is TIED to the
    token embedding (``token_logits = h @ TokEmb.weight.T``, no bias), which is
    what gives the original's 149,248 parameters at defaults (40,960 embeddings
    + 2 x 49,984 layers + 8,320 answer head). No final LayerNorm (post-norm
    layers end with one). Call ``model.eval()`` to turn dropout off.

    There is no memory: ``stats`` is ``{}``, and ``forward(..., trace=True)``
    is accepted but returns ``trace=None`` so callers can treat all models alike.
    """

    name = "tiny_transformer"
    has_memory = False
    default_conv = 0  # the original architecture; ModelConfig.conv (--conv K) adds a causal convolution
    pre_norm = False  # post-norm layers, as the original
    final_norm = False
    position_table = True  # learned absolute position embeddings (PosEmb)

    def __init__(self, config: Optional[ModelConfig] = None) -> None:
        super().__init__()
        cfg = config if config is not None else ModelConfig()
        self.config = cfg
        self.conv_kernel = cfg.conv if cfg.conv is not None else self.default_conv
        dropout = 0.0 if self.pre_norm else cfg.dropout
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)  # TokEmb, also the next-token head
        self.pos_emb = nn.Embedding(cfg.max_seq_len, cfg.d_model) if self.position_table else None  # PosEmb
        self.conv = maybe_conv(cfg.d_model, self.conv_kernel)  # None at kernel 0: no parameters
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                cfg.d_model,
                cfg.n_heads,
                dim_feedforward=cfg.d_ff,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=self.pre_norm,
            )
            for _ in range(cfg.n_layers)
        )
        self.norm_out = nn.LayerNorm(cfg.d_model) if self.final_norm else None
        self.answer_head = nn.Linear(cfg.d_model, cfg.vocab_size)  # W_ans

    def attention_mask(self, seq_len: int, device: torch.device) -> Tensor:
        """(T, T) bool, True where query i may NOT attend key j: here every j > i."""
        i = torch.arange(seq_len, device=device)
        return i[None, :] > i[:, None]

    def forward(self, input_ids: Tensor, position_offset: int = 0, trace: bool = False) -> ModelOutput:
        """Answer and next-token logits (B, T, V) for ``input_ids`` (B, T); ``trace`` is ignored (None)."""
        check_input(input_ids, position_offset, self.config)
        T = input_ids.shape[1]
        x = self.tok_emb(input_ids)  # (B, T, d)
        if self.pos_emb is not None:
            positions = torch.arange(position_offset, position_offset + T, device=input_ids.device)  # (T,)
            x = x + self.pos_emb(positions)[None]
        if self.conv is not None:
            x = self.conv(x)  # each position also sees the conv_kernel - 1 tokens before it
        mask = self.attention_mask(T, input_ids.device)  # (T, T)
        for layer in self.layers:
            x = layer(x, src_mask=mask)  # (B, T, d)
        if self.norm_out is not None:
            x = self.norm_out(x)
        answer_logits = self.answer_head(x)  # (B, T, V)
        token_logits = F.linear(x, self.tok_emb.weight)  # (B, T, V), tied head
        return ModelOutput(answer_logits=answer_logits, token_logits=token_logits, stats={}, trace=None)


class LocalTransformer(TinyTransformer):
    """TinyTransformer whose every layer lets position t attend only t-w..t (w = config.window).

    With n_layers layers the receptive field is t - n_layers * w .. t.
    """

    name = "local_transformer"

    def attention_mask(self, seq_len: int, device: torch.device) -> Tensor:
        """(T, T) bool, True where key j is in the future or more than w tokens back."""
        i = torch.arange(seq_len, device=device)
        distance = i[:, None] - i[None, :]  # (T, T) query minus key
        return (distance < 0) | (distance > self.config.window)


class ConvTransformer(TinyTransformer):
    """The modern attention baseline: token embeddings, a kernel-4 causal convolution, 2 pre-norm causal layers, final LayerNorm.

    4 heads, feed-forward 256, GELU, no dropout; answer head and tied token
    head, as tiny_transformer. The convolution hands each position the tokens
    just before it, so binding a value to its key needs no search. No position
    table: the causal mask and the convolution give order (measured with the
    recall recipe on associative_lookup: with a learned table the key -> value
    circuit appeared after ~850 steps, without it after ~400, and 0.97 at 1,000
    steps instead of 0.11), and no position is ever untrained at 3x the length.
    """

    name = "conv_transformer"
    default_conv = 4
    pre_norm = True
    final_norm = True
    position_table = False


__all__ = ["ConvTransformer", "LocalTransformer", "TinyTransformer"]
