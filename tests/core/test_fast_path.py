"""The fast path equals the per-token reference loop: logits, stats and every parameter gradient, for all memory models."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from forgetnet_core.models import SLOT_MODELS, build_model
from forgetnet_core.models.base import MEMORY_STATS
from forgetnet_core.tasks import TASKS, make_batch

ATOL = 1e-5  # the contract, float32
# Odd sizes: d = 24 makes 1/sqrt(d) inexact (d = 64 and 16 are exact), S = 5, window 3.
ODD = dict(vocab_size=128, d_model=24, memory_slots=5, window=3, max_seq_len=96)


def model_for(name: str, seed: int = 0, dtype=torch.float32, **overrides):
    torch.manual_seed(seed)
    return build_model(name, **overrides).to(dtype)


def tokens(batch: int, seq_len: int, vocab: int = 128, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, seq_len), generator=torch.Generator().manual_seed(seed))


def trainer_loss(out, ids, labels):
    """The trainer's loss: answer CE at the last position + 0.1 * next-token CE."""
    V = out.token_logits.shape[-1]
    aux = F.cross_entropy(out.token_logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1)) if ids.shape[1] > 1 else 0.0
    return F.cross_entropy(out.answer_logits[:, -1], labels) + 0.1 * aux


def dense_loss(out, seed=2):
    """A random linear function of every logit, so that every position's gradient is exercised."""
    gen = torch.Generator().manual_seed(seed)
    ra = torch.randn(out.answer_logits.shape, generator=gen).to(out.answer_logits)
    rt = torch.randn(out.token_logits.shape, generator=gen).to(out.token_logits)
    return (out.answer_logits * ra).mean() + (out.token_logits * rt).mean()


def run(model, ids, offset, reference, loss_fn):
    model.zero_grad(set_to_none=True)
    out = model(ids, position_offset=offset, reference=reference)
    loss_fn(out).backward()
    grads = {n: None if p.grad is None else p.grad.detach().clone() for n, p in model.named_parameters()}
    return out, grads


def assert_equivalent(model, ids, offset=0, loss_fn=None, atol=ATOL):
    """Fast and reference: same logits, stats, and gradients (same set of None gradients too)."""
    if loss_fn is None:
        labels = torch.randint(0, model.config.vocab_size, (ids.shape[0],), generator=torch.Generator().manual_seed(3))
        loss_fn = lambda out: trainer_loss(out, ids, labels)  # noqa: E731
    fast, g_fast = run(model, ids, offset, False, loss_fn)
    ref, g_ref = run(model, ids, offset, True, loss_fn)
    torch.testing.assert_close(fast.answer_logits, ref.answer_logits, rtol=0, atol=atol)
    torch.testing.assert_close(fast.token_logits, ref.token_logits, rtol=0, atol=atol)
    assert set(fast.stats) == set(ref.stats) == set(MEMORY_STATS)
    for key in MEMORY_STATS:
        assert not fast.stats[key].requires_grad and fast.stats[key].dim() == 0
        torch.testing.assert_close(fast.stats[key], ref.stats[key], rtol=0, atol=atol, msg=key)
    assert fast.trace is None
    for name in g_ref:
        assert (g_fast[name] is None) == (g_ref[name] is None), f"{name}: gradient presence differs"
        if g_ref[name] is not None:
            torch.testing.assert_close(g_fast[name], g_ref[name], rtol=0, atol=atol, msg=name)
    return g_ref


@pytest.mark.parametrize("name", SLOT_MODELS)
def test_defaults_random_tokens_with_offset_train_and_eval(name):
    model = model_for(name)
    ids = tokens(3, 30)
    model.train()
    grads = assert_equivalent(model, ids, offset=17)
    model.eval()
    assert_equivalent(model, ids, offset=0)
    # the gradients are real: memory and the gate are trained through the recurrence
    assert grads["memory_init"].abs().sum() > 0 and grads["gate_proj.weight"].abs().sum() > 0
    unused = {"no_forget": "erase_proj.weight", "random_write": "write_query.weight", "fifo_memory": "write_query.weight"}
    if name in unused:
        assert grads[unused[name]] is None  # an ablation's unused weight gets no gradient, as in the reference


@pytest.mark.parametrize("name", SLOT_MODELS)
def test_odd_sizes_every_position_gradient(name):
    model = model_for(name, seed=4, **ODD)
    assert_equivalent(model, tokens(3, 29, seed=5), offset=60, loss_fn=dense_loss)


@pytest.mark.parametrize("name", SLOT_MODELS)
def test_float64_matches_tightly(name):
    """In float64 the two paths agree to ~1e-12: any formula slip in the hand-written backward would show."""
    model = model_for(name, seed=6, dtype=torch.float64, **ODD)
    assert_equivalent(model, tokens(2, 23, seed=7), offset=3, loss_fn=dense_loss, atol=1e-10)


@pytest.mark.parametrize("task", TASKS)
def test_every_task(task):
    batch = make_batch(task, seed=11, seq_len=32, batch_size=3)
    for name in SLOT_MODELS:
        model = model_for(name, seed=8)
        loss = lambda out: trainer_loss(out, batch.input_ids, batch.labels)  # noqa: E731
        assert_equivalent(model, batch.input_ids, offset=9, loss_fn=loss)


@pytest.mark.parametrize("name", SLOT_MODELS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 1), (1, 2), (3, 9)])
def test_tiny_shapes_and_window_edge_cases(name, shape):
    for window in (0, 1, 8):
        model = model_for(name, seed=9, **{**ODD, "window": window})
        assert_equivalent(model, tokens(*shape, seed=10), offset=2, loss_fn=dense_loss)


@pytest.mark.parametrize("name", SLOT_MODELS)
def test_inference_path_equals_training_path(name):
    model = model_for(name, seed=12)
    ids = tokens(3, 33, seed=13)
    with torch.no_grad():
        lean = model(ids, position_offset=5)  # no autograd: two memory buffers reused, not T + 1
    full = model(ids, position_offset=5)
    assert full.answer_logits.requires_grad and not lean.answer_logits.requires_grad
    torch.testing.assert_close(lean.answer_logits, full.answer_logits.detach(), rtol=0, atol=0)
    torch.testing.assert_close(lean.token_logits, full.token_logits.detach(), rtol=0, atol=0)
    for key in MEMORY_STATS:
        torch.testing.assert_close(lean.stats[key], full.stats[key], rtol=0, atol=0)


def test_switches_between_paths():
    model = model_for("forgetnet", seed=14, **ODD)
    ids = tokens(2, 12, seed=15)
    with torch.no_grad():
        fast = model(ids)
        ref = model(ids, reference=True)
        traced = model(ids, trace=True)
        model.fast = False
        forced = model(ids)
    assert traced.trace is not None and fast.trace is None
    assert torch.equal(forced.answer_logits, ref.answer_logits)  # fast = False is the reference loop
    assert torch.equal(traced.answer_logits, ref.answer_logits)  # trace always runs the reference loop
    assert not torch.equal(fast.answer_logits, ref.answer_logits)  # a different computation...
    torch.testing.assert_close(fast.answer_logits, ref.answer_logits, rtol=0, atol=ATOL)  # ...of the same function


def test_memory_stays_bounded_on_a_long_sequence():
    model = model_for("forgetnet", seed=16)
    with torch.no_grad():
        out = model(tokens(2, 512, seed=17))
    assert torch.isfinite(out.answer_logits).all()
    assert 0 < out.stats["memory_norm"] <= 1.0  # tanh keeps every slot in [-1, 1]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("name", SLOT_MODELS)
def test_cuda_fast_path_matches_cpu_reference(name):
    model = model_for(name, seed=18)
    ids = tokens(4, 40, seed=19)
    labels = torch.randint(0, 128, (4,), generator=torch.Generator().manual_seed(3))
    ref, g_ref = run(model, ids, 7, True, lambda out: trainer_loss(out, ids, labels))
    model.cuda()
    ids_c, labels_c = ids.cuda(), labels.cuda()
    fast, g_fast = run(model, ids_c, 7, False, lambda out: trainer_loss(out, ids_c, labels_c))
    torch.testing.assert_close(fast.answer_logits.cpu(), ref.answer_logits, rtol=0, atol=1e-4)
    torch.testing.assert_close(fast.token_logits.cpu(), ref.token_logits, rtol=0, atol=1e-4)
    for name_, g in g_ref.items():
        if g is not None:
            torch.testing.assert_close(g_fast[name_].cpu(), g, rtol=0, atol=1e-4, msg=name_)


def test_a_torch_without_the_private_ops_gets_the_reference_loop_with_one_warning(monkeypatch):
    from forgetnet_core.models import fast

    monkeypatch.setattr(fast, "_MISSING", ["aten._softmax.out"])
    monkeypatch.setattr(fast, "_WARNED", False)
    model = model_for("forgetnet", **ODD)
    ids = tokens(2, 11)
    with pytest.warns(RuntimeWarning, match="fast path off") as caught:
        out = model(ids)
        model(ids)  # warned once, not at every call
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    ref = model(ids, reference=True)
    torch.testing.assert_close(out.answer_logits, ref.answer_logits, rtol=0, atol=0)  # it was the reference loop


def test_this_torch_has_every_op_the_fast_path_uses():
    from forgetnet_core.models import fast

    assert fast.missing_ops() == []
