"""Delta-rule memories: the chunked form equals the per-token loop (outputs and gradients), bounded state, each gate's meaning."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from forgetnet_core.models import DELTA_MODELS, build_model
from forgetnet_core.models.delta_rule import delta_rule_chunked, delta_rule_reference
from forgetnet_core.trace import DeltaTrace

SMALL = dict(vocab_size=48, d_model=24, n_heads=3, window=3, max_seq_len=200, d_ff=32)


def small(name: str, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    return build_model(name, **{**SMALL, **overrides}).eval()


def tokens(batch: int, seq_len: int, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, SMALL["vocab_size"], (batch, seq_len), generator=torch.Generator().manual_seed(seed))


def random_inputs(B=2, H=3, T=70, dk=6, dv=5, gated=True, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    q = F.normalize(torch.randn(B, H, T, dk, generator=gen, dtype=dtype), dim=-1)
    k = F.normalize(torch.randn(B, H, T, dk, generator=gen, dtype=dtype), dim=-1)
    v = torch.randn(B, H, T, dv, generator=gen, dtype=dtype)
    beta = torch.rand(B, H, T, generator=gen, dtype=dtype)
    log_alpha = F.logsigmoid(2 + 2 * torch.randn(B, H, T, generator=gen, dtype=dtype)) if gated else None
    state = torch.randn(B, H, dv, dk, generator=gen, dtype=dtype)
    return [x.requires_grad_() if x is not None else None for x in (q, k, v, beta, log_alpha, state)]


@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("chunk", [1, 16, 64, 128])
def test_chunked_equals_reference_outputs_state_and_gradients(gated, chunk):
    q, k, v, beta, log_alpha, state = random_inputs(gated=gated)
    o1, s1 = delta_rule_reference(q, k, v, beta, log_alpha, state)
    o2, s2 = delta_rule_chunked(q, k, v, beta, log_alpha, state, chunk=chunk)
    torch.testing.assert_close(o2, o1, rtol=0, atol=1e-10)
    torch.testing.assert_close(s2, s1, rtol=0, atol=1e-10)
    inputs = [x for x in (q, k, v, beta, log_alpha, state) if x is not None]
    weights = torch.randn(o1.shape, dtype=o1.dtype, generator=torch.Generator().manual_seed(5))
    g1 = torch.autograd.grad((o1 * weights).sum() + s1.pow(2).sum(), inputs)
    g2 = torch.autograd.grad((o2 * weights).sum() + s2.pow(2).sum(), inputs)
    for a, b in zip(g1, g2):
        torch.testing.assert_close(b, a, rtol=0, atol=1e-9)


def test_reference_is_the_update_rule_written_out():
    """S_t = alpha S_{t-1} + beta (v - alpha S_{t-1} k) k^T, o_t = S_t q_t, with plain Python loops over one head."""
    q, k, v, beta, log_alpha, _ = random_inputs(B=1, H=1, T=5, dk=3, dv=2)
    o, state = delta_rule_reference(q, k, v, beta, log_alpha)
    S = torch.zeros(2, 3, dtype=torch.float64)
    for t in range(5):
        a = float(torch.exp(log_alpha[0, 0, t].detach()))
        kt, vt, qt, bt = k[0, 0, t].detach(), v[0, 0, t].detach(), q[0, 0, t].detach(), float(beta[0, 0, t].detach())
        S = a * S + bt * torch.outer(vt - a * (S @ kt), kt)
        torch.testing.assert_close(o[0, 0, t].detach(), S @ qt, rtol=0, atol=1e-12)
    torch.testing.assert_close(state[0, 0].detach(), S, rtol=0, atol=1e-12)


def test_delta_rule_stores_and_overwrites_an_association():
    """beta = 1 writes v at k exactly; a second write at k replaces it (the erase is built in)."""
    k = torch.tensor([1.0, 0.0, 0.0])
    q = k.clone()
    v1, v2 = torch.tensor([1.0, 2.0]), torch.tensor([-3.0, 0.5])
    ks = torch.stack([k, k])[None, None]  # (1, 1, 2, 3)
    vs = torch.stack([v1, v2])[None, None]
    o, _ = delta_rule_reference(torch.stack([q, q])[None, None], ks, vs, torch.ones(1, 1, 2))
    torch.testing.assert_close(o[0, 0, 0], v1)
    torch.testing.assert_close(o[0, 0, 1], v2)


@pytest.mark.parametrize("name", DELTA_MODELS)
@pytest.mark.parametrize("seq_len", [17, 150])  # one chunk, and three chunks with a ragged last one
def test_fast_path_equals_reference_loop(name, seq_len):
    model = small(name).train()
    ids = tokens(2, seq_len)
    gen = torch.Generator().manual_seed(3)

    def run(reference: bool):
        model.zero_grad(set_to_none=True)
        out = model(ids, reference=reference)
        ra = torch.randn(out.answer_logits.shape, generator=torch.Generator().manual_seed(4))
        rt = torch.randn(out.token_logits.shape, generator=torch.Generator().manual_seed(5))
        ((out.answer_logits * ra).mean() + (out.token_logits * rt).mean()).backward()
        return out, {n: None if p.grad is None else p.grad.clone() for n, p in model.named_parameters()}

    del gen
    fast, g_fast = run(False)
    ref, g_ref = run(True)
    torch.testing.assert_close(fast.answer_logits, ref.answer_logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(fast.token_logits, ref.token_logits, rtol=0, atol=1e-5)
    assert set(fast.stats) == set(ref.stats)
    for key in fast.stats:
        torch.testing.assert_close(fast.stats[key], ref.stats[key], rtol=0, atol=1e-5, msg=key)
    for pname, grad in g_ref.items():
        assert (g_fast[pname] is None) == (grad is None), pname
        if grad is not None:
            torch.testing.assert_close(g_fast[pname], grad, rtol=0, atol=1e-5, msg=pname)


@pytest.mark.parametrize("name", DELTA_MODELS)
def test_state_size_is_independent_of_sequence_length(name):
    model = small(name)
    H, dh = SMALL["n_heads"], SMALL["d_model"] // SMALL["n_heads"]
    for seq_len in (5, 90):
        trace = model(tokens(2, seq_len), trace=True).trace
        assert isinstance(trace, DeltaTrace)
        assert trace.state_after.shape == (2, seq_len, H, dh, dh)  # one dh x dh state per head and step
    assert not any("pos" in n for n, _ in model.named_parameters())  # no position table to outgrow


@pytest.mark.parametrize("name", DELTA_MODELS)
def test_trace_decomposes_each_update(name):
    """state_after = alpha * state_before + written - erased, written = beta v k^T, forgotten = (1 - alpha) state_before."""
    model = small(name)
    tr = model(tokens(2, 12, seed=7), trace=True).trace
    alpha = tr.alpha[..., None, None]
    torch.testing.assert_close(tr.state_after, alpha * tr.state_before + tr.written - tr.erased, rtol=0, atol=1e-5)
    torch.testing.assert_close(tr.state_before[:, 1:], tr.state_after[:, :-1], rtol=0, atol=0)
    assert tr.state_before[:, 0].abs().max() == 0
    expected = tr.beta[..., None, None] * tr.value[..., :, None] * tr.key[..., None, :]
    torch.testing.assert_close(tr.written, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(tr.forgotten, (1 - alpha) * tr.state_before, rtol=0, atol=1e-6)
    read = torch.einsum("bthvk,bthk->bthv", tr.state_after, tr.query)
    assert read.shape == (2, 12, SMALL["n_heads"], SMALL["d_model"] // SMALL["n_heads"])


def test_forget_gates_and_their_ablations():
    ids = tokens(2, 12, seed=8)
    for name, gated in [("delta_net", False), ("gated_delta_net", True), ("forgetnet_delta", True),
                        ("forgetnet_delta_no_surprise", True), ("forgetnet_delta_no_forget", False)]:
        tr = small(name)(ids, trace=True).trace
        assert bool((tr.alpha == 1).all()) is not gated, name
        assert bool(tr.forgotten.abs().max() > 0) is gated, name
    fresh = small("gated_delta_net")(ids, trace=True).trace
    assert 0.9 < float(fresh.alpha.mean()) < 0.99  # the forget bias: a fresh gate keeps ~95%


def _confident_token_head(model, token: int):
    with torch.no_grad():
        model.token_head.weight.zero_()
        model.token_head.bias.fill_(-50.0)
        model.token_head.bias[token] = 50.0


def test_surprise_gates_the_write_and_its_ablation_ignores_it():
    x = torch.full((2, 10), 7)
    model = small("forgetnet_delta")
    tr = model(x, trace=True).trace
    assert torch.equal(tr.surprise[:, 0], torch.ones(2))
    assert (tr.beta <= tr.surprise.clamp(0.05, 1.0)[..., None] + 1e-6).all()
    _confident_token_head(model, 7)
    tr = model(x, trace=True).trace
    assert tr.surprise[:, 1:].max() < 1e-6
    assert tr.beta[:, 1:].max() <= 0.05 + 1e-7  # clamp(s, 0.05, 1) = 0.05: predictable tokens barely write
    assert tr.beta[:, 0].mean() > 0.1  # s_0 = 1
    ablated = small("forgetnet_delta_no_surprise")
    _confident_token_head(ablated, 7)
    tr = ablated(x, trace=True).trace
    assert tr.surprise[:, 1:].max() < 1e-6 and tr.beta[:, 1:].mean() > 0.1  # measured, but not used


def test_surprise_is_causal_and_only_the_aux_loss_trains_its_head():
    model = small("forgetnet_delta").train()
    x = tokens(3, 10, seed=11)
    out = model(x, trace=True)
    probs = torch.softmax(out.token_logits.detach()[:, :-1], dim=-1)
    expected = 1 - probs.gather(-1, x[:, 1:, None]).squeeze(-1)
    torch.testing.assert_close(out.trace.surprise[:, 1:], expected, rtol=0, atol=1e-6)
    F.cross_entropy(out.answer_logits[:, -1], x[:, 0]).backward()
    assert model.token_head.weight.grad is None or torch.count_nonzero(model.token_head.weight.grad) == 0
