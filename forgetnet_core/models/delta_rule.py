"""The (gated) delta rule as pure tensor functions: a per-token reference and an exact chunked form.

Per head, with a state S (dv x dk), L2-normalised key k_t and query q_t,
value v_t, write strength beta_t in (0, 1) and forget gate alpha_t in (0, 1]
(log_alpha_t = log alpha_t <= 0; None means alpha = 1, the plain delta rule):

    S_t = alpha_t S_{t-1} + beta_t (v_t - alpha_t S_{t-1} k_t) k_t^T
        = alpha_t S_{t-1} (I - beta_t k_t k_t^T) + beta_t v_t k_t^T
    o_t = S_t q_t                       (read after the write, as DeltaNet)

Both functions take ``q, k`` (B, H, T, dk), ``v`` (B, H, T, dv), ``beta`` and
``log_alpha`` (B, H, T), an optional ``initial_state`` (B, H, dv, dk), and
return ``o`` (B, H, T, dv) and the final state (B, H, dv, dk): the state is a
fixed dv x dk per head whatever T is.

The chunked form (the WY / UT-transform representation of DeltaNet and Gated
DeltaNet, Yang et al. 2024) processes C tokens at a time. Inside a chunk,
with gamma_t = alpha_1 ... alpha_t (cumulative, from the chunk start) and
S_0 the state before the chunk, write S_t = gamma_t S_0 + sum_{i<=t}
(gamma_t / gamma_i) u_i k_i^T. The pseudo-values u_t solve the unit lower
triangular system

    u_t + beta_t sum_{i<t} (gamma_t / gamma_i) (k_t . k_i) u_i = beta_t (v_t - gamma_t S_0 k_t)

so U = (I + A)^-1 diag(beta) (V - diag(gamma) K S_0^T) with one triangular
solve, and then O = diag(gamma) Q S_0^T + (Q K^T * Gamma) U (Gamma the
inclusive lower-triangular matrix of gamma_t / gamma_i) and
S_C = gamma_C S_0 + U^T diag(gamma_C / gamma) K. Every step is a batched
matmul, so autograd differentiates it directly; ``tests/core/test_delta.py``
checks outputs and gradients against the reference loop.
"""

from __future__ import annotations

import torch
from torch import Tensor

CHUNK = 64  # tokens per chunk: at T <= 64 (the default tasks) the whole sequence is one chunk


def delta_rule_reference(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor, log_alpha: Tensor | None = None, initial_state: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """The recurrence token by token: clear, slow, the oracle for the chunked form."""
    B, H, T, dk = k.shape
    dv = v.shape[-1]
    state = initial_state if initial_state is not None else k.new_zeros(B, H, dv, dk)  # (B, H, dv, dk)
    outs = []
    for t in range(T):
        if log_alpha is not None:
            state = torch.exp(log_alpha[:, :, t])[..., None, None] * state  # alpha_t S_{t-1}
        k_t = k[:, :, t]  # (B, H, dk)
        old = torch.einsum("bhvk,bhk->bhv", state, k_t)  # (B, H, dv) what the memory holds at k_t
        new = beta[:, :, t, None] * (v[:, :, t] - old)  # (B, H, dv) the correction written
        state = state + torch.einsum("bhv,bhk->bhvk", new, k_t)  # S_t
        outs.append(torch.einsum("bhvk,bhk->bhv", state, q[:, :, t]))  # o_t = S_t q_t
    return torch.stack(outs, dim=2), state


def delta_rule_chunked(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    beta: Tensor,
    log_alpha: Tensor | None = None,
    initial_state: Tensor | None = None,
    chunk: int = CHUNK,
) -> tuple[Tensor, Tensor]:
    """The same function, C tokens at a time with matmuls and one triangular solve per chunk."""
    B, H, T, dk = k.shape
    dv = v.shape[-1]
    state = initial_state if initial_state is not None else k.new_zeros(B, H, dv, dk)  # (B, H, dv, dk)
    outs = []
    for start in range(0, T, chunk):
        end = min(T, start + chunk)
        C = end - start
        qc, kc, vc, bc = q[:, :, start:end], k[:, :, start:end], v[:, :, start:end], beta[:, :, start:end]
        lower = torch.ones(C, C, dtype=torch.bool, device=k.device).tril()  # i <= t
        if log_alpha is None:
            gamma = None
            decay = lower.to(k.dtype)  # (C, C) Gamma = 1 on and below the diagonal
        else:
            lg = torch.cumsum(log_alpha[:, :, start:end], dim=-1)  # (B, H, C) log gamma_t
            gamma = torch.exp(lg)  # (B, H, C)
            decay = torch.exp((lg[..., :, None] - lg[..., None, :]).masked_fill(~lower, float("-inf")))  # (B, H, C, C)
        kk = kc @ kc.transpose(-1, -2)  # (B, H, C, C) k_t . k_i
        a = (bc[..., None] * kk * decay).tril(-1)  # (B, H, C, C) strictly lower: beta_t gamma_t/gamma_i k_t.k_i
        eye = torch.eye(C, dtype=k.dtype, device=k.device)
        old = kc @ state.transpose(-1, -2)  # (B, H, C, dv) S_0 k_t
        if gamma is not None:
            old = gamma[..., None] * old
        rhs = bc[..., None] * (vc - old)  # (B, H, C, dv)
        u = torch.linalg.solve_triangular(eye + a, rhs, upper=False, unitriangular=True)  # (B, H, C, dv)
        read0 = qc @ state.transpose(-1, -2)  # (B, H, C, dv) S_0 q_t
        if gamma is not None:
            read0 = gamma[..., None] * read0
        outs.append(read0 + ((qc @ kc.transpose(-1, -2)) * decay) @ u)  # (B, H, C, dv)
        if gamma is None:
            state = state + u.transpose(-1, -2) @ kc  # (B, H, dv, dk)
        else:
            tail = torch.exp(lg[..., -1:] - lg)  # (B, H, C) gamma_C / gamma_i
            state = gamma[..., -1, None, None] * state + (u * tail[..., None]).transpose(-1, -2) @ kc
    return torch.cat(outs, dim=2), state


__all__ = ["CHUNK", "delta_rule_chunked", "delta_rule_reference"]
