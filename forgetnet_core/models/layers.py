"""Small layers shared by several models: the short causal convolution and one-head local causal attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class CausalConv(nn.Module):
    """x + depthwise causal convolution of x over time, kernel K: position t sees x_{t-K+1..t}.

    Each channel c gets ``y_t[c] = x_t[c] + b[c] + sum_j w[c, j] x_{t-K+1+j}[c]``
    (positions before 0 count as zeros). It hands every position the few
    tokens before it ("token shift"), the circuit a key -> value binding needs:
    at a value token the model sees its key without searching for it.
    Parameters: d * K weights and d biases.
    """

    def __init__(self, d: int, kernel: int) -> None:
        super().__init__()
        if kernel < 1:
            raise ValueError(f"conv kernel must be at least 1, got {kernel}")
        self.kernel = kernel
        self.conv = nn.Conv1d(d, d, kernel, groups=d)  # weight (d, 1, K), bias (d,)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, T, d) -> (B, T, d)."""
        padded = F.pad(x.transpose(1, 2), (self.kernel - 1, 0))  # (B, d, K-1+T), zeros before t = 0
        return x + self.conv(padded).transpose(1, 2)


def maybe_conv(d: int, kernel: int) -> CausalConv | None:
    """A CausalConv, or None for kernel 0 (no parameters, so the original models keep their counts)."""
    return CausalConv(d, kernel) if kernel else None


class LocalAttention(nn.Module):
    """One-head causal attention of each position over itself and the `window` positions before it.

    ``a_t = W_o softmax(W_q x_t . (W_k X_win)^T / sqrt(d)) W_v X_win``, X_win = x_{max(0,t-w)..t}.
    Returns a (B, T, d) and the weights (B, T, w+1), entry j for position t-w+j (0 before t = 0).
    """

    def __init__(self, d: int, window: int) -> None:
        super().__init__()
        self.window = window
        self.q = nn.Linear(d, d)  # W_q
        self.k = nn.Linear(d, d)  # W_k
        self.v = nn.Linear(d, d)  # W_v
        self.o = nn.Linear(d, d)  # W_o

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        _, T, d = x.shape
        w = self.window
        q = self.q(x)  # (B, T, d)
        k = F.pad(self.k(x), (0, 0, w, 0)).unfold(1, w + 1, 1).transpose(2, 3)  # (B, T, w+1, d)
        v = F.pad(self.v(x), (0, 0, w, 0)).unfold(1, w + 1, 1).transpose(2, 3)  # (B, T, w+1, d)
        scores = torch.einsum("btd,btjd->btj", q, k) / math.sqrt(d)  # (B, T, w+1)
        offsets = torch.arange(w + 1, device=x.device) - w  # (w+1,) = -w..0
        before_start = (torch.arange(T, device=x.device)[:, None] + offsets[None, :]) < 0  # (T, w+1)
        weights = torch.softmax(scores.masked_fill(before_start, float("-inf")), dim=-1)  # (B, T, w+1)
        return self.o(torch.einsum("btj,btjd->btd", weights, v)), weights


__all__ = ["CausalConv", "LocalAttention", "maybe_conv"]
