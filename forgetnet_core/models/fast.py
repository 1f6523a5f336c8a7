"""Fast path for the ForgetNet family: input-only work batched, the memory recurrence as one autograd Function.

The per-token loop in ``forgetnet.py`` is the reference (and the only path that
records a trace). This module computes the same function with far fewer and
cheaper operations; ``tests/core/test_fast_path.py`` checks that logits, stats
and every parameter gradient match the reference within 1e-5 (float32).

* Embeddings and the local attention do not depend on the memory: they run for
  all positions at once (the attention blocked, see :func:`local_attention`),
  as do the read query ``W_mq a_t`` and ``a_t + b_r``.
* The recurrence is :class:`MemoryRecurrence`, a ``torch.autograd.Function``.
  Its forward runs the per-token loop without recording a graph and writes
  every intermediate into preallocated time-major ``(T, B, ...)`` buffers
  (``out=`` variants, no Python lists of tensors). Its hand-written backward
  runs the loop in reverse with about 25 small ops per step and computes each
  weight gradient with ONE matmul over all ``T * B`` rows at the end, where
  autograd would run one per weight and step.
* Linears with the same input are fused: ``h_t`` feeds one matmul with ``[W_g[h];
  W_e; W_w; W_wq; W_tok]`` (only the rows the model uses, so weights an
  ablation does not use still get no gradient, as in the reference). The token
  head inside the loop only feeds the no-gradient surprise.
* ``1/sqrt(d)`` is folded into the read query and ``W_wq``. On CPU, where
  ``torch.tanh`` is several times slower than ``torch.sigmoid``, tanh is
  computed as ``2 sigmoid(2u) - 1`` (factor 2 folded into ``W_w``).
* The answer and next-token heads run once on all ``h_t`` after the loop.
* Without autograd (evaluation) no Function node is made and the loop reuses
  two memory buffers and one scratch per intermediate instead of keeping T.

The state is bounded: per step one ``(B, S, d)`` memory is kept for the backward
pass, and work is linear in T. The update is computed in the equivalent form

    M_{t+1} = tanh(M_t + (alpha g) * (v - eps * M_t))   (= tanh(M_t (1 - alpha g eps) + alpha g v))
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

_aten = torch.ops.aten


@dataclass(frozen=True)
class Plan:
    """Which pieces a model's recurrence has, and where they sit in the fused projection P = W h_t + b (B, K).

    P's columns: ``[gate | erase (if erase) | write | write query (if content) | token head (if surprise)]``.
    """

    d: int
    erase: bool  # eps_t is learned (False: no_forget, eps = 0)
    surprise: bool  # the gate uses s_t, so s_t is computed inside the loop (False: no_surprise)
    content: bool  # alpha_t = softmax(W_wq h M^T / sqrt d) (False: a fixed one-hot slot per step)
    sigmoid_tanh: bool  # tanh(x) as 2 sigmoid(2x) - 1 (CPU); the write columns of P then hold 2 W_w h + 2 b_w
    ln_eps: float  # LayerNorm epsilon

    @property
    def o_write(self) -> int:
        return self.d * (2 if self.erase else 1)

    @property
    def o_wq(self) -> int:
        return self.o_write + self.d

    @property
    def o_tok(self) -> int:
        """Start of the token-head columns; also the number of columns that carry gradient."""
        return self.o_wq + (self.d if self.content else 0)

    @property
    def n_sig(self) -> int:
        """Leading columns of P that go through one sigmoid: [gate | erase] (+ write when sigmoid_tanh)."""
        return self.o_write + (self.d if self.sigmoid_tanh else 0)


class MemoryRecurrence(torch.autograd.Function):
    """h_1..h_T of the memory recurrence from the precomputed input-only parts; time-major (T, B, ...).

    Differentiable inputs: ``q`` (T, B, 1, d) read query (W_mq a_t + b_mq) /
    sqrt(d); ``c`` (T, B, d) = a_t + b_r; ``m0`` (S, d) M_0; ``wr2`` (2d, d) =
    [W_r; W_g[r]]; ``wh`` (K, d), ``bh`` (K,) the fused projection of h_t;
    ``ln_w``, ``ln_b`` (d,); ``w_gs`` (d,) the gate's surprise column.
    Non-differentiable: ``x`` (T, B) int64 tokens, ``alpha_fixed`` (T, B, 1, S)
    one-hot write weights (or None), ``plan``.

    Returns ``h`` (T, B, d) and, without gradient, ``g`` (T, B, d), ``eps``
    (T, B, d) or None, ``s`` (T, B) (None unless ``plan.surprise``) and
    ``m_last`` (B, S, d).

    Per-step slices of every buffer are made once with ``unbind`` (indexing
    would cost a dispatch per view and step). Scores are computed as (B, 1, d)
    @ (B, d, S): on CPU that bmm is several times faster than the
    matrix-vector (B, S, d) @ (B, d, 1).
    """

    @staticmethod
    def forward(ctx, q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan: Plan):  # noqa: D102
        outs, saved = recurrence_forward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan, save=True)
        ctx.plan = plan
        ctx.m0_dim = m0.dim()
        ctx.save_for_backward(q, wr2, wh, ln_w, ln_b, *saved)
        ctx.mark_non_differentiable(*[o for o in outs[1:] if o is not None])
        ctx.set_materialize_grads(False)
        return outs

    @staticmethod
    @once_differentiable
    def backward(ctx, dh_ext, *unused):  # noqa: D102
        plan: Plan = ctx.plan
        (q, wr2, wh, ln_w, ln_b, mem, beta, r_all, u_all, h_all, bh, sig, v_all, alpha, g_all, mult, s_all) = (
            ctx.saved_tensors
        )
        T, B, _, d = q.shape
        S = mem.shape[2]
        dt, dev = q.dtype, q.device
        kg, o_w, o_wq = plan.o_tok, plan.o_write, plan.o_wq

        def new(*shape):
            return torch.empty(*shape, dtype=dt, device=dev)

        dh_ext = torch.zeros(T, B, d, dtype=dt, device=dev) if dh_ext is None else dh_ext.contiguous()

        # What does not depend on the carried gradient, for all steps at once. With U = M + alpha_i g (v - eps M)
        # the pre-tanh update, dU = dL/dU, A1 = sum_i alpha_i dU_i and A2 = sum_i alpha_i dU_i M_i:
        # dL/dv = g A1, dL/deps = -g A2, dL/dg = v A1 - eps A2, dL/dalpha_i = sum_d dU_i (g v - g eps M_i),
        # dL/dM = dU (1 - alpha_i g eps) (+ the read and write-score paths).
        _, ln_mean, ln_rstd = _aten.native_layer_norm(u_all, [d], ln_w, ln_b, plan.ln_eps)  # (T, B, 1) each
        g = g_all.contiguous()  # (T, B, d)
        v = v_all
        graw = sig[..., :d]
        gfac = graw * (1.0 - graw)  # sigmoid' of the gate logits
        if plan.surprise:
            gfac.mul_(mult)
        vfac = 1.0 - v * v  # tanh' of the write logits
        if plan.sigmoid_tanh:
            vfac.mul_(0.5)  # P holds 2 W_w h + 2 b_w
        f_w = vfac.mul_(g)  # dL/d write logits = A1 f_w
        f_gv = v * gfac  # dL/d gate logits = A1 f_gv - A2 f_ge
        gv = (g * v)[:, :, None]  # (T, B, 1, d)
        if plan.erase:
            eps = sig[..., d : 2 * d]
            f_e = g * eps * (eps - 1.0)  # dL/d erase logits = A2 f_e
            f_ge = gfac.mul_(eps)
            ge = (g * eps)[:, :, None]  # (T, B, 1, d)
        del g, gfac, vfac

        # dd = dL/d[u | P's gradient columns] for every step: (T, B, d + kg)
        dd = new(T, B, d + kg)  # every column is written at every step
        dh_all = new(T, B, d)  # total dL/dh_t
        dq = new(T, B, 1, d)
        dm, dm_new = torch.zeros(B, S, d, dtype=dt, device=dev), new(B, S, d)  # dL/dM_{t+1}, carried
        dpre_ = new(B, S, d) if plan.erase else None  # dU (without erase, dL/dM through the update is dU itself)
        dum, scratch = new(B, S, d), new(B, S, d)  # dU * M, dU * g eps
        a1, a2 = new(B, 1, d), new(B, 1, d)
        a1_2, a2_2 = a1[:, 0], a2[:, 0]  # (B, d) views
        dr = new(B, d)
        dr3 = dr[:, None]  # (B, 1, d) view
        dwq = new(B, 1, d)
        dalpha, dasc, dbeta, dsc = new(B, 1, S), new(B, 1, S), new(B, 1, S), new(B, 1, S)
        dasc_t, dsc_t = dasc.transpose(1, 2), dsc.transpose(1, 2)  # (B, S, 1) views
        wh_g = wh[:kg]
        dims, mask = [d], [True, False, False]

        mem_l, memt_l = mem.unbind(0), mem.transpose(2, 3).unbind(0)
        q_l, beta_l, betat_l = q.unbind(0), beta.unbind(0), beta.transpose(2, 3).unbind(0)
        u_l, dhe_l, dh_l, dq_l = u_all.unbind(0), dh_ext.unbind(0), dh_all.unbind(0), dq.unbind(0)
        mean_l, rstd_l = ln_mean.unbind(0), ln_rstd.unbind(0)
        a_l, at_l = alpha.unbind(0), alpha.transpose(2, 3).unbind(0)
        f_w_l, f_gv_l, gv_l = f_w.unbind(0), f_gv.unbind(0), gv.unbind(0)
        du_l, ddr_l, ddh_l = dd[..., :d].unbind(0), dd[..., : 2 * d].unbind(0), dd[..., d:].unbind(0)
        dgl_l, dw_l = dd[..., d : 2 * d].unbind(0), dd[..., d + o_w : 2 * d + o_w].unbind(0)
        if plan.erase:
            f_e_l, f_ge_l, ge_l = f_e.unbind(0), f_ge.unbind(0), ge.unbind(0)
            de_l = dd[..., 2 * d : 3 * d].unbind(0)
        if plan.content:
            ws = F.linear(h_all, wh[o_wq : o_wq + d], bh[o_wq : o_wq + d])  # (T, B, d) write queries, all steps at once
            ws_l = ws[:, :, None].unbind(0)
            dwq_l = dd[:, :, None, d + o_wq : 2 * d + o_wq].unbind(0)

        bmm, mul, addcmul = torch.bmm, torch.mul, torch.addcmul
        tanh_bw, softmax_bw = _aten.tanh_backward.grad_input, _aten._softmax_backward_data.out
        ln_bw = _aten.native_layer_norm_backward
        erase, content = plan.erase, plan.content
        for t in range(T - 1, -1, -1):
            m, m_t = mem_l[t], memt_l[t]
            # M_{t+1} = tanh(U), U = M + alpha_i g (v - eps M)
            dpre = tanh_bw(dm, mem_l[t + 1], grad_input=dpre_ if erase else dm_new)  # dU
            bmm(a_l[t], dpre, out=a1)  # A1 (B, 1, d)
            mul(a1_2, f_w_l[t], out=dw_l[t])  # dL/d write logits
            mul(a1_2, f_gv_l[t], out=dgl_l[t])  # dL/d gate logits (first part)
            if content:
                bmm(gv_l[t], dpre.transpose(1, 2), out=dalpha)  # (B, 1, S) dL/dalpha (first part)
            if erase:
                mul(dpre, m, out=dum)
                bmm(a_l[t], dum, out=a2)  # A2
                mul(a2_2, f_e_l[t], out=de_l[t])  # dL/d erase logits
                dgl_l[t].addcmul_(a2_2, f_ge_l[t], value=-1.0)  # dL/d gate logits
                if content:
                    dalpha.baddbmm_(ge_l[t], dum.transpose(1, 2), alpha=-1.0)
                addcmul(dpre, at_l[t], mul(dpre, ge_l[t], out=scratch), value=-1.0, out=dm_new)  # dL/dM, update
            if content:
                softmax_bw(dalpha, a_l[t], 2, dt, grad_input=dasc)
                dwq_l[t].copy_(bmm(dasc, m, out=dwq))  # dL/d write-query logits (bmm into a strided out is slow)
                dm_new.addcmul_(dasc_t, ws_l[t])
            # h_t feeds every projection, and the heads (their gradient comes from outside)
            torch.addmm(dhe_l[t], ddh_l[t], wh_g, out=dh_l[t])
            du_l[t].copy_(ln_bw(dh_l[t], u_l[t], dims, mean_l[t], rstd_l[t], ln_w, ln_b, mask)[0])
            torch.mm(ddr_l[t], wr2, out=dr)  # dL/dr, from u and from the gate
            # r = beta M, beta = softmax(q M^T)
            bmm(dr3, m_t, out=dbeta)
            dm_new.addcmul_(betat_l[t], dr3)
            softmax_bw(dbeta, beta_l[t], 2, dt, grad_input=dsc)
            dm_new.addcmul_(dsc_t, q_l[t])
            bmm(dsc, m, out=dq_l[t])
            dm, dm_new = dm_new, dm

        grads = weight_grads(dd, dh_all, r_all, h_all, u_all, ln_mean, ln_rstd, s_all, wh, plan)
        d_m0 = dm.sum(0) if ctx.m0_dim == 2 else dm
        return dq, dd[..., :d], d_m0, *grads, None, None, None


def weight_grads(dd, dh_all, r_all, h_all, u_all, ln_mean, ln_rstd, s_all, wh, plan: Plan):
    """d_wr2, d_wh, d_bh, d_ln_w, d_ln_b, d_wgs from the per-step gradients: one matmul over all T * B rows each.

    ``dd`` (T, B, d + kg) = dL/d[u | P's gradient columns], ``dh_all`` (T, B, d) = dL/dh; ``r_all`` (T, B, 1, d)
    or (T, B, d), ``h_all`` and ``u_all`` (T, B, d), ``ln_mean`` and ``ln_rstd`` (T, B, 1), ``s_all`` (T, B, 1)
    (None unless ``plan.surprise``). Shared by the torch and Triton backward passes.
    """
    T, B, d = h_all.shape
    kg = plan.o_tok
    n = T * B
    ddf = dd.reshape(n, d + kg)
    d_wr2 = ddf[:, : 2 * d].t() @ r_all.reshape(n, d)
    d_wh = torch.zeros_like(wh)
    d_wh[:kg] = ddf[:, d:].t() @ h_all.reshape(n, d)
    d_bh = torch.zeros_like(wh[:, 0])
    d_bh[:kg] = ddf[:, d:].sum(0)
    xhat = (u_all - ln_mean) * ln_rstd
    d_ln_w = (dh_all * xhat).reshape(n, d).sum(0)
    d_ln_b = dh_all.reshape(n, d).sum(0)
    d_wgs = (dd[..., d : 2 * d] * s_all).reshape(n, d).sum(0) if plan.surprise else None
    return d_wr2, d_wh, d_bh, d_ln_w, d_ln_b, d_wgs


def _per_step(x: Tensor, count: int) -> tuple[Tensor, ...]:
    """``count`` views of x's leading-dim slices: all of them (x holds every step), or cycling (x is scratch)."""
    views = x.unbind(0)
    if len(views) == count:
        return views
    return tuple(views[i % len(views)] for i in range(count))


def recurrence_forward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan: Plan, save: bool):
    """The recurrence's forward loop (no autograd graph); see :class:`MemoryRecurrence` for shapes.

    Returns ``(h, g, eps, s, m_last)`` and, when ``save``, the intermediates the
    backward needs. Without ``save`` (inference) the memory and the per-step
    scratch are two and one buffers reused in turn instead of T: no page faults
    for T * B * S * d fresh floats, and bounded memory.
    """
    T, B, _, d = q.shape
    S = m0.shape[0]
    dt, dev = q.dtype, q.device
    kp = wh.shape[0]
    o_w, o_wq, o_tok, n_sig = plan.o_write, plan.o_wq, plan.o_tok, plan.n_sig

    def new(*shape):
        return torch.empty(*shape, dtype=dt, device=dev)

    n_t = T if save else 1  # steps held by the buffers only the backward needs
    mem = new(T + 1 if save else 2, B, S, d)  # M_0..M_T (inference: M_t and M_{t+1}, in turn)
    mem[0].copy_(m0)
    beta = new(n_t, B, 1, S)  # read weights
    r_all = new(n_t, B, 1, d)  # r_t
    u_all = new(T, B, d)  # u_t = a_t + W_r r_t + b_r, before LayerNorm
    p_all = new(1, B, kp)  # P_t scratch (gate columns completed in place to the full gate logits)
    sig = new(T, B, n_sig)  # sigmoid of P's leading columns: [gate | eps | (write)]
    v_all = new(n_t, B, d)  # v_t = tanh(W_w h_t + b_w)
    alpha = new(n_t, B, 1, S) if plan.content else alpha_fixed  # write weights
    bh_rows = bh.expand(B, kp).contiguous()  # addmm copies its input: a contiguous one is a memcpy
    if plan.surprise:
        g_all = new(T, B, d)  # g_t with the multiplier clamp(s_t, 0.05, 1)
        mult = new(T, B, 1)
        s_all = new(T, B, 1)
        s_all[0].fill_(1.0)
        p_sm = new(B, kp - o_tok)  # softmax(z_t) scratch
        p_x = new(B, 1)  # softmax(z_t)[x_{t+1}] scratch
        one = torch.ones((), dtype=dt, device=dev)
        x_l = x[1:, :, None].unbind(0)  # (B, 1): the next token
        g_l, mult_l, s_l = _per_step(g_all, T), _per_step(mult, T), _per_step(s_all, T)
        z_l = _per_step(p_all[..., o_tok:], T)
    else:
        g_all, mult, s_all = sig[..., :d], None, None
    sc = new(B, 1, S)  # score scratch
    ag = new(B, S, d)  # alpha_i g, then the pre-tanh update
    upd = new(B, S, d)  # v - eps M
    wr_t, wgr_t, wh_t = wr2[:d].t(), wr2[d:].t(), wh.t()

    mem_l, memt_l = _per_step(mem, T + 1), _per_step(mem.transpose(2, 3), T + 1)
    q_l, c_l, beta_l, r_l = _per_step(q, T), _per_step(c, T), _per_step(beta, T), _per_step(r_all, T)
    r2_l, u_l, p_l = _per_step(r_all[:, :, 0], T), _per_step(u_all, T), _per_step(p_all, T)
    gl_l, sigin_l, sig_l = _per_step(p_all[..., :d], T), _per_step(p_all[..., :n_sig], T), _per_step(sig, T)
    graw_l, sw_l = _per_step(sig[..., :d], T), _per_step(sig[..., o_w : o_w + d], T)
    pw_l = _per_step(p_all[..., o_w : o_w + d], T)
    v_l, v3_l, g3_l = _per_step(v_all, T), _per_step(v_all[:, :, None], T), _per_step(g_all[:, :, None], T)
    eps3_l = _per_step(sig[:, :, None, d : 2 * d], T)
    ws_l = _per_step(p_all[:, :, None, o_wq : o_wq + d], T)
    a_l, at_l = _per_step(alpha, T), _per_step(alpha.transpose(2, 3), T)

    bmm, addmm, mul, addcmul, sigmoid, add = torch.bmm, torch.addmm, torch.mul, torch.addcmul, torch.sigmoid, torch.add
    softmax_out, layer_norm, ln_eps = _aten._softmax.out, F.layer_norm, plan.ln_eps
    surprise, content, erase, sig_tanh = plan.surprise, plan.content, plan.erase, plan.sigmoid_tanh
    neg_one = torch.full((), -1.0, dtype=dt, device=dev)
    for t in range(T):
        m, m_t = mem_l[t], memt_l[t]  # (B, S, d), (B, d, S)
        bmm(q_l[t], m_t, out=sc)  # (B, 1, S) read scores
        softmax_out(sc, 2, False, out=beta_l[t])  # beta_t
        bmm(beta_l[t], m, out=r_l[t])  # (B, 1, d) r_t = beta M
        addmm(c_l[t], r2_l[t], wr_t, out=u_l[t])  # u_t
        h = layer_norm(u_l[t], (d,), ln_w, ln_b, ln_eps)  # (B, d) h_t
        addmm(bh_rows, h, wh_t, out=p_l[t])  # (B, K) every projection of h_t at once
        gl = gl_l[t].addmm_(r2_l[t], wgr_t)  # gate logits += W_g[r] r_t
        if surprise:
            gl.addcmul_(s_l[t], w_gs)  # gate logits += w_gs s_t
        sigmoid(sigin_l[t], out=sig_l[t])
        if sig_tanh:
            add(neg_one, sw_l[t], alpha=2.0, out=v_l[t])  # v_t = 2 sigmoid(2 W_w h + 2 b_w) - 1
        else:
            torch.tanh(pw_l[t], out=v_l[t])  # v_t
        if surprise:
            torch.clamp(s_l[t], 0.05, 1.0, out=mult_l[t])
            mul(graw_l[t], mult_l[t], out=g_l[t])  # g_t
        if content:
            bmm(ws_l[t], m_t, out=sc)  # (B, 1, S) write scores
            softmax_out(sc, 2, False, out=a_l[t])  # alpha_t
        mul(at_l[t], g3_l[t], out=ag)  # (B, S, d) alpha_i g
        if erase:
            addcmul(v3_l[t], eps3_l[t], m, value=-1.0, out=upd)  # v - eps M
            addcmul(m, ag, upd, out=ag)  # U = M + alpha g (v - eps M)
        else:
            addcmul(m, ag, v3_l[t], out=ag)  # U = M + alpha g v
        if sig_tanh:
            sigmoid(ag.mul_(2.0), out=ag)
            add(neg_one, ag, alpha=2.0, out=mem_l[t + 1])  # M_{t+1} = 2 sigmoid(2U) - 1 = tanh(U)
        else:
            torch.tanh(ag, out=mem_l[t + 1])  # M_{t+1}
        if surprise and t + 1 < T:
            softmax_out(z_l[t], 1, False, out=p_sm)  # softmax(z_t)
            torch.gather(p_sm, 1, x_l[t], out=p_x)
            torch.sub(one, p_x, out=s_l[t + 1])  # s_{t+1} = 1 - softmax(z_t)[x_{t+1}]

    h_all = F.layer_norm(u_all, (d,), ln_w, ln_b, plan.ln_eps)  # (T, B, d): the loop's h_t, row for row
    eps_all = sig[..., d : 2 * d] if plan.erase else None
    s_out = s_all[..., 0] if s_all is not None else None
    outs = (h_all, g_all, eps_all, s_out, mem_l[T])
    if not save:
        return outs, None
    return outs, (mem, beta, r_all, u_all, h_all, bh, sig, v_all, alpha, g_all, mult, s_all)


def blocked_local_attention(e: Tensor, weight: Tensor, bias: Tensor, window: int) -> Tensor:
    """One-head local attention before its output projection: (B, T, d) -> (B, T, d), in blocks of c = max(w, 1).

    ``weight`` (3d, d) and ``bias`` (3d,) are [W_q / sqrt(d); W_k; W_v] and their biases. Queries of block k
    attend to keys of blocks k-1 and k (2c keys) with a band mask, so every t sees exactly t-w..t (positions
    < 0 are masked), as ForgetNet.local_attention does. Two batched matmuls, no (B, T, w+1, d) window copies;
    work is linear in T. Returns no weights (the reference does, for the trace).
    """
    B, T, d = e.shape
    w = window
    c = max(w, 1)
    nb = -(-T // c)  # blocks
    qkv = F.pad(F.linear(e, weight, bias), (0, 0, c, nb * c - T))  # (B, c + nb c, 3d): a zero block before t = 0
    q = qkv[:, c:, :d].reshape(B, nb, c, d)  # (B, nb, c, d)
    k = qkv[..., d : 2 * d].unfold(1, 2 * c, c)  # (B, nb, d, 2c): blocks k-1 and k
    v = qkv[..., 2 * d :].unfold(1, 2 * c, c).transpose(2, 3)  # (B, nb, 2c, d)
    i = torch.arange(c, device=e.device)[:, None] + c  # query index inside the 2c window
    j = torch.arange(2 * c, device=e.device)[None, :]  # key index inside the 2c window
    block = torch.arange(nb, device=e.device)[:, None, None]
    masked = (i - j < 0) | (i - j > w) | (block * c + j < c)  # (nb, c, 2c): future, too far back, or before t = 0
    weights = torch.softmax(torch.matmul(q, k).masked_fill(masked, float("-inf")), dim=-1)  # (B, nb, c, 2c)
    return torch.matmul(weights, v).reshape(B, nb * c, d)[:, :T]  # (B, T, d)


def slot_recurrence(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan: Plan):
    """h, g, eps, s, M_T of the slot-memory recurrence: a MemoryRecurrence node when a gradient is needed, else the
    loop alone (nothing kept for a backward pass). All arguments are tensors (see MemoryRecurrence) and a Plan."""
    args = (q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan)
    if torch.is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad for t in args):
        return MemoryRecurrence.apply(*args)
    return recurrence_forward(*args, save=False)[0]


# The private aten overloads the hand-written loop calls; a torch without one of them gets the reference loop.
_PRIVATE_OPS = (
    ("native_layer_norm", "default"),
    ("native_layer_norm_backward", "default"),
    ("tanh_backward", "grad_input"),
    ("_softmax", "out"),
    ("_softmax_backward_data", "out"),
)


def missing_ops() -> list[str]:
    """The private aten ops the fast path needs that this torch lacks (empty: the fast path can run)."""
    missing = []
    for name, overload in _PRIVATE_OPS:
        packet = getattr(_aten, name, None)
        if packet is None or not hasattr(packet, overload):
            missing.append(f"aten.{name}.{overload}")
    return missing


_MISSING = missing_ops()
_WARNED = False


def fast_path_available() -> bool:
    """True when the fast path can run here; otherwise warns once, in one line, that the reference loop is used."""
    global _WARNED
    if _MISSING and not _WARNED:
        warnings.warn(f"forgetnet fast path off: this torch lacks {', '.join(_MISSING)}; using the per-token reference loop",
                      RuntimeWarning, stacklevel=3)
        _WARNED = True
    return not _MISSING


__all__ = ["MemoryRecurrence", "Plan", "blocked_local_attention", "fast_path_available", "missing_ops", "recurrence_forward", "slot_recurrence", "weight_grads"]
