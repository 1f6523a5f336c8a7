"""The slot recurrence as fused Triton kernels on CUDA: TritonRecurrence, and when to use it instead of the fast path.

:class:`TritonRecurrence` is a ``torch.autograd.Function`` with the signature and outputs of
``fast.MemoryRecurrence``: the forward is one kernel launch (``slot_kernels.recurrence_fwd_kernel``: one
program per sequence, the whole time loop inside, M_t on chip) that also stores what the backward needs; the
backward is one launch of the reverse loop plus the weight gradients as one matmul over all T * B rows each
(``fast.weight_grads``, shared with the torch path). Every Plan of the ForgetNet family is covered: erase on or
off, surprise on or off, content or fixed one-hot write weights.

Triton is optional (the ``cuda`` extra): this module imports without it and loads the kernels only when one is
to run. :func:`kernel_available` says whether tensors on a device get the kernel: only on CUDA, and only when
Triton imports; otherwise the torch fast path runs, with a one-line note when a CUDA GPU is there but Triton
cannot run. A kernel that fails on its first use falls back the same way. The CPU path is unchanged: there
the torch fast path is faster than Triton's interpreter by orders of magnitude (the interpreter, set by
``TRITON_INTERPRET=1`` before the kernels load, is for the tests, which call the kernels on CPU tensors).
"""

from __future__ import annotations

import warnings

import torch

from forgetnet_core.errors import one_line
from forgetnet_core.models.fast import (
    MemoryRecurrence,
    Plan,
    slot_recurrence,
    weight_grads,
)

_aten = torch.ops.aten

_kernels = None  # the slot_kernels module, once loaded
_problem: str | None = None  # why the kernels cannot run in this process (None: not known to fail)
_proven: set[str] = set()  # kernels that have run here ("forward", "backward"): their later failures are raised
_noted = False


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {one_line(exc, 200)}"


def _note(problem: str) -> None:
    global _noted
    if not _noted:
        warnings.warn(f"forgetnet: fused CUDA recurrence off ({problem}); using the torch fast path "
                      "(pip install 'forgetnet-lab[cuda]' for Triton)", RuntimeWarning, stacklevel=3)
        _noted = True


def load_kernels():
    """The slot_kernels module (imports triton); raises ImportError (or triton's error) when it cannot load."""
    global _kernels
    if _kernels is None:
        from forgetnet_core.models import slot_kernels

        if slot_kernels.TRITON_ERROR is not None:
            raise slot_kernels.TRITON_ERROR
        _kernels = slot_kernels
    return _kernels


def kernel_problem() -> str | None:
    """Why the kernels cannot run in this process, in one line (None: Triton loads)."""
    global _problem
    if _problem is None and _kernels is None:
        try:
            load_kernels()
        except Exception as exc:  # noqa: BLE001 - ImportError, or a Triton that fails setting up its backend
            _problem = _one_line(exc)
    return _problem


def kernel_available(device: torch.device) -> bool:
    """True when the recurrence for tensors on ``device`` runs as the fused kernel: CUDA and a working Triton.

    CPU and MPS: False, silently (the fast path is the CPU path). CUDA without Triton: False, noted once."""
    if device.type != "cuda":
        return False
    problem = kernel_problem()
    if problem is not None:
        _note(problem)
        return False
    return True


def fused_slot_recurrence(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan: Plan):
    """``fast.slot_recurrence`` through the Triton kernels (float32; other dtypes take the fast path).

    A TritonRecurrence node when a gradient is needed, else the forward kernel alone (nothing saved)."""
    global _problem
    args = (q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan)
    if q.dtype != torch.float32 or _problem is not None:
        return slot_recurrence(*args)
    try:
        if torch.is_grad_enabled() and any(isinstance(t, torch.Tensor) and t.requires_grad for t in args):
            outs = TritonRecurrence.apply(*args)
        else:
            outs = kernel_forward(*args, save=False)[0]
    except Exception as exc:
        if "forward" in _proven:
            raise
        _problem = _one_line(exc)
        _note(_problem)
        return slot_recurrence(*args)
    _proven.add("forward")
    return outs


def kernel_constants(plan: Plan, S: int, V: int) -> tuple[dict, dict]:
    """The constexpr arguments of the forward and the backward kernel for ``plan``, S slots and V token-head rows."""
    p2 = next_pow2
    shared = {"D": plan.d, "S": S, "BD": p2(plan.d), "BS": p2(S), "ERASE": plan.erase, "SURPRISE": plan.surprise,
              "CONTENT": plan.content, "WK": 1.0 if plan.sigmoid_tanh else 2.0, "LN_EPS": float(plan.ln_eps),
              "O_W": plan.o_write, "O_WQ": plan.o_wq}
    forward = {**shared, "V": V, "BV": p2(max(V, 1)), "O_TOK": plan.o_tok}
    backward = {**shared, "KG": plan.o_tok}
    return forward, backward


def next_pow2(n: int) -> int:
    """The smallest power of two >= n (Triton's block sizes must be powers of two)."""
    return 1 << max(0, int(n) - 1).bit_length()


def _warps(S: int, d: int) -> int:
    """Warps per program. At d = 64, S = 16 (sm_90, ptxas): the backward needs 245 registers a thread at 4
    warps and 128 at 8 (no spills); the forward (its token-head tile is 128 x 64) spills 1 KB a thread at 4
    and 172 bytes at 8. Which is fastest is still to be measured on a GPU."""
    return 8 if next_pow2(d) >= 64 or next_pow2(S) * next_pow2(d) > 1024 else 4


def kernel_forward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan: Plan, save: bool):
    """The forward kernel; same shapes as ``fast.recurrence_forward``: returns ``(h, g, eps, s, m_last)`` and,
    when ``save``, what the backward kernel needs (else None)."""
    k = load_kernels()
    T, B, _, d = q.shape
    S = m0.shape[-2]
    V = wh.shape[0] - plan.o_tok if plan.surprise else 0
    consts, _ = kernel_constants(plan, S, V)
    dev = q.device

    def new(*shape):
        return torch.empty(*shape, dtype=torch.float32, device=dev)

    q2 = q.reshape(T, B, d).contiguous()
    c = c.contiguous()
    m0b = (m0.expand(B, S, d) if m0.dim() == 2 else m0).contiguous()
    h, g, m_last = new(T, B, d), new(T, B, d), new(B, S, d)
    eps = new(T, B, d) if plan.erase else None
    s = new(T, B) if plan.surprise else None
    afix = alpha_fixed.reshape(T, B, S).contiguous() if alpha_fixed is not None else None
    if save:
        mem = new(T + 1, B, S, d)  # M_0..M_T
        mem[0].copy_(m0b)
        beta, r, u, v = new(T, B, S), new(T, B, d), new(T, B, d), new(T, B, d)
        graw = new(T, B, d) if plan.surprise else g  # without surprise the gate is its sigmoid
        alpha = new(T, B, S) if plan.content else afix
    else:
        mem = beta = r = u = v = graw = alpha = None
    dummy = h  # for pointers a Plan does not use (constexpr flags keep the kernel from touching them)

    def ptr(t):
        return dummy if t is None else t

    k.recurrence_fwd_kernel[(B,)](
        q2, c, m0b, wr2.contiguous(), wh.contiguous(), bh.contiguous(), ln_w.contiguous(), ln_b.contiguous(),
        w_gs.contiguous(), x.contiguous(), ptr(afix),
        h, g, ptr(eps), ptr(s), m_last,
        ptr(mem), ptr(beta), ptr(r), ptr(u), ptr(graw), ptr(v), ptr(alpha),
        T, B, SAVE=save, num_warps=_warps(S, d), **consts,
    )
    outs = (h, g, eps, s, m_last)
    if not save:
        return outs, None
    return outs, (q2, mem, beta, r, u, h, graw, g, v, eps, s, alpha)


class TritonRecurrence(torch.autograd.Function):
    """``fast.MemoryRecurrence`` (same inputs, outputs and gradients) as two Triton kernels; see the module docstring.

    If the backward kernel fails on its first use, the gradient is computed by recomputing the forward through
    MemoryRecurrence (with the one-line note), so a step never dies for want of a kernel."""

    @staticmethod
    def forward(ctx, q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan: Plan):
        outs, saved = kernel_forward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan, save=True)
        ctx.plan = plan
        ctx.m0_dim = m0.dim()
        ctx.save_for_backward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, *saved)
        ctx.mark_non_differentiable(*[o for o in outs[1:] if o is not None])
        ctx.set_materialize_grads(False)
        return outs

    @staticmethod
    def backward(ctx, dh_ext, *unused):
        global _problem
        plan: Plan = ctx.plan
        q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, *saved = ctx.saved_tensors
        try:
            grads = kernel_backward(dh_ext, wr2, wh, bh, ln_w, ln_b, saved, plan, ctx.m0_dim)
        except Exception as exc:
            if "backward" in _proven:
                raise
            _problem = _one_line(exc)
            _note(_problem)
            T, B, S = saved[2].shape  # beta (T, B, S)
            alpha_fixed = None if plan.content else saved[-1].view(T, B, 1, S)
            return _recompute_backward(dh_ext, (q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan))
        _proven.add("backward")
        return grads


def kernel_backward(dh_ext, wr2, wh, bh, ln_w, ln_b, saved, plan: Plan, m0_dim: int):
    """The backward kernel and the weight gradients: the gradients of TritonRecurrence's inputs."""
    k = load_kernels()
    q2, mem, beta, r, u, h, graw, g, v, eps, s, alpha = saved
    T, B, d = q2.shape
    S = mem.shape[2]
    kg = plan.o_tok
    dev = q2.device
    dh_ext = torch.zeros(T, B, d, device=dev) if dh_ext is None else dh_ext.contiguous()
    dd = torch.empty(T, B, d + kg, device=dev)  # every column is written at every step
    dh_all, dq, dm0 = torch.empty(T, B, d, device=dev), torch.empty(T, B, d, device=dev), torch.empty(B, S, d, device=dev)
    _, consts = kernel_constants(plan, S, 0)
    k.recurrence_bwd_kernel[(B,)](
        q2, mem, beta, alpha, u, h, graw, g, v, eps if eps is not None else g, s if s is not None else g, dh_ext,
        wr2.contiguous(), wh.contiguous(), bh.contiguous(), ln_w.contiguous(),
        dd, dh_all, dq, dm0,
        T, B, num_warps=_warps(S, d), **consts,
    )
    _, ln_mean, ln_rstd = _aten.native_layer_norm(u, [d], ln_w, ln_b, plan.ln_eps)  # (T, B, 1) each
    s_all = s[..., None] if s is not None else None
    d_wr2, d_wh, d_bh, d_ln_w, d_ln_b, d_wgs = weight_grads(dd, dh_all, r, h, u, ln_mean, ln_rstd, s_all, wh, plan)
    d_m0 = dm0.sum(0) if m0_dim == 2 else dm0
    return dq.view(T, B, 1, d), dd[..., :d], d_m0, d_wr2, d_wh, d_bh, d_ln_w, d_ln_b, d_wgs, None, None, None


def compile_kernels(arch: int = 90, d: int = 64, S: int = 16, V: int = 128) -> list[str]:
    """Compile both kernels of every Plan for CUDA compute capability ``arch`` (90: H100/H200) without a GPU:
    Triton's front end, its GPU passes and ptxas, as on the device. Returns what compiled; raises on the first
    kernel that does not. Run it in a process where TRITON_INTERPRET is unset (the interpreter compiles nothing)."""
    from itertools import product

    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource, compile

    k = load_kernels()
    target = GPUTarget("cuda", arch, 32)
    done = []
    for erase, surprise, content in product((True, False), repeat=3):
        plan = Plan(d=d, erase=erase, surprise=surprise, content=content, sigmoid_tanh=False, ln_eps=1e-5)
        forward, backward = kernel_constants(plan, S, V if surprise else 0)
        for fn, consts in ((k.recurrence_fwd_kernel, {**forward, "SAVE": True}), (k.recurrence_bwd_kernel, backward)):
            types = {n: "constexpr" if n in consts else "i32" if n in ("T", "B") else "*i64" if n == "x_ptr" else "*fp32"
                     for n in fn.arg_names}
            out = compile(ASTSource(fn, types, constexprs=consts), target=target, options={"num_warps": _warps(S, d)})
            if "cubin" not in out.asm:
                raise RuntimeError(f"{fn.__name__}: no cubin for sm_{arch}")
            done.append(f"{fn.__name__} erase={erase} surprise={surprise} content={content}")
    return done


def _recompute_backward(dh_ext, args):
    """The gradients by the torch path: the forward again through MemoryRecurrence, then autograd.grad."""
    n_diff = 9  # q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs
    inputs = [a.detach().requires_grad_() for a in args[:n_diff]]
    with torch.enable_grad():
        h = MemoryRecurrence.apply(*inputs, *args[n_diff:])[0]
        grads = torch.autograd.grad(h, inputs, grad_outputs=dh_ext if dh_ext is not None else torch.zeros_like(h),
                                    allow_unused=True)
    return (*grads, None, None, None)


__all__ = [
    "TritonRecurrence",
    "compile_kernels",
    "fused_slot_recurrence",
    "kernel_available",
    "kernel_backward",
    "kernel_constants",
    "kernel_forward",
    "kernel_problem",
    "load_kernels",
]
