"""Delta-rule memory models: delta_net, gated_delta_net, and forgetnet_delta (ForgetNet's thesis on that memory) with its ablations.

Every model here is one block over token embeddings (no position table: the
causal convolution and the recurrence give order), per token t:

    x_t   = TokEmb[x_t], then x = x + CausalConv(x)                 (conv, kernel 4 by default)
    u_t   = LayerNorm(x_t);  q_t, k_t, v_t = W_q u_t, W_k u_t, W_v u_t  split into H heads,
            q_t and k_t L2-normalised per head
    S_t   = alpha_t S_{t-1} + beta_t (v_t - alpha_t S_{t-1} k_t) k_t^T   (per head; delta_rule.py)
    o_t   = S_t q_t;  x'_t = x_t + W_o o_t;  h_t = x'_t + MLP(LayerNorm(x'_t))
    y_t   = W_ans LayerNorm(h_t)  (answer);  z_t = LayerNorm(h_t) TokEmb^T  (next token, tied)

* delta_net: beta_t = sigmoid(W_b u_t) per head, alpha_t = 1.
* gated_delta_net: also a learned forget gate alpha_t = sigmoid(W_a u_t + b_a) per head
  (b_a starts at 3, alpha ~ 0.95: remember by default, learn to forget).
* forgetnet_delta: ForgetNet's front end and surprise-gated writes on this memory.
  The front end is ForgetNet's one-head local attention over t-w..t on the
  convolved embeddings, a_t = x_t + LocalAttn(LayerNorm(x))_t; its own
  next-token head z_t = W_tok a_t gives the causal surprise
  s_t = 1 - softmax(z_{t-1})[x_t] (no gradient; s_0 = 1; trained by the
  auxiliary loss, and these are the model's token_logits). The memory is
  addressed as in delta_net (q, k, v from u_t = LayerNorm(x_t)); the gates
  read the front end, g_t = LayerNorm(a_t):
      beta_t  = sigmoid(W_g [g_t; s_t]) * clamp(s_t, 0.05, 1)   (per head: the write strength)
      alpha_t = sigmoid(W_f g_t + b_f)                          (per head: the forget / erase gate)
  and the block's residual stream starts from a_t (x'_t = a_t + W_o o_t).
  Keys taken from a_t instead mixed each record's neighbours into its key,
  so an overwrite no longer met the old value's key: on changing_facts that
  model reached 0.13 held-out after 600 recall-recipe steps, answering stale
  values as often as right ones, where keys from x_t train like gated_delta_net.
  Ablations: forgetnet_delta_no_surprise (surprise input 0, multiplier 1) and
  forgetnet_delta_no_forget (alpha_t = 1).
  Unlike ForgetNet's gate, this one does not read the memory ([h; r; s] in SPEC
  section 7): a gate that depends on the state makes the recurrence
  non-linear and sequential, while gates computed from the front end keep the
  exact chunked form (and the surprise here is measured by a head that sees
  the local window; on these tasks the tokens the memory could predict are
  the same ones the window predicts, so surprise marks the same tokens).

``forward(ids)`` runs the chunked delta rule (fast); ``reference=True`` (or
``model.fast = False``) and ``trace=True`` run the per-token reference loop,
which the tests compare against (logits and gradients).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forgetnet_core.config import ModelConfig
from forgetnet_core.models.base import ModelOutput, check_input
from forgetnet_core.models.delta_rule import delta_rule_chunked, delta_rule_reference
from forgetnet_core.models.layers import LocalAttention, maybe_conv
from forgetnet_core.trace import DeltaTrace

FORGET_BIAS = 3.0  # sigmoid(3) = 0.95: a fresh forget gate keeps most of the state


class DeltaNet(nn.Module):
    """Conv + one delta-rule memory block (H heads of d/H) + MLP; answer head and tied token head."""

    name = "delta_net"
    has_memory = True
    default_conv = 4
    forget_gate = False  # learned alpha_t (gated_delta_net, forgetnet_delta)
    fast = True  # chunked delta rule; False forces the per-token reference loop

    def __init__(self, config: Optional[ModelConfig] = None) -> None:
        super().__init__()
        cfg = config if config is not None else ModelConfig()
        self.config = cfg
        d, V, H = cfg.d_model, cfg.vocab_size, cfg.n_heads
        self.heads = H
        self.conv_kernel = cfg.conv if cfg.conv is not None else self.default_conv
        self.tok_emb = nn.Embedding(V, d)  # TokEmb, also the tied next-token head
        self.conv = maybe_conv(d, self.conv_kernel)
        self.build_front(cfg)
        self.norm_in = nn.LayerNorm(d)  # u_t = LayerNorm(x_t)
        self.qkv = nn.Linear(d, 3 * d, bias=False)  # [W_q; W_k; W_v]
        self.build_gates(cfg)
        self.out_proj = nn.Linear(d, d)  # W_o
        self.norm_mlp = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, cfg.d_ff), nn.GELU(), nn.Linear(cfg.d_ff, d))
        self.norm_out = nn.LayerNorm(d)
        self.answer_head = nn.Linear(d, V)  # W_ans

    # -------------------------------------------------------------- the pieces subclasses change
    def build_front(self, cfg: ModelConfig) -> None:
        """Modules between the convolved embeddings and the memory block (none here)."""

    def build_gates(self, cfg: ModelConfig) -> None:
        self.beta_proj = nn.Linear(cfg.d_model, self.heads)  # W_b
        if self.forget_gate:
            self.forget_proj = nn.Linear(cfg.d_model, self.heads)  # W_a
            nn.init.constant_(self.forget_proj.bias, FORGET_BIAS)

    def front(self, x: Tensor, input_ids: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None, Tensor | None]:
        """(a, token logits or None, surprise or None, attention weights or None) from x (B, T, d)."""
        return x, None, None, None

    def gates(self, u: Tensor, a: Tensor, surprise: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """beta (B, T, H) in (0, 1) and log alpha (B, T, H) or None, from u = LayerNorm(x) (and the front end a)."""
        beta = torch.sigmoid(self.beta_proj(u))
        log_alpha = F.logsigmoid(self.forget_proj(u)) if self.forget_gate else None
        return beta, log_alpha

    # -------------------------------------------------------------- forward
    def embed(self, input_ids: Tensor) -> Tensor:
        x = self.tok_emb(input_ids)  # (B, T, d)
        return self.conv(x) if self.conv is not None else x

    def split_heads(self, x: Tensor) -> Tensor:
        """(B, T, d) -> (B, H, T, d/H)."""
        B, T, d = x.shape
        return x.view(B, T, self.heads, d // self.heads).transpose(1, 2)

    def forward(
        self, input_ids: Tensor, position_offset: int = 0, trace: bool = False, reference: bool = False
    ) -> ModelOutput:
        """Answer / next-token logits (B, T, V) and memory stats; no position table, so position_offset only is checked."""
        check_input(input_ids, position_offset, self.config)
        input_ids = input_ids.long()
        x = self.embed(input_ids)  # (B, T, d)
        a, front_logits, surprise, attention = self.front(x, input_ids)  # (B, T, d)
        u = self.norm_in(x)  # (B, T, d) the memory is addressed by the token stream itself
        q, k, v = (self.split_heads(p) for p in self.qkv(u).chunk(3, dim=-1))  # (B, H, T, dh) each
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        beta, log_alpha = self.gates(u, a, surprise)  # (B, T, H), (B, T, H) or None
        beta_h = beta.transpose(1, 2)  # (B, H, T)
        la_h = log_alpha.transpose(1, 2) if log_alpha is not None else None
        steps = None
        if trace or reference or not self.fast:
            o, state, steps = self.reference_memory(q, k, v, beta_h, la_h, trace)
        else:
            o, state = delta_rule_chunked(q, k, v, beta_h, la_h)  # (B, H, T, dh), (B, H, dh, dh)
        B, H, T, dh = o.shape
        r = o.transpose(1, 2).reshape(B, T, H * dh)  # (B, T, d) the read
        x2 = a + self.out_proj(r)
        h = self.norm_out(x2 + self.mlp(self.norm_mlp(x2)))  # (B, T, d)
        answer_logits = self.answer_head(h)  # (B, T, V)
        token_logits = front_logits if front_logits is not None else F.linear(h, self.tok_emb.weight)
        with torch.no_grad():
            stats = {
                "write_strength": beta.mean(),
                "write_frequency": (beta.mean(dim=-1) > 0.1).to(beta.dtype).mean(),
                "erase_strength": (1.0 - torch.exp(log_alpha)).mean() if log_alpha is not None else beta.new_zeros(()),
                "memory_norm": state.abs().mean(),
            }
            if surprise is not None:
                stats["surprise"] = surprise.mean()
            stats = {key: value.detach() for key, value in stats.items()}
        out = ModelOutput(answer_logits=answer_logits, token_logits=token_logits, stats=stats)
        if trace:
            out.trace = DeltaTrace(
                **steps,
                query=q.transpose(1, 2).detach(),
                key=k.transpose(1, 2).detach(),
                value=v.transpose(1, 2).detach(),
                beta=beta.detach(),
                alpha=torch.exp(log_alpha).detach() if log_alpha is not None else torch.ones_like(beta),
                surprise=surprise.detach() if surprise is not None else None,
                attention=attention.detach() if attention is not None else None,
                token_logits=token_logits.detach(),
                answer_logits=answer_logits.detach(),
                input_ids=input_ids.detach(),
                position_offset=position_offset,
                model=self.name,
            )
        return out

    def reference_memory(self, q, k, v, beta, log_alpha, trace: bool):
        """The delta rule token by token; with `trace`, every state and what each step wrote and erased."""
        if not trace:
            o, state = delta_rule_reference(q, k, v, beta, log_alpha)
            return o, state, None
        B, H, T, dh = k.shape
        state = k.new_zeros(B, H, dh, dh)
        outs, before, after, written, erased, forgotten = [], [], [], [], [], []
        for t in range(T):
            with torch.no_grad():
                before.append(state.detach())
            alpha = torch.exp(log_alpha[:, :, t])[..., None, None] if log_alpha is not None else 1.0
            decayed = alpha * state  # alpha_t S_{t-1}
            k_t = k[:, :, t]
            old = torch.einsum("bhvk,bhk->bhv", decayed, k_t)  # (B, H, dh)
            b_t = beta[:, :, t, None]
            state = decayed + torch.einsum("bhv,bhk->bhvk", b_t * (v[:, :, t] - old), k_t)
            outs.append(torch.einsum("bhvk,bhk->bhv", state, q[:, :, t]))
            with torch.no_grad():
                after.append(state.detach())
                written.append(torch.einsum("bhv,bhk->bhvk", b_t * v[:, :, t], k_t).detach())  # beta v k^T
                erased.append(torch.einsum("bhv,bhk->bhvk", b_t * old, k_t).detach())  # beta (alpha S k) k^T
                forgotten.append((state.new_ones(()) - alpha) * before[-1] if log_alpha is not None else torch.zeros_like(state))
        steps = {
            "state_before": torch.stack(before, dim=1),  # (B, T, H, dh, dh)
            "state_after": torch.stack(after, dim=1),
            "written": torch.stack(written, dim=1),
            "erased": torch.stack(erased, dim=1),
            "forgotten": torch.stack(forgotten, dim=1),
        }
        return torch.stack(outs, dim=2), state, steps


class GatedDeltaNet(DeltaNet):
    """DeltaNet with a learned forget gate alpha_t = sigmoid(W_a u_t + b_a) per head."""

    name = "gated_delta_net"
    forget_gate = True


class ForgetNetDelta(DeltaNet):
    """ForgetNet's thesis on a delta-rule memory: local-attention front end, surprise-gated writes, a forget gate."""

    name = "forgetnet_delta"
    forget_gate = True
    use_surprise = True  # False: gate multiplier 1 and surprise input 0 (forgetnet_delta_no_surprise)

    def build_front(self, cfg: ModelConfig) -> None:
        self.norm_front = nn.LayerNorm(cfg.d_model)
        self.local = LocalAttention(cfg.d_model, cfg.window)  # ForgetNet's local attention, window w
        self.token_head = nn.Linear(cfg.d_model, cfg.vocab_size)  # W_tok: the surprise head
        self.norm_gate = nn.LayerNorm(cfg.d_model)  # the gates read the front end: LayerNorm(a_t)

    def build_gates(self, cfg: ModelConfig) -> None:
        self.gate_proj = nn.Linear(cfg.d_model + 1, self.heads)  # W_g over [u; s]
        if self.forget_gate:
            self.forget_proj = nn.Linear(cfg.d_model, self.heads)  # W_f
            nn.init.constant_(self.forget_proj.bias, FORGET_BIAS)

    def front(self, x: Tensor, input_ids: Tensor):
        attended, weights = self.local(self.norm_front(x))
        a = x + attended  # (B, T, d)
        z = self.token_head(a)  # (B, T, V) next-token logits from the front end
        with torch.no_grad():  # causal surprise of x_t under step t-1's prediction; s_0 = 1
            s = torch.ones(input_ids.shape, dtype=a.dtype, device=a.device)  # (B, T)
            if input_ids.shape[1] > 1:
                p_prev = torch.softmax(z[:, :-1].detach(), dim=-1)
                s[:, 1:] = 1.0 - p_prev.gather(2, input_ids[:, 1:, None]).squeeze(2)
        return a, z, s, weights

    def gates(self, u: Tensor, a: Tensor, surprise: Tensor | None):
        g = self.norm_gate(a)  # (B, T, d) the local context decides when to write and forget
        s = surprise if surprise is not None else g.new_ones(g.shape[:2])
        if self.use_surprise:
            s_in, mult = s, s.clamp(0.05, 1.0)  # (B, T)
        else:
            s_in, mult = torch.zeros_like(s), torch.ones_like(s)
        beta = torch.sigmoid(self.gate_proj(torch.cat([g, s_in[..., None]], dim=-1))) * mult[..., None]  # (B, T, H)
        log_alpha = F.logsigmoid(self.forget_proj(g)) if self.forget_gate else None
        return beta, log_alpha


class ForgetNetDeltaNoSurprise(ForgetNetDelta):
    """forgetnet_delta whose write gate ignores surprise (input 0, multiplier 1); surprise is still reported."""

    name = "forgetnet_delta_no_surprise"
    use_surprise = False


class ForgetNetDeltaNoForget(ForgetNetDelta):
    """forgetnet_delta without the forget gate: alpha_t = 1 (the delta rule's own overwrite remains)."""

    name = "forgetnet_delta_no_forget"
    forget_gate = False


__all__ = ["DeltaNet", "ForgetNetDelta", "ForgetNetDeltaNoForget", "ForgetNetDeltaNoSurprise", "GatedDeltaNet"]
