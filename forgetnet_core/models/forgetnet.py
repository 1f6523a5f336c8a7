"""ForgetNet (local attention + surprise-gated slot memory) and its four ablations: per-token reference loop and fast path.

The per-token loop here is the reference implementation of SPEC section 3:
clarity over speed. ``forward`` uses the fast path in ``fast.py`` (same
function, tested equal within 1e-5) unless ``trace=True``, ``reference=True``
or ``model.fast = False``. On CUDA the fast path's recurrence is the fused Triton kernel
(``triton_recurrence.py``) when Triton can run there (``model.kernel = False`` keeps the torch one). Per token t
(batch implicit):

    e_t   = TokEmb[x_t] + PosEmb[t + position_offset]
    a_t   = W_o softmax(W_q e_t . (W_k E_win)^T / sqrt(d)) W_v E_win,  E_win = e_{max(0,t-w)..t}
    beta  = softmax((W_mq a_t) M_t^T / sqrt(d));  r_t = beta M_t
    h_t   = LayerNorm(a_t + W_r r_t)
    y_t   = W_ans h_t   (answer)          z_t = W_tok h_t   (next token)
    s_t   = 1 - softmax(z_{t-1})[x_t]  (no gradient),  s_0 = 1
    g_t   = sigmoid(W_g [h_t; r_t; s_t]) * clamp(s_t, 0.05, 1)
    v_t   = tanh(W_w h_t);  eps_t = sigmoid(W_e h_t)
    alpha = softmax((W_wq h_t) M_t^T / sqrt(d))
    M_{t+1}[i] = tanh(M_t[i] * (1 - alpha_i g_t eps_t) + alpha_i g_t v_t)

Ablations (same parameters; the ones they do not use still exist, and get no gradient):
no_forget eps_t = 0; no_surprise gate multiplier 1 and surprise input 0;
random_write alpha_t = one_hot((x_t + 17 t) mod S); fifo_memory alpha_t = one_hot(t mod S),
where t is the 0-based index in the sequence (position_offset not included).
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from forgetnet_core.config import ModelConfig
from forgetnet_core.models.base import ModelOutput, check_input
from forgetnet_core.models.fast import (
    Plan,
    blocked_local_attention,
    fast_path_available,
    slot_recurrence,
)
from forgetnet_core.models.layers import maybe_conv
from forgetnet_core.models.triton_recurrence import (
    fused_slot_recurrence,
    kernel_available,
)
from forgetnet_core.trace import SlotTrace


class ForgetNet(nn.Module):
    """Local causal attention plus a bounded S x d memory written through learned, surprise-gated gates.

    Inputs ``(B, T)`` token ids; ``forward`` returns answer and next-token logits
    at every position and the stats ``write_strength`` (mean g),
    ``write_frequency`` (fraction of tokens whose mean gate > 0.1),
    ``erase_strength`` (mean g * eps), ``surprise`` (mean s) and ``memory_norm``
    (mean |M_T|), all 0-d detached tensors.

    Initialisation: PyTorch defaults (Embedding N(0, 1), Linear uniform, LayerNorm
    1/0) except M_0 ~ N(0, 0.02^2). No dropout. The surprise uses the token head's
    previous prediction; it is computed without gradient, so the answer loss never
    reaches W_tok and only the auxiliary next-token loss trains it.
    """

    name = "forgetnet"
    has_memory = True
    use_erase = True  # False: eps_t = 0 (no_forget)
    use_surprise = True  # False: gate multiplier 1 and surprise input 0 (no_surprise)
    content_write = True  # False: alpha_t is a fixed one-hot slot from write_slots (random_write, fifo_memory)
    fast = True  # forward without trace uses the fast path (models/fast.py); False forces the reference loop
    kernel = True  # on CUDA the fast path's recurrence is the fused Triton kernel (triton_recurrence.py) if it can run
    default_conv = 0  # SPEC section 3 has none; ModelConfig.conv (--conv K) adds e_t = e_t + conv(e)_t

    def __init__(self, config: Optional[ModelConfig] = None) -> None:
        super().__init__()
        cfg = config if config is not None else ModelConfig()
        self.config = cfg
        d, S, V = cfg.d_model, cfg.memory_slots, cfg.vocab_size
        self.conv_kernel = cfg.conv if cfg.conv is not None else self.default_conv
        self.tok_emb = nn.Embedding(V, d)  # TokEmb
        self.pos_emb = nn.Embedding(cfg.max_seq_len, d)  # PosEmb
        self.conv = maybe_conv(d, self.conv_kernel)  # None at kernel 0 (no parameters)
        self.memory_init = nn.Parameter(torch.empty(S, d))  # M_0 (S, d)
        nn.init.normal_(self.memory_init, mean=0.0, std=0.02)
        self.attn_q = nn.Linear(d, d)  # W_q
        self.attn_k = nn.Linear(d, d)  # W_k
        self.attn_v = nn.Linear(d, d)  # W_v
        self.attn_o = nn.Linear(d, d)  # W_o
        self.read_query = nn.Linear(d, d)  # W_mq
        self.read_proj = nn.Linear(d, d)  # W_r
        self.norm = nn.LayerNorm(d)  # LayerNorm of h_t
        self.answer_head = nn.Linear(d, V)  # W_ans
        self.token_head = nn.Linear(d, V)  # W_tok
        self.gate_proj = nn.Linear(2 * d + 1, d)  # W_g over [h; r; s]
        self.write_proj = nn.Linear(d, d)  # W_w
        self.erase_proj = nn.Linear(d, d)  # W_e
        self.write_query = nn.Linear(d, d)  # W_wq

    # ----------------------------------------------------------------- pieces
    def embed(self, input_ids: Tensor, position_offset: int = 0) -> Tensor:
        """e_t = TokEmb[x_t] + PosEmb[t + offset], then the optional causal convolution; (B, T, d)."""
        T = input_ids.shape[1]
        positions = torch.arange(position_offset, position_offset + T, device=input_ids.device)  # (T,)
        e = self.tok_emb(input_ids) + self.pos_emb(positions)[None]
        return self.conv(e) if self.conv is not None else e

    def local_attention(self, e: Tensor) -> tuple[Tensor, Tensor]:
        """One-head causal attention of each e_t over e_{t-w..t}: returns a (B, T, d) and weights (B, T, w+1).

        It does not depend on the memory, so all positions are computed at once;
        weight j of row t belongs to position t-w+j and is 0 where that is < 0.
        """
        _, T, d = e.shape
        w = self.config.window
        q = self.attn_q(e)  # (B, T, d)
        k = F.pad(self.attn_k(e), (0, 0, w, 0))  # (B, w+T, d), w zero rows before position 0
        v = F.pad(self.attn_v(e), (0, 0, w, 0))  # (B, w+T, d)
        k_win = k.unfold(1, w + 1, 1).transpose(2, 3)  # (B, T, w+1, d), row j = position t-w+j
        v_win = v.unfold(1, w + 1, 1).transpose(2, 3)  # (B, T, w+1, d)
        scores = torch.einsum("btd,btjd->btj", q, k_win) / math.sqrt(d)  # (B, T, w+1)
        offsets = torch.arange(w + 1, device=e.device) - w  # (w+1,) = -w..0
        before_start = (torch.arange(T, device=e.device)[:, None] + offsets[None, :]) < 0  # (T, w+1)
        weights = torch.softmax(scores.masked_fill(before_start, float("-inf")), dim=-1)  # (B, T, w+1)
        a = self.attn_o(torch.einsum("btj,btjd->btd", weights, v_win))  # (B, T, d)
        return a, weights

    def gate(self, h: Tensor, r: Tensor, s: Tensor) -> Tensor:
        """g_t = sigmoid(W_g [h; r; s]) * clamp(s, 0.05, 1); (B, d)."""
        if self.use_surprise:
            s_in, mult = s, s.clamp(0.05, 1.0)  # (B,), (B,)
        else:
            s_in, mult = torch.zeros_like(s), torch.ones_like(s)
        logits = self.gate_proj(torch.cat([h, r, s_in[:, None]], dim=-1))  # (B, d)
        return torch.sigmoid(logits) * mult[:, None]

    def erase(self, h: Tensor) -> Tensor:
        """eps_t = sigmoid(W_e h); (B, d)."""
        if not self.use_erase:
            return torch.zeros_like(h)
        return torch.sigmoid(self.erase_proj(h))

    def write_weights(self, h: Tensor, memory: Tensor, x_t: Tensor, t: int) -> Tensor:
        """alpha_t = softmax((W_wq h) M_t^T / sqrt(d)); (B, S). Ablations override this."""
        scores = torch.einsum("bd,bsd->bs", self.write_query(h), memory)  # (B, S)
        return torch.softmax(scores / math.sqrt(self.config.d_model), dim=-1)

    def write_slots(self, input_ids: Tensor) -> Tensor:
        """(B, T) slot index written at every step, for models with a fixed one-hot alpha_t (fast path)."""
        raise NotImplementedError(f"{self.name} writes by content, not to fixed slots")

    @staticmethod
    def update(memory: Tensor, alpha: Tensor, g: Tensor, eps: Tensor, v: Tensor) -> Tensor:
        """M_{t+1}[i] = tanh(M_t[i] * (1 - alpha_i g eps) + alpha_i g v); (B, S, d)."""
        ag = alpha[:, :, None] * g[:, None, :]  # (B, S, d)
        return torch.tanh(memory * (1.0 - ag * eps[:, None, :]) + ag * v[:, None, :])

    # ---------------------------------------------------------------- forward
    def forward(
        self, input_ids: Tensor, position_offset: int = 0, trace: bool = False, reference: bool = False
    ) -> ModelOutput:
        """Answer/next-token logits and stats for ``input_ids`` (B, T).

        By default this is the fast path. ``trace=True`` (which also records
        every step) or ``reference=True`` (or ``self.fast = False``) runs the
        per-token reference loop instead.
        """
        cfg = self.config
        check_input(input_ids, position_offset, cfg)
        input_ids = input_ids.long()  # gather and one_hot need int64
        if self.fast and not trace and not reference and fast_path_available():
            answer_logits, token_logits, stats = self.fast_forward(input_ids, position_offset)
            return ModelOutput(answer_logits=answer_logits, token_logits=token_logits, stats=stats)
        return self.reference_forward(input_ids, position_offset, trace)

    def fast_forward(self, input_ids: Tensor, position_offset: int):
        """The forward without a trace, through the fast ops (models/fast.py): (answer_logits, token_logits, stats).

        The module gathers its own weights into tensors; the ops never see its attribute names."""
        cfg = self.config
        d, S = cfg.d_model, cfg.memory_slots
        B, T = input_ids.shape
        scale = 1.0 / math.sqrt(d)  # the attention's and both memory queries' 1/sqrt(d)
        dev = input_ids.device
        plan = Plan(
            d=d,
            erase=self.use_erase,
            surprise=self.use_surprise,
            content=self.content_write,
            sigmoid_tanh=dev.type == "cpu",
            ln_eps=self.norm.eps,
        )

        e = self.embed(input_ids, position_offset)  # (B, T, d), with the optional causal convolution
        qkv_w = torch.cat([self.attn_q.weight * scale, self.attn_k.weight, self.attn_v.weight])  # (3d, d)
        qkv_b = torch.cat([self.attn_q.bias * scale, self.attn_k.bias, self.attn_v.bias])  # (3d,)
        a = self.attn_o(blocked_local_attention(e, qkv_w, qkv_b, cfg.window))  # (B, T, d)
        a = a.transpose(0, 1).contiguous()  # (T, B, d) time-major
        q = F.linear(a, self.read_query.weight * scale, self.read_query.bias * scale)[:, :, None]  # (T, B, 1, d)
        c = a + self.read_proj.bias  # (T, B, d) a_t + b_r

        # With T = 1 the write side (gate, erase, write, write query) only shapes M_1, which nothing reads: the
        # reference leaves those weights without a gradient (None, not zeros), and so must this path.
        writes = (lambda p: p) if T > 1 else (lambda p: p.detach())  # noqa: E731
        gw, gb = self.gate_proj.weight, self.gate_proj.bias  # (d, 2d+1) over [h; r; s], (d,)
        wr2 = torch.cat([self.read_proj.weight, writes(gw[:, d : 2 * d])], dim=0)  # (2d, d) = [W_r; W_g[r]]
        w_parts, b_parts = [writes(gw[:, :d])], [writes(gb)]
        if plan.erase:
            w_parts.append(writes(self.erase_proj.weight))
            b_parts.append(writes(self.erase_proj.bias))
        write_scale = 2.0 if plan.sigmoid_tanh else 1.0
        w_parts.append(writes(self.write_proj.weight) * write_scale)
        b_parts.append(writes(self.write_proj.bias) * write_scale)
        if plan.content:
            w_parts.append(writes(self.write_query.weight) * scale)
            b_parts.append(writes(self.write_query.bias) * scale)
        if plan.surprise:  # only feeds the surprise, which has no gradient
            w_parts.append(self.token_head.weight.detach())
            b_parts.append(self.token_head.bias.detach())
        wh, bh = torch.cat(w_parts, dim=0), torch.cat(b_parts, dim=0)
        w_gs = writes(gw[:, 2 * d])  # (d,)

        x_tm = input_ids.t().contiguous()  # (T, B)
        alpha_fixed = None
        if not plan.content:
            slots = self.write_slots(input_ids)  # (B, T)
            alpha_fixed = F.one_hot(slots.t(), S).to(e.dtype)[:, :, None].contiguous()  # (T, B, 1, S)

        recurrence = fused_slot_recurrence if self.kernel and kernel_available(dev) else slot_recurrence
        h_tm, g_tm, eps_tm, s_tm, m_last = recurrence(
            q, c, self.memory_init, wr2, wh, bh, self.norm.weight, self.norm.bias, w_gs, x_tm, alpha_fixed, plan
        )
        h = h_tm.transpose(0, 1)  # (B, T, d)
        answer_logits = self.answer_head(h)  # (B, T, V)
        token_logits = self.token_head(h)  # (B, T, V)

        with torch.no_grad():
            if s_tm is None:  # no_surprise: the diagnostic s_t from the token head, all steps at once
                s = torch.ones(B, T, dtype=e.dtype, device=dev)
                if T > 1:
                    p_prev = torch.softmax(token_logits[:, :-1].detach(), dim=-1)  # (B, T-1, V)
                    s[:, 1:] = 1.0 - p_prev.gather(2, input_ids[:, 1:, None]).squeeze(2)
            else:
                s = s_tm
            zero = torch.zeros((), dtype=e.dtype, device=dev)
            stats = {
                "write_strength": g_tm.mean(),
                "write_frequency": (g_tm.mean(dim=-1) > 0.1).to(e.dtype).mean(),
                "erase_strength": (g_tm * eps_tm).mean() if eps_tm is not None else zero,
                "surprise": s.mean(),
                "memory_norm": m_last.abs().mean(),
            }
        return answer_logits, token_logits, stats

    def reference_forward(self, input_ids: Tensor, position_offset: int = 0, trace: bool = False) -> ModelOutput:
        """Run the per-token reference loop over ``input_ids`` (B, T); ``trace=True`` also records every step."""
        cfg = self.config
        check_input(input_ids, position_offset, cfg)
        input_ids = input_ids.long()  # gather and one_hot need int64
        B, T = input_ids.shape
        scale = math.sqrt(cfg.d_model)
        e = self.embed(input_ids, position_offset)  # (B, T, d)
        a, attn = self.local_attention(e)  # (B, T, d), (B, T, w+1)

        memory = self.memory_init[None].expand(B, -1, -1)  # (B, S, d) M_0
        s = torch.ones(B, device=e.device, dtype=e.dtype)  # (B,) s_0 = 1
        z_prev: Optional[Tensor] = None
        hs, zs, gates, erases, surprises = [], [], [], [], []
        states, reads, writes_w, values = [memory.detach()], [], [], []  # only filled when tracing
        for t in range(T):
            x_t = input_ids[:, t]  # (B,)
            a_t = a[:, t]  # (B, d)
            if z_prev is not None:
                with torch.no_grad():  # causal surprise of x_t under step t-1's prediction
                    p_prev = torch.softmax(z_prev.detach(), dim=-1)  # (B, V)
                    s = 1.0 - p_prev.gather(1, x_t[:, None]).squeeze(1)  # (B,)
            beta = torch.softmax(
                torch.einsum("bd,bsd->bs", self.read_query(a_t), memory) / scale, dim=-1
            )  # (B, S)
            r = torch.einsum("bs,bsd->bd", beta, memory)  # (B, d)
            h = self.norm(a_t + self.read_proj(r))  # (B, d)
            z = self.token_head(h)  # (B, V)
            g = self.gate(h, r, s)  # (B, d)
            v = torch.tanh(self.write_proj(h))  # (B, d)
            eps = self.erase(h)  # (B, d)
            alpha = self.write_weights(h, memory, x_t, t)  # (B, S)
            memory = self.update(memory, alpha, g, eps, v)  # (B, S, d) M_{t+1}

            hs.append(h)
            zs.append(z)
            gates.append(g.detach())
            erases.append(eps.detach())
            surprises.append(s)
            if trace:
                states.append(memory.detach())
                reads.append(beta.detach())
                writes_w.append(alpha.detach())
                values.append(v.detach())
            z_prev = z

        answer_logits = self.answer_head(torch.stack(hs, dim=1))  # (B, T, V)
        token_logits = torch.stack(zs, dim=1)  # (B, T, V)
        gate_all = torch.stack(gates, dim=1)  # (B, T, d)
        erase_all = torch.stack(erases, dim=1)  # (B, T, d)
        surprise_all = torch.stack(surprises, dim=1)  # (B, T)
        stats = {
            "write_strength": gate_all.mean(),
            "write_frequency": (gate_all.mean(dim=-1) > 0.1).to(e.dtype).mean(),
            "erase_strength": (gate_all * erase_all).mean(),
            "surprise": surprise_all.mean(),
            "memory_norm": memory.detach().abs().mean(),
        }
        out = ModelOutput(answer_logits=answer_logits, token_logits=token_logits, stats=stats)
        if trace:
            memory_all = torch.stack(states, dim=1)  # (B, T+1, S, d) M_0..M_T
            out.trace = SlotTrace(
                memory_before=memory_all[:, :-1],
                memory_after=memory_all[:, 1:],
                read_weights=torch.stack(reads, dim=1),
                write_weights=torch.stack(writes_w, dim=1),
                gate=gate_all,
                erase=erase_all,
                write=torch.stack(values, dim=1),
                surprise=surprise_all,
                attention=attn.detach(),
                token_logits=token_logits.detach(),
                answer_logits=answer_logits.detach(),
                input_ids=input_ids.detach(),
                position_offset=position_offset,
                model=self.name,
            )
        return out


class NoForget(ForgetNet):
    """ForgetNet with eps_t = 0: memory is only added to, never erased (W_e unused)."""

    name = "no_forget"
    use_erase = False


class NoSurprise(ForgetNet):
    """ForgetNet whose gate ignores surprise: multiplier 1 and surprise input 0.

    The trace and stats still report the causal surprise s_t as a diagnostic;
    it does not influence the memory or the answers.
    """

    name = "no_surprise"
    use_surprise = False


class RandomWrite(ForgetNet):
    """ForgetNet writing to a fixed pseudo-random slot: alpha_t = one_hot((x_t + 17 t) mod S) (W_wq unused)."""

    name = "random_write"
    content_write = False

    def write_weights(self, h: Tensor, memory: Tensor, x_t: Tensor, t: int) -> Tensor:
        slots = (x_t + 17 * t) % self.config.memory_slots  # (B,)
        return F.one_hot(slots, self.config.memory_slots).to(h.dtype)  # (B, S)

    def write_slots(self, input_ids: Tensor) -> Tensor:
        t = torch.arange(input_ids.shape[1], device=input_ids.device)  # (T,)
        return (input_ids + 17 * t[None]) % self.config.memory_slots  # (B, T)


class FifoMemory(ForgetNet):
    """ForgetNet writing round-robin: alpha_t = one_hot(t mod S) (W_wq unused)."""

    name = "fifo_memory"
    content_write = False

    def write_weights(self, h: Tensor, memory: Tensor, x_t: Tensor, t: int) -> Tensor:
        slots = torch.full_like(x_t, t % self.config.memory_slots)  # (B,)
        return F.one_hot(slots, self.config.memory_slots).to(h.dtype)  # (B, S)

    def write_slots(self, input_ids: Tensor) -> Tensor:
        t = torch.arange(input_ids.shape[1], device=input_ids.device)  # (T,)
        return (t % self.config.memory_slots)[None].expand_as(input_ids)  # (B, T)


__all__ = ["FifoMemory", "ForgetNet", "NoForget", "NoSurprise", "RandomWrite"]
