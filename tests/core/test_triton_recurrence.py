"""The fused Triton recurrence equals the reference loop (logits, stats, every gradient) for the five ForgetNet
models, and every way it cannot run falls back to the torch fast path with a one-line note.

With a CUDA GPU the kernels run compiled on it; without one they run through Triton's interpreter on CPU
tensors. @triton.jit picks the interpreter when a function is decorated, and Triton's own standard library is
decorated when triton is imported: so TRITON_INTERPRET=1 is set while this module imports triton and the
kernels, and again while each kernel test runs (the interpreter's first launch imports more of Triton), but
not for the rest of the session. Without Triton these tests skip.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import warnings

import pytest
import torch

import forgetnet_core.models
from forgetnet_core.models import SLOT_MODELS, build_model
from forgetnet_core.models import forgetnet as forgetnet_module
from forgetnet_core.models import triton_recurrence as tr
from forgetnet_core.models.base import MEMORY_STATS
from forgetnet_core.models.fast import MemoryRecurrence, Plan

CUDA = torch.cuda.is_available()
DEVICE = torch.device("cuda" if CUDA else "cpu")


def _import_kernels():
    """(slot_kernels module or None, why not): compiled with CUDA, else through the interpreter."""
    saved = os.environ.get("TRITON_INTERPRET")
    if not CUDA:
        os.environ["TRITON_INTERPRET"] = "1"
    try:
        already = "triton" in sys.modules
        import triton
        from triton.runtime.interpreter import InterpretedFunction

        from forgetnet_core.models import slot_kernels
    except Exception as exc:  # noqa: BLE001 - not installed (the optional `cuda` extra), or broken
        return None, f"Triton not importable ({type(exc).__name__}: {exc}); pip install 'forgetnet-lab[cuda]'"
    finally:
        if saved is None:
            os.environ.pop("TRITON_INTERPRET", None)
        else:
            os.environ["TRITON_INTERPRET"] = saved
    if not CUDA and not isinstance(triton.language.zeros, InterpretedFunction):
        why = "imported before this module" if already else "not in interpreter mode"
        return None, f"triton was {why}; run: TRITON_INTERPRET=1 pytest {__file__}"
    return slot_kernels, None


KERNELS, NO_TRITON = _import_kernels()
needs_triton = pytest.mark.skipif(KERNELS is None, reason=NO_TRITON or "")
ATOL = 1e-4  # the contract for the kernel against the reference loop, float32
ODD = {"vocab_size": 128, "d_model": 24, "memory_slots": 5, "window": 3, "max_seq_len": 96}  # padded and masked in the kernel
SMALL = {"d_model": 8, "memory_slots": 4, "window": 2, "max_seq_len": 32}  # the smallest shapes a kernel block allows


@pytest.fixture
def kernels(monkeypatch):
    """The slot kernels this module imported (compiled on CUDA, interpreted on CPU), installed in triton_recurrence."""
    if KERNELS is None:
        pytest.skip(NO_TRITON)
    if not CUDA:
        monkeypatch.setenv("TRITON_INTERPRET", "1")
    monkeypatch.setattr(tr, "_kernels", KERNELS)
    monkeypatch.setattr(tr, "_problem", None)
    monkeypatch.setattr(tr, "_proven", set())
    return KERNELS


@pytest.fixture
def use_kernel(kernels, monkeypatch):
    """The model's recurrence goes through the kernel on this test's device (CPU: the interpreter)."""
    monkeypatch.setattr(forgetnet_module, "kernel_available", lambda device: True)
    return kernels


def random_inputs(plan: Plan, T: int, B: int, S: int, V: int, seed: int):
    """Inputs of MemoryRecurrence for `plan`, the differentiable ones requiring grad."""
    gen = torch.Generator().manual_seed(seed)
    d = plan.d
    K = plan.o_tok + (V if plan.surprise else 0)

    def rand(*shape, scale=1.0):
        return (torch.randn(*shape, generator=gen) * scale).to(DEVICE).requires_grad_()

    q, c, m0 = rand(T, B, 1, d), rand(T, B, d), rand(S, d, scale=0.3)
    wr2, wh, bh = rand(2 * d, d, scale=0.3), rand(K, d, scale=0.3), rand(K, scale=0.1)
    ln_w = (torch.rand(d, generator=gen) + 0.5).to(DEVICE).requires_grad_()
    ln_b, w_gs = rand(d, scale=0.1), rand(d)
    x = torch.randint(0, V, (T, B), generator=gen).to(DEVICE)
    alpha_fixed = None
    if not plan.content:
        slots = torch.randint(0, S, (T, B), generator=gen)
        alpha_fixed = torch.nn.functional.one_hot(slots, S).float()[:, :, None].to(DEVICE)
    return [q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs], x, alpha_fixed


def outputs_and_grads(fn, diff, x, alpha_fixed, plan):
    for t in diff:
        t.grad = None
    h, g, eps, s, m_last = fn(*diff, x, alpha_fixed, plan)
    weights = torch.randn(h.shape, generator=torch.Generator().manual_seed(9)).to(h)
    (h * weights).sum().backward()
    return [h, g, eps, s, m_last], [t.grad for t in diff]


PLANS = list(itertools.product((True, False), repeat=4))  # erase, surprise, content, sigmoid_tanh


@needs_triton
@pytest.mark.parametrize("erase,surprise,content,sigmoid_tanh", PLANS)
def test_kernel_equals_the_torch_recurrence_for_every_plan(kernels, erase, surprise, content, sigmoid_tanh):
    """Op level, odd sizes (d = 6, S = 3, V = 10: every block padded): outputs and the gradient of every input."""
    plan = Plan(d=6, erase=erase, surprise=surprise, content=content, sigmoid_tanh=sigmoid_tanh, ln_eps=1e-5)
    diff, x, alpha_fixed = random_inputs(plan, T=5, B=3, S=3, V=10, seed=len(PLANS))
    out_k, grads_k = outputs_and_grads(tr.TritonRecurrence.apply, diff, x, alpha_fixed, plan)
    out_t, grads_t = outputs_and_grads(MemoryRecurrence.apply, diff, x, alpha_fixed, plan)
    for name, a, b in zip(("h", "g", "eps", "s", "m_last"), out_k, out_t):
        assert (a is None) == (b is None), name
        if b is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=name)
    for name, a, b in zip(("q", "c", "m0", "wr2", "wh", "bh", "ln_w", "ln_b", "w_gs"), grads_k, grads_t):
        assert (a is None) == (b is None), f"{name}: gradient presence differs"
        if b is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=name)
    with torch.no_grad():  # the inference launch (nothing saved) gives the same outputs
        lean = tr.fused_slot_recurrence(*diff, x, alpha_fixed, plan)
    for a, b in zip(lean, out_k):
        if b is not None:
            torch.testing.assert_close(a, b, rtol=0, atol=0)


@needs_triton
def test_every_plan_compiles_for_an_h200_without_a_gpu():
    """What the interpreter cannot check: Triton's compiler and ptxas accept both kernels of all 8 Plans for
    sm_90 at the default sizes (d = 64, S = 16, V = 128). A fresh process: the interpreter compiles nothing."""
    code = "from forgetnet_core.models.triton_recurrence import compile_kernels; print(len(compile_kernels(90)))"
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == "16", proc.stderr[-2000:]


def assert_model_matches_reference(model, ids, offset, loss_fn):
    def run(reference):
        model.zero_grad(set_to_none=True)
        out = model(ids, position_offset=offset, reference=reference)
        loss_fn(out).backward()
        return out, {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}

    fast, g_fast = run(False)
    ref, g_ref = run(True)
    torch.testing.assert_close(fast.answer_logits, ref.answer_logits, rtol=0, atol=ATOL)
    torch.testing.assert_close(fast.token_logits, ref.token_logits, rtol=0, atol=ATOL)
    for key in MEMORY_STATS:
        torch.testing.assert_close(fast.stats[key], ref.stats[key], rtol=0, atol=ATOL, msg=key)
    for name, g in g_ref.items():
        assert (g_fast[name] is None) == (g is None), f"{name}: gradient presence differs"
        if g is not None:
            torch.testing.assert_close(g_fast[name], g, rtol=0, atol=ATOL, msg=name)
    with torch.no_grad():  # evaluation: the kernel without a backward
        lean = model(ids, position_offset=offset)
    torch.testing.assert_close(lean.answer_logits, ref.answer_logits.detach(), rtol=0, atol=ATOL)


def trainer_loss(ids, labels):
    def loss(out):
        V = out.token_logits.shape[-1]
        aux = torch.nn.functional.cross_entropy(out.token_logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        return torch.nn.functional.cross_entropy(out.answer_logits[:, -1], labels) + 0.1 * aux

    return loss


@needs_triton
@pytest.mark.parametrize("name", SLOT_MODELS)
@pytest.mark.parametrize("sizes", ["default", "odd", "small"])
def test_model_through_the_kernel_equals_the_reference_loop(use_kernel, name, sizes):
    """Logits, stats and every parameter gradient (and which are None) within 1e-4 of the per-token loop."""
    overrides = {"default": {}, "odd": ODD, "small": SMALL}[sizes]
    torch.manual_seed(3)
    model = build_model(name, **overrides).to(DEVICE)
    gen = torch.Generator().manual_seed(4)
    ids = torch.randint(0, 128, (2, 5), generator=gen).to(DEVICE)
    labels = torch.randint(0, 128, (2,), generator=gen).to(DEVICE)
    assert_model_matches_reference(model, ids, 7, trainer_loss(ids, labels))
    assert tr._problem is None and tr._proven == {"forward", "backward"}  # the kernels ran, no fallback


# ----------------------------------------------------------------------------- fallbacks (no Triton needed)
def test_importing_the_core_does_not_import_triton():
    code = "import sys, forgetnet_core.models, forgetnet_core.train; assert 'triton' not in sys.modules, 'triton'"
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-500:]


def test_cpu_keeps_the_torch_fast_path_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not tr.kernel_available(torch.device("cpu"))


def test_cuda_without_triton_falls_back_with_one_line_noted_once(monkeypatch):
    monkeypatch.setattr(tr, "_kernels", None)
    monkeypatch.setattr(tr, "_problem", None)
    monkeypatch.setattr(tr, "_noted", False)
    monkeypatch.setitem(sys.modules, "triton", None)  # `import triton` raises ImportError
    monkeypatch.delitem(sys.modules, "forgetnet_core.models.slot_kernels", raising=False)
    monkeypatch.delattr(forgetnet_core.models, "slot_kernels", raising=False)  # so it is imported afresh
    with pytest.warns(RuntimeWarning, match="fused CUDA recurrence off") as caught:
        answers = [tr.kernel_available(torch.device("cuda")) for _ in range(2)]  # noted once, not at every step
    assert answers == [False, False]
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert "ImportError" in str(caught[0].message) or "ModuleNotFoundError" in str(caught[0].message)


def _fail(*args, **kwargs):
    raise RuntimeError("PTX .version 9.9 does not support .target sm_20\nsecond line")


def test_a_kernel_failing_on_first_use_falls_back_to_the_fast_path(monkeypatch):
    """Forward kernel fails: the fast path runs instead (noted once); backward kernel fails: the gradient is
    recomputed through the torch recurrence. Either way the step's numbers are the fast path's."""
    torch.manual_seed(0)
    model = build_model("forgetnet", **SMALL)
    ids = torch.randint(0, 128, (2, 5), generator=torch.Generator().manual_seed(1))

    def step():
        model.zero_grad(set_to_none=True)
        out = model(ids)
        out.answer_logits.square().mean().backward()
        return out.answer_logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    expected_logits, expected_grads = step()  # CPU: the torch fast path
    monkeypatch.setattr(forgetnet_module, "kernel_available", lambda device: True)
    for broken in ("kernel_forward", "kernel_backward"):
        monkeypatch.setattr(tr, "_problem", None)
        monkeypatch.setattr(tr, "_proven", set())
        monkeypatch.setattr(tr, "_noted", False)
        if broken == "kernel_backward":  # a forward that "runs": the torch loop in the kernel's saved layout
            monkeypatch.setattr(tr, "TritonRecurrence", _forward_as_saved_by_torch())
        monkeypatch.setattr(tr, broken, _fail)
        with pytest.warns(RuntimeWarning, match="fused CUDA recurrence off") as caught:
            logits, grads = step()
        assert len(caught) == 1 and "\n" not in str(caught[0].message) and "RuntimeError" in str(caught[0].message)
        torch.testing.assert_close(logits, expected_logits, rtol=0, atol=0)
        assert set(grads) == set(expected_grads)
        for n, g in expected_grads.items():
            torch.testing.assert_close(grads[n], g, rtol=0, atol=1e-6, msg=f"{broken}: {n}")


def _forward_as_saved_by_torch():
    """TritonRecurrence whose forward is the torch loop (so no Triton is needed), its backward the real one."""

    class Patched(tr.TritonRecurrence):
        @staticmethod
        def forward(ctx, q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan):
            from forgetnet_core.models.fast import recurrence_forward

            outs, _ = recurrence_forward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, alpha_fixed, plan, save=False)
            T, B = x.shape
            S = m0.shape[-2]
            ctx.plan, ctx.m0_dim = plan, m0.dim()
            beta = torch.zeros(T, B, S)
            saved = (None, None, beta) + (None,) * 8 + (beta if alpha_fixed is None else alpha_fixed.view(T, B, S),)
            ctx.save_for_backward(q, c, m0, wr2, wh, bh, ln_w, ln_b, w_gs, x, *saved)
            ctx.mark_non_differentiable(*[o for o in outs[1:] if o is not None])
            ctx.set_materialize_grads(False)
            return outs

    return Patched
