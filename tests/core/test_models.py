"""Model behaviour: parameter counts, shapes, causality, the trace, each ablation's meaning, surprise."""

from __future__ import annotations

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from forgetnet_core.config import ModelConfig
from forgetnet_core.models import (
    DELTA_MODELS,
    MEMORY_MODELS,
    MODEL_NAMES,
    ORIGINAL_MODELS,
    SLOT_MODELS,
    ModelOutput,
    build_model,
    parameter_count,
)
from forgetnet_core.models.base import MEMORY_STATS
from forgetnet_core.trace import TRACE_TENSORS, SlotTrace, TraceExample

# Small sizes so every test runs in well under a second on CPU.
SMALL = dict(vocab_size=32, d_model=16, memory_slots=4, window=3, max_seq_len=40, n_heads=2, d_ff=32)
TRANSFORMERS = [n for n in MODEL_NAMES if n not in MEMORY_MODELS]


def small_model(name: str, seed: int = 0, **overrides):
    torch.manual_seed(seed)
    model = build_model(name, **{**SMALL, **overrides})
    model.eval()  # dropout off for the transformers; the memory models have none
    return model


def tokens(batch: int, seq_len: int, seed: int = 1, vocab: int = SMALL["vocab_size"]) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (batch, seq_len), generator=gen)


def spec_update(before, alpha, g, eps, v):
    """SPEC section 3's update rule, written out independently of the model."""
    out = torch.empty_like(before)
    for i in range(before.shape[-2]):
        a = alpha[..., i : i + 1]  # (..., 1)
        out[..., i, :] = torch.tanh(before[..., i, :] * (1 - a * g * eps) + a * g * v)
    return out


# ------------------------------------------------------------------- registry
def test_model_names_in_spec_order():
    assert MODEL_NAMES == (
        "forgetnet",
        "no_forget",
        "no_surprise",
        "random_write",
        "fifo_memory",
        "tiny_transformer",
        "local_transformer",
        "conv_transformer",
        "delta_net",
        "gated_delta_net",
        "forgetnet_delta",
        "forgetnet_delta_no_surprise",
        "forgetnet_delta_no_forget",
    )
    assert ORIGINAL_MODELS == MODEL_NAMES[:7]
    assert SLOT_MODELS == MODEL_NAMES[:5]
    assert MEMORY_MODELS == SLOT_MODELS + DELTA_MODELS


@pytest.mark.parametrize("name", ORIGINAL_MODELS)
def test_parameter_counts_at_defaults(name):
    model = build_model(name)
    expected = 104_512 if name in SLOT_MODELS else 149_248
    assert parameter_count(model) == expected
    assert model.name == name
    assert model.config == ModelConfig()
    assert model.has_memory is (name in MEMORY_MODELS)
    assert model.conv is None  # the original seven have no convolution unless asked


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_conv_option_adds_a_depthwise_kernel(name):
    d = SMALL["d_model"]
    plain, conv = small_model(name, conv=0), small_model(name, conv=4)
    assert plain.conv is None
    assert parameter_count(conv) - parameter_count(plain) == d * 4 + d  # depthwise weights + bias
    assert model_conv_default(name) == (4 if name not in ORIGINAL_MODELS else 0)


def test_models_without_a_position_table_ignore_the_offset():
    for name in ("conv_transformer", *DELTA_MODELS):
        model = small_model(name)
        assert getattr(model, "pos_emb", None) is None
        x = tokens(2, 9, seed=12)
        torch.testing.assert_close(model(x, position_offset=7).answer_logits, model(x).answer_logits)


def model_conv_default(name: str) -> int:
    return build_model(name, **SMALL).conv_kernel


def test_transformer_token_head_is_tied_to_embedding():
    model = small_model("tiny_transformer")
    x = tokens(2, 6)
    out = model(x)
    with torch.no_grad():
        model.tok_emb.weight.mul_(2.0)
    out2 = model(x)
    assert not torch.allclose(out.token_logits, out2.token_logits)


def test_unknown_model_and_option_raise():
    with pytest.raises(ValueError, match=r"unknown model 'gpt' \(choose from forgetnet, "):
        build_model("gpt")
    with pytest.raises(ValueError, match="unknown model option"):
        build_model("forgetnet", memory_size=4)
    with pytest.raises(ValueError, match="d_model"):
        build_model("forgetnet", d_model=0)


def test_model_config_is_frozen():
    cfg = ModelConfig()
    with pytest.raises(Exception):
        cfg.d_model = 8  # type: ignore[misc]
    assert (cfg.vocab_size, cfg.d_model, cfg.memory_slots, cfg.window, cfg.max_seq_len) == (128, 64, 16, 8, 512)
    assert (cfg.n_layers, cfg.n_heads, cfg.d_ff, cfg.dropout) == (2, 4, 256, 0.1)


# ------------------------------------------------------------ shapes, causality
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_output_shapes_and_stats(name):
    model = small_model(name)
    out = model(tokens(3, 11))
    assert isinstance(out, ModelOutput)
    assert out.answer_logits.shape == (3, 11, SMALL["vocab_size"])
    assert out.token_logits.shape == (3, 11, SMALL["vocab_size"])
    assert out.trace is None
    if name in MEMORY_MODELS:
        surprise = name in SLOT_MODELS or name.startswith("forgetnet_delta")
        assert set(out.stats) == set(MEMORY_STATS) - (set() if surprise else {"surprise"})
        for value in out.stats.values():
            assert value.dim() == 0 and torch.isfinite(value) and not value.requires_grad
        assert 0.0 <= out.stats["write_frequency"] <= 1.0
        if surprise:
            assert 0.0 < out.stats["surprise"] <= 1.0
    else:
        assert out.stats == {}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_causality(name):
    model = small_model(name)
    x = tokens(2, 12, seed=3)
    base = model(x)
    for t in (0, 4, 10):
        y = x.clone()
        y[:, t + 1] = (y[:, t + 1] + 5) % SMALL["vocab_size"]
        out = model(y)
        for field in ("answer_logits", "token_logits"):
            before, after = getattr(base, field), getattr(out, field)
            torch.testing.assert_close(after[:, : t + 1], before[:, : t + 1], rtol=0, atol=1e-6)
            assert not torch.allclose(after[:, t + 1 :], before[:, t + 1 :]), f"token {t + 1} had no effect"


def test_local_transformer_sees_only_its_window():
    model = small_model("local_transformer")  # 2 layers of window 3: receptive field t-6..t
    x = tokens(2, 16, seed=4)
    y = x.clone()
    y[:, 2] = (y[:, 2] + 7) % SMALL["vocab_size"]
    a, b = model(x).answer_logits, model(y).answer_logits
    torch.testing.assert_close(a[:, 9:], b[:, 9:], rtol=0, atol=1e-6)  # 9 - 2 > 2 * 3
    assert not torch.allclose(a[:, 8], b[:, 8])
    # tiny_transformer, by contrast, sees all of it
    full = small_model("tiny_transformer")
    assert not torch.allclose(full(x).answer_logits[:, 15], full(y).answer_logits[:, 15])


def test_memory_reaches_beyond_the_attention_window():
    model = small_model("forgetnet")
    x = tokens(2, 20, seed=5)
    y = x.clone()
    y[:, 0] = (y[:, 0] + 3) % SMALL["vocab_size"]
    assert not torch.allclose(model(x).answer_logits[:, -1], model(y).answer_logits[:, -1])


@pytest.mark.parametrize("name", SLOT_MODELS)
def test_memory_size_is_independent_of_sequence_length(name):
    model = small_model(name)
    S, d = SMALL["memory_slots"], SMALL["d_model"]
    for seq_len in (5, 37):
        trace = model(tokens(2, seq_len), trace=True).trace
        assert trace.memory_after.shape == (2, seq_len, S, d)
        assert trace.memory_after[:, -1].shape == (2, S, d)
        assert trace.memory_after.abs().max() <= 1.0  # tanh keeps it bounded
    assert model.memory_init.shape == (S, d)


# ------------------------------------------------------------------- the trace
@pytest.mark.parametrize("name", SLOT_MODELS)
def test_trace_is_the_computation(name):
    model = small_model(name)
    x = tokens(3, 14, seed=6)
    plain = model(x)
    out = model(x, trace=True)
    tr = out.trace
    assert isinstance(tr, SlotTrace)
    B, T, S, d, V, w = 3, 14, SMALL["memory_slots"], SMALL["d_model"], SMALL["vocab_size"], SMALL["window"]
    expected = {
        "memory_before": (B, T, S, d),
        "memory_after": (B, T, S, d),
        "read_weights": (B, T, S),
        "write_weights": (B, T, S),
        "gate": (B, T, d),
        "erase": (B, T, d),
        "write": (B, T, d),
        "surprise": (B, T),
        "attention": (B, T, w + 1),
        "token_logits": (B, T, V),
        "answer_logits": (B, T, V),
    }
    assert set(expected) == set(TRACE_TENSORS)
    for field, shape in expected.items():
        assert getattr(tr, field).shape == shape, field
        assert not getattr(tr, field).requires_grad, field

    rebuilt = spec_update(tr.memory_before, tr.write_weights, tr.gate, tr.erase, tr.write)
    torch.testing.assert_close(rebuilt, tr.memory_after, rtol=0, atol=1e-6)
    torch.testing.assert_close(tr.memory_before[:, 1:], tr.memory_after[:, :-1], rtol=0, atol=0)
    m0 = model.memory_init.detach()[None].expand(B, S, d)
    torch.testing.assert_close(tr.memory_before[:, 0], m0, rtol=0, atol=0)
    torch.testing.assert_close(tr.token_logits, plain.token_logits.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(tr.answer_logits, plain.answer_logits.detach(), rtol=0, atol=1e-6)
    torch.testing.assert_close(tr.token_logits, out.token_logits.detach(), rtol=0, atol=0)
    for key in plain.stats:
        torch.testing.assert_close(out.stats[key], plain.stats[key])

    # the stats are the documented reductions of the traced tensors
    torch.testing.assert_close(out.stats["write_strength"], tr.gate.mean())
    torch.testing.assert_close(out.stats["write_frequency"], (tr.gate.mean(-1) > 0.1).float().mean())
    torch.testing.assert_close(out.stats["erase_strength"], (tr.gate * tr.erase).mean())
    torch.testing.assert_close(out.stats["surprise"], tr.surprise.mean())
    torch.testing.assert_close(out.stats["memory_norm"], tr.memory_after[:, -1].abs().mean())

    # weights are distributions; gate in [0, 1]
    torch.testing.assert_close(tr.read_weights.sum(-1), torch.ones(B, T))
    torch.testing.assert_close(tr.write_weights.sum(-1), torch.ones(B, T))
    torch.testing.assert_close(tr.attention.sum(-1), torch.ones(B, T))
    assert tr.gate.min() >= 0 and tr.gate.max() <= 1


def test_trace_attention_matches_a_per_token_window():
    model = small_model("forgetnet")
    x = tokens(2, 9, seed=7)
    tr = model(x, trace=True).trace
    w, d = SMALL["window"], SMALL["d_model"]
    with torch.no_grad():
        e = model.tok_emb(x) + model.pos_emb(torch.arange(9))[None]
        for t in range(9):
            lo = max(0, t - w)
            win = e[:, lo : t + 1]  # (B, n, d)
            scores = torch.einsum("bd,bnd->bn", model.attn_q(e[:, t]), model.attn_k(win)) / math.sqrt(d)
            probs = torch.softmax(scores, -1)
            expected = torch.zeros(2, w + 1)
            expected[:, w + 1 - probs.shape[1] :] = probs
            torch.testing.assert_close(tr.attention[:, t], expected, rtol=0, atol=1e-6)
    assert torch.equal(tr.attention[:, 0, :w], torch.zeros(2, w))


def test_trace_example_and_step_views():
    model = small_model("forgetnet")
    x = tokens(3, 8, seed=8)
    tr = model(x, trace=True, position_offset=5).trace
    ex = tr.example(1)
    assert isinstance(ex, TraceExample)
    assert len(ex) == 8 and ex.memory_slots == SMALL["memory_slots"] and ex.window == SMALL["window"]
    for field in TRACE_TENSORS:
        value = getattr(ex, field)
        assert value.shape == getattr(tr, field).shape[1:]
        assert value.device.type == "cpu" and not value.requires_grad
        assert torch.equal(value, getattr(tr, field)[1])
    assert torch.equal(ex.input_ids, x[1])
    assert torch.equal(tr.example(-1).gate, tr.gate[2])
    with pytest.raises(IndexError):
        tr.example(3)
    step = ex.step(2)
    assert step.token == int(x[1, 2]) and step.position == 7 and step.t == 2
    assert step.attention_positions == (-1, 0, 1, 2)
    assert step.attention[0] == 0
    assert torch.equal(step.memory_delta, tr.memory_after[1, 2] - tr.memory_before[1, 2])
    assert step.write_slot == int(tr.write_weights[1, 2].argmax())
    assert ex.step(-1).t == 7


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_transformers_return_no_trace(name):
    out = small_model(name)(tokens(2, 5), trace=True)
    assert out.trace is None and out.stats == {}


# ------------------------------------------------------------------- ablations
def test_no_forget_never_erases():
    tr = small_model("no_forget")(tokens(2, 10), trace=True).trace
    assert torch.equal(tr.erase, torch.zeros_like(tr.erase))
    assert small_model("no_forget")(tokens(2, 10)).stats["erase_strength"] == 0
    assert small_model("forgetnet")(tokens(2, 10), trace=True).trace.erase.abs().sum() > 0


@pytest.mark.parametrize("offset", [0, 9])
def test_fifo_writes_round_robin(offset):
    S = SMALL["memory_slots"]
    tr = small_model("fifo_memory")(tokens(2, 11), position_offset=offset, trace=True).trace
    expected = F.one_hot(torch.arange(11) % S, S).float()[None].expand(2, -1, -1)
    assert torch.equal(tr.write_weights, expected)


@pytest.mark.parametrize("offset", [0, 9])
def test_random_write_slots(offset):
    S = SMALL["memory_slots"]
    x = tokens(2, 11, seed=9)
    tr = small_model("random_write")(x, position_offset=offset, trace=True).trace
    expected = F.one_hot((x + 17 * torch.arange(11)[None]) % S, S).float()
    assert torch.equal(tr.write_weights, expected)


def test_content_write_weights_are_soft():
    tr = small_model("forgetnet")(tokens(2, 10), trace=True).trace
    assert tr.write_weights.max() < 1.0  # softmax over slots, not one-hot


def _perturb_token_head(model):
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.token_head.weight.add_(torch.randn_like(other.token_head.weight))
    return other


def test_no_surprise_ignores_the_token_head():
    x = tokens(2, 12, seed=10)
    model = small_model("no_surprise")
    other = _perturb_token_head(model)
    a, b = model(x, trace=True), other(x, trace=True)
    assert not torch.allclose(a.trace.surprise, b.trace.surprise)  # the diagnostic does change
    torch.testing.assert_close(a.trace.memory_after, b.trace.memory_after, rtol=0, atol=0)
    torch.testing.assert_close(a.answer_logits, b.answer_logits, rtol=0, atol=0)
    # while forgetnet's memory and answers depend on what the token head predicted
    model = small_model("forgetnet")
    other = _perturb_token_head(model)
    a, b = model(x, trace=True), other(x, trace=True)
    assert not torch.allclose(a.trace.memory_after, b.trace.memory_after)
    assert not torch.allclose(a.answer_logits[:, 1:], b.answer_logits[:, 1:])
    torch.testing.assert_close(a.answer_logits[:, 0], b.answer_logits[:, 0])  # s_0 = 1 either way


@pytest.mark.parametrize("name", SLOT_MODELS)
def test_surprise_is_causal_and_detached(name):
    model = small_model(name)
    model.train()
    x = tokens(3, 10, seed=11)
    out = model(x, trace=True)
    s = out.trace.surprise
    assert torch.equal(s[:, 0], torch.ones(3))
    probs = torch.softmax(out.token_logits.detach()[:, :-1], dim=-1)  # (B, T-1, V)
    expected = 1 - probs.gather(-1, x[:, 1:, None]).squeeze(-1)
    torch.testing.assert_close(s[:, 1:], expected, rtol=0, atol=1e-6)

    answer_loss = F.cross_entropy(out.answer_logits[:, -1], x[:, 0])
    answer_loss.backward(retain_graph=True)
    for p in model.token_head.parameters():
        assert p.grad is None or torch.count_nonzero(p.grad) == 0
    model.zero_grad()
    token_loss = F.cross_entropy(out.token_logits[:, :-1].reshape(-1, SMALL["vocab_size"]), x[:, 1:].reshape(-1))
    token_loss.backward()
    assert torch.count_nonzero(model.token_head.weight.grad) > 0


def _confident_token_head(model, token: int):
    """Make the token head predict ``token`` with probability ~1 everywhere."""
    with torch.no_grad():
        model.token_head.weight.zero_()
        model.token_head.bias.fill_(-50.0)
        model.token_head.bias[token] = 50.0


def test_unsurprising_tokens_barely_write():
    x = torch.full((2, 10), 7)
    model = small_model("forgetnet")
    tr = model(x, trace=True).trace
    cap = tr.surprise.clamp(0.05, 1.0)[..., None]  # (B, T, 1)
    assert (tr.gate <= cap + 1e-6).all()
    _confident_token_head(model, 7)
    tr = model(x, trace=True).trace
    assert torch.equal(tr.surprise[:, 0], torch.ones(2))
    assert tr.surprise[:, 1:].max() < 1e-6
    assert tr.gate[:, 1:].max() <= 0.05 + 1e-7  # multiplier clamp(s, 0.05, 1) = 0.05
    assert tr.gate[:, 1:].max() > 0.01  # ... but not zero: the clamp's floor
    assert tr.gate[:, 0].mean() > 0.1  # s_0 = 1: the first token writes freely
    # no_surprise writes just as much whatever the token head predicts
    ablated = small_model("no_surprise")
    _confident_token_head(ablated, 7)
    assert ablated(x, trace=True).trace.gate[:, 1:].mean() > 0.1


# ------------------------------------------------------------- position offset
@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if n not in DELTA_MODELS and n != "conv_transformer"])  # no position table there
def test_position_offset_shifts_the_position_embedding(name):
    model = small_model(name)
    shifted = copy.deepcopy(model)
    k = 6
    with torch.no_grad():
        shifted.pos_emb.weight.copy_(torch.roll(model.pos_emb.weight, -k, dims=0))
    x = tokens(2, 9, seed=12)
    torch.testing.assert_close(model(x, position_offset=k).answer_logits, shifted(x).answer_logits)
    torch.testing.assert_close(model(x, position_offset=k).token_logits, shifted(x).token_logits)
    assert not torch.allclose(model(x, position_offset=k).answer_logits, model(x).answer_logits)

    max_len = SMALL["max_seq_len"]
    model(tokens(1, 9), position_offset=max_len - 9)  # fits exactly
    with pytest.raises(ValueError, match="max_seq_len"):
        model(tokens(1, 9), position_offset=max_len - 8)
    with pytest.raises(ValueError, match="max_seq_len"):
        model(tokens(1, max_len + 1))
    with pytest.raises(ValueError, match="position_offset"):
        model(tokens(1, 4), position_offset=-1)
    with pytest.raises(ValueError, match="input_ids"):
        model(tokens(1, 4)[0])


def test_same_seed_same_model():
    a, b = small_model("forgetnet", seed=3), small_model("forgetnet", seed=3)
    x = tokens(2, 6)
    assert torch.equal(a(x).answer_logits, b(x).answer_logits)
