"""Triton kernels of the slot recurrence (forward and backward): one program per sequence, its S x d memory on chip.

Only ``triton_recurrence`` loads this module, lazily, when a kernel is to run. Without Triton it still imports
(the kernels stay plain, uncallable functions and ``TRITON_ERROR`` says why), so the core never needs it. The math is the fast path's (``fast.py``, see its docstring); per step t and
sequence b, with M = M_t (S, d) held in registers across the whole loop:

    beta = softmax(q_t M^T);  r = beta M;  u = c_t + W_r r;  h = LayerNorm(u);  P = W h + b
    g = sigmoid(P_gate + W_g[r] r + w_gs s_t) * clamp(s_t, 0.05, 1);  eps = sigmoid(P_erase);  v = tanh(P_write)
    alpha = softmax(P_wq M^T) (or a fixed one-hot row);  M_{t+1} = tanh(M + alpha_i g (v - eps M))
    s_{t+1} = 1 - softmax(P_tok)[x_{t+1}]

tanh is computed as 2 sigmoid(2x) - 1 (Triton's portable math has no tanh). Sizes that are not powers of two
are padded to the next one (BD, BS, BV) and masked. The forward stores M_1..M_T and the small per-step
vectors the backward needs; the backward runs the loop in reverse carrying dL/dM_{t+1} (S, d) on chip and
writes per-step gradients; the weight gradients are then one matmul over all T * B rows, in torch.
Weight tiles are loaded inside the loop (they stay in L1/L2; holding every tile in registers would spill).
"""

from __future__ import annotations

from types import SimpleNamespace

try:
    import triton
    import triton.language as tl

    TRITON_ERROR: Exception | None = None
except ImportError as exc:  # the optional `cuda` extra is absent
    TRITON_ERROR = exc
    triton = SimpleNamespace(jit=lambda fn: fn)  # annotations are strings (future import): tl is never evaluated
    tl = None


@triton.jit
def _tile(ptr, row0, rows, cols, BR: tl.constexpr, BC: tl.constexpr):
    """Rows row0..row0+rows of a row-major (*, cols) matrix as a zero-padded (BR, BC) tile."""
    r = tl.arange(0, BR)
    k = tl.arange(0, BC)
    mask = (r[:, None] < rows) & (k[None, :] < cols)
    return tl.load(ptr + (row0 + r[:, None]) * cols + k[None, :], mask=mask, other=0.0)


@triton.jit
def _mv(tile, x):
    """tile @ x: (BR, BC) x (BC,) -> (BR,)."""
    return tl.sum(tile * x[None, :], axis=1)


@triton.jit
def _tmv(tile, y):
    """tile^T @ y: (BR, BC) x (BR,) -> (BC,)."""
    return tl.sum(tile * y[:, None], axis=0)


@triton.jit
def _softmax(x, mask):
    x = tl.where(mask, x, float("-inf"))
    e = tl.exp(x - tl.max(x, axis=0))
    return e / tl.sum(e, axis=0)


@triton.jit
def _softmax_bw(dy, y):
    """dL/dx of y = softmax(x) given dL/dy."""
    return y * (dy - tl.sum(dy * y, axis=0))


@triton.jit
def _tanh(x):
    return 2.0 * tl.sigmoid(2.0 * x) - 1.0


@triton.jit
def recurrence_fwd_kernel(
    q_ptr, c_ptr, m0_ptr, wr2_ptr, wh_ptr, bh_ptr, lnw_ptr, lnb_ptr, wgs_ptr, x_ptr, afix_ptr,  # inputs
    h_ptr, g_ptr, eps_ptr, s_ptr, mlast_ptr,  # outputs
    mem_ptr, beta_ptr, r_ptr, u_ptr, graw_ptr, v_ptr, alpha_ptr,  # saved for the backward (SAVE only)
    T, B,
    D: tl.constexpr, S: tl.constexpr, V: tl.constexpr, BD: tl.constexpr, BS: tl.constexpr, BV: tl.constexpr,
    O_W: tl.constexpr, O_WQ: tl.constexpr, O_TOK: tl.constexpr,
    ERASE: tl.constexpr, SURPRISE: tl.constexpr, CONTENT: tl.constexpr, SAVE: tl.constexpr,
    WK: tl.constexpr, LN_EPS: tl.constexpr,
):
    """One program per sequence b: the whole loop over t. Layouts are time-major and contiguous: (T, B, d),
    (T, B, S), (T, B); m0 and m_last (B, S, d); mem (T + 1, B, S, d) with mem[0] = M_0 already written.
    WK: v = tanh(P_write * WK / 2) (2: P holds W_w h + b_w; 1: P holds twice that, the CPU plan's layout)."""
    b = tl.program_id(0).to(tl.int64)
    od = tl.arange(0, BD)
    md = od < D
    os_ = tl.arange(0, BS)
    ms = os_ < S
    sd = os_[:, None] * D + od[None, :]  # (BS, BD) offsets inside one memory
    msd = ms[:, None] & md[None, :]
    M = tl.load(m0_ptr + b * S * D + sd, mask=msd, other=0.0)  # (BS, BD) M_0
    ln_w = tl.load(lnw_ptr + od, mask=md, other=0.0)
    ln_b = tl.load(lnb_ptr + od, mask=md, other=0.0)
    b_g = tl.load(bh_ptr + od, mask=md, other=0.0)
    b_w = tl.load(bh_ptr + O_W + od, mask=md, other=0.0)
    if ERASE:
        b_e = tl.load(bh_ptr + D + od, mask=md, other=0.0)
    if CONTENT:
        b_wq = tl.load(bh_ptr + O_WQ + od, mask=md, other=0.0)
    if SURPRISE:
        w_gs = tl.load(wgs_ptr + od, mask=md, other=0.0)
        ov = tl.arange(0, BV)
        mv = ov < V
        b_tok = tl.load(bh_ptr + O_TOK + ov, mask=mv, other=0.0)
    s = tl.sum(tl.zeros([BD], tl.float32), axis=0) + 1.0  # s_0 = 1
    for t in range(T):
        row = t * B + b  # this step's row in every (T, B, ...) buffer
        qv = tl.load(q_ptr + row * D + od, mask=md, other=0.0)
        beta = _softmax(tl.sum(M * qv[None, :], axis=1), ms)  # (BS,) read weights
        r = tl.sum(beta[:, None] * M, axis=0)  # (BD,) r_t
        u = tl.load(c_ptr + row * D + od, mask=md, other=0.0) + _mv(_tile(wr2_ptr, 0, D, D, BD, BD), r)
        mean = tl.sum(u, axis=0) / D
        diff = tl.where(md, u - mean, 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(diff * diff, axis=0) / D + LN_EPS)
        h = diff * rstd * ln_w + ln_b  # (BD,) h_t
        gl = _mv(_tile(wh_ptr, 0, D, D, BD, BD), h) + b_g + _mv(_tile(wr2_ptr, D, D, D, BD, BD), r)
        if SURPRISE:
            gl += w_gs * s
        graw = tl.sigmoid(gl)
        if SURPRISE:
            g = graw * tl.minimum(tl.maximum(s, 0.05), 1.0)
        else:
            g = graw
        v = _tanh((_mv(_tile(wh_ptr, O_W, D, D, BD, BD), h) + b_w) * (WK * 0.5))
        if CONTENT:
            ws = _mv(_tile(wh_ptr, O_WQ, D, D, BD, BD), h) + b_wq  # write query (scale folded into W)
            alpha = _softmax(tl.sum(M * ws[None, :], axis=1), ms)
        else:
            alpha = tl.load(afix_ptr + row * S + os_, mask=ms, other=0.0)
        ag = alpha[:, None] * g[None, :]  # (BS, BD)
        if ERASE:
            eps = tl.sigmoid(_mv(_tile(wh_ptr, D, D, D, BD, BD), h) + b_e)
            U = M + ag * (v[None, :] - eps[None, :] * M)
        else:
            U = M + ag * v[None, :]
        M_next = tl.where(msd, _tanh(U), 0.0)

        tl.store(h_ptr + row * D + od, h, mask=md)
        tl.store(g_ptr + row * D + od, g, mask=md)
        if ERASE:
            tl.store(eps_ptr + row * D + od, eps, mask=md)
        if SURPRISE:
            tl.store(s_ptr + row, s)
        if SAVE:
            tl.store(mem_ptr + (row + B) * S * D + sd, M_next, mask=msd)  # mem[t + 1]
            tl.store(beta_ptr + row * S + os_, beta, mask=ms)
            tl.store(r_ptr + row * D + od, r, mask=md)
            tl.store(u_ptr + row * D + od, u, mask=md)
            tl.store(v_ptr + row * D + od, v, mask=md)
            if SURPRISE:
                tl.store(graw_ptr + row * D + od, graw, mask=md)
            if CONTENT:
                tl.store(alpha_ptr + row * S + os_, alpha, mask=ms)
        if SURPRISE:  # s_{t+1} = 1 - softmax(z_t)[x_{t+1}] (at the last step computed and not used)
            z = _mv(_tile(wh_ptr, O_TOK, V, D, BV, BD), h) + b_tok
            z = tl.where(mv, z, float("-inf"))
            ez = tl.exp(z - tl.max(z, axis=0))
            x_next = tl.load(x_ptr + tl.minimum(t + 1, T - 1) * B + b)
            s = 1.0 - tl.sum(tl.where(ov == x_next, ez, 0.0), axis=0) / tl.sum(ez, axis=0)
        M = M_next
    tl.store(mlast_ptr + b * S * D + sd, M, mask=msd)


@triton.jit
def recurrence_bwd_kernel(
    q_ptr, mem_ptr, beta_ptr, alpha_ptr, u_ptr, h_ptr, graw_ptr, g_ptr, v_ptr, eps_ptr, s_ptr, dhe_ptr,  # per step
    wr2_ptr, wh_ptr, bh_ptr, lnw_ptr,  # weights
    dd_ptr, dh_ptr, dq_ptr, dm0_ptr,  # outputs
    T, B,
    D: tl.constexpr, S: tl.constexpr, BD: tl.constexpr, BS: tl.constexpr,
    O_W: tl.constexpr, O_WQ: tl.constexpr, KG: tl.constexpr,
    ERASE: tl.constexpr, SURPRISE: tl.constexpr, CONTENT: tl.constexpr,
    WK: tl.constexpr, LN_EPS: tl.constexpr,
):
    """One program per sequence b: the loop in reverse, dL/dM_{t+1} carried on chip. Writes per step
    dd (T, B, D + KG) = dL/d[u | gate logits | erase logits | write logits | write-query logits], dh (T, B, D)
    = total dL/dh_t, dq (T, B, D) = dL/dq_t, and at the end dm0 (B, S, D) = dL/dM_0.
    With U = M + alpha_i g (v - eps M), dU = dL/dU, A1 = sum_i alpha_i dU_i, A2 = sum_i alpha_i dU_i M_i:
    dL/dv = g A1, dL/deps = -g A2, dL/dg = v A1 - eps A2, dL/dalpha_i = sum_d dU_i (g v - g eps M_i)."""
    b = tl.program_id(0).to(tl.int64)
    od = tl.arange(0, BD)
    md = od < D
    os_ = tl.arange(0, BS)
    ms = os_ < S
    sd = os_[:, None] * D + od[None, :]
    msd = ms[:, None] & md[None, :]
    DW: tl.constexpr = D + KG  # row length of dd
    ln_w = tl.load(lnw_ptr + od, mask=md, other=0.0)
    if CONTENT:
        b_wq = tl.load(bh_ptr + O_WQ + od, mask=md, other=0.0)
    dm = tl.zeros([BS, BD], tl.float32)  # dL/dM_{t+1}
    for i in range(T):
        t = T - 1 - i
        row = t * B + b
        M = tl.load(mem_ptr + row * S * D + sd, mask=msd, other=0.0)  # M_t
        M_next = tl.load(mem_ptr + (row + B) * S * D + sd, mask=msd, other=0.0)  # M_{t+1}
        alpha = tl.load(alpha_ptr + row * S + os_, mask=ms, other=0.0)
        g = tl.load(g_ptr + row * D + od, mask=md, other=0.0)
        v = tl.load(v_ptr + row * D + od, mask=md, other=0.0)
        if SURPRISE:
            graw = tl.load(graw_ptr + row * D + od, mask=md, other=0.0)
            gfac = graw * (1.0 - graw) * tl.minimum(tl.maximum(tl.load(s_ptr + row), 0.05), 1.0)
        else:
            gfac = g * (1.0 - g)  # sigmoid' of the gate logits
        dU = dm * (1.0 - M_next * M_next)  # tanh'
        a1 = tl.sum(alpha[:, None] * dU, axis=0)  # (BD,) A1
        d_write = a1 * g * (1.0 - v * v) * (WK * 0.5)
        d_gate = a1 * v * gfac
        if CONTENT:
            dalpha = tl.sum(dU * (g * v)[None, :], axis=1)  # (BS,)
        if ERASE:
            eps = tl.load(eps_ptr + row * D + od, mask=md, other=0.0)
            dum = dU * M
            a2 = tl.sum(alpha[:, None] * dum, axis=0)  # A2
            d_erase = a2 * g * eps * (eps - 1.0)
            d_gate -= a2 * gfac * eps
            if CONTENT:
                dalpha -= tl.sum(dum * (g * eps)[None, :], axis=1)
            dm_new = dU - alpha[:, None] * dU * (g * eps)[None, :]
        else:
            dm_new = dU
        # h_t feeds every projection; dh_ext is the heads' gradient from outside
        dh = tl.load(dhe_ptr + row * D + od, mask=md, other=0.0)
        dh += _tmv(_tile(wh_ptr, 0, D, D, BD, BD), d_gate) + _tmv(_tile(wh_ptr, O_W, D, D, BD, BD), d_write)
        if ERASE:
            dh += _tmv(_tile(wh_ptr, D, D, D, BD, BD), d_erase)
        if CONTENT:
            h = tl.load(h_ptr + row * D + od, mask=md, other=0.0)
            wq_tile = _tile(wh_ptr, O_WQ, D, D, BD, BD)
            ws = _mv(wq_tile, h) + b_wq  # the write query, recomputed
            dasc = _softmax_bw(dalpha, alpha)  # dL/d write scores
            d_wq = tl.sum(dasc[:, None] * M, axis=0)
            dm_new += dasc[:, None] * ws[None, :]
            dh += _tmv(wq_tile, d_wq)
        # LayerNorm backward: h = xhat ln_w + ln_b, xhat = (u - mean) rstd
        u = tl.load(u_ptr + row * D + od, mask=md, other=0.0)
        mean = tl.sum(u, axis=0) / D
        diff = tl.where(md, u - mean, 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(diff * diff, axis=0) / D + LN_EPS)
        xhat = diff * rstd
        dxhat = dh * ln_w
        du = rstd * (dxhat - tl.sum(dxhat, axis=0) / D - xhat * (tl.sum(dxhat * xhat, axis=0) / D))
        du = tl.where(md, du, 0.0)
        # r = beta M feeds u (W_r) and the gate (W_g[r]); beta = softmax(q M^T)
        dr = _tmv(_tile(wr2_ptr, 0, D, D, BD, BD), du) + _tmv(_tile(wr2_ptr, D, D, D, BD, BD), d_gate)
        beta = tl.load(beta_ptr + row * S + os_, mask=ms, other=0.0)
        dsc = _softmax_bw(tl.sum(M * dr[None, :], axis=1), beta)
        qv = tl.load(q_ptr + row * D + od, mask=md, other=0.0)
        dm_new += beta[:, None] * dr[None, :] + dsc[:, None] * qv[None, :]
        tl.store(dq_ptr + row * D + od, tl.sum(dsc[:, None] * M, axis=0), mask=md)
        tl.store(dh_ptr + row * D + od, dh, mask=md)
        base = dd_ptr + row * DW
        tl.store(base + od, du, mask=md)
        tl.store(base + D + od, d_gate, mask=md)
        if ERASE:
            tl.store(base + 2 * D + od, d_erase, mask=md)
        tl.store(base + D + O_W + od, d_write, mask=md)
        if CONTENT:
            tl.store(base + D + O_WQ + od, d_wq, mask=md)
        dm = tl.where(msd, dm_new, 0.0)
    tl.store(dm0_ptr + b * S * D + sd, dm, mask=msd)
