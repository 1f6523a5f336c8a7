"""The stepper's headless core: views equal the model's own trace, events, verdicts, sources, the bundled checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from forgetnet_core import runs
from forgetnet_core.checkpoints import (
    bundled_checkpoints,
    bundled_path,
    bundled_source,
    checkpoint_source,
    default_source,
    fresh_model,
    load_model,
    model_sources,
)
from forgetnet_core.config import MODEL_NAMES
from forgetnet_core.evaluate import evaluate_model
from forgetnet_core.listing import RunLister
from forgetnet_core.stepper import (
    CHANGE_THRESHOLD,
    TOP_K,
    build_stepper_trace,
    causal_surprise,
    example_batch,
)
from forgetnet_core.stepper_figures import save_slot_time_png
from forgetnet_core.vocab import token_name

FORGETNET_BUNDLE = bundled_path("forgetnet")
# Held-out accuracy of the bundled forgetnet checkpoint on changing_facts v2, as measured by
# `forgetnet eval --checkpoint forgetnet_core/assets/stepper_forgetnet_changing_facts.pt --task changing_facts`
# (eval seed 123, 5 batches of 32 = 160 examples, seq_len 64): 23 / 160 right, and
# 26 / 160 answered with a stale value. README.md states the same numbers.
BUNDLED_ACCURACY = 23 / 160
BUNDLED_STALE_RATE = 26 / 160
# The stepper's default, gated_delta_net trained by `python scripts/train_stepper_checkpoint.py --model gated_delta_net`
# (recall recipe, 1500 steps, CPU): 159 / 160 right and no stale answer, measured the same way.
SOLVER_BUNDLE = bundled_path("gated_delta_net")
SOLVER_ACCURACY = 159 / 160
SOLVER_STALE_RATE = 0 / 160


@pytest.fixture(scope="module")
def model():
    return fresh_model("forgetnet", seed=3)


@pytest.fixture(scope="module")
def stepped(model):
    """(StepperTrace, the model's own TraceExample) for changing_facts v2 seed 6 at 32 tokens."""
    st = build_stepper_trace(model, "changing_facts", seed=6, suite="v2", seq_len=32)
    batch = example_batch("changing_facts", 6, "v2", 32)
    with torch.no_grad():
        out = model(batch.input_ids, trace=True)
    return st, out.trace.example(0)


@pytest.mark.parametrize("t", [0, 6, 7, 12, 30, 31])
def test_view_equals_the_model_trace(stepped, t):
    st, ex = stepped
    step = ex.step(t)
    view = st.view(t)
    assert view.token == step.token and view.name == token_name(step.token)
    np.testing.assert_allclose(view.read, step.read_weights.double().numpy(), atol=1e-7)
    np.testing.assert_allclose(view.write, step.write_weights.double().numpy(), atol=1e-7)
    np.testing.assert_allclose(view.memory, step.memory_after.double().numpy(), atol=1e-7)
    assert view.read_slot == step.read_slot and view.write_slot == step.write_slot
    assert view.gate_mean == pytest.approx(step.write_strength, abs=1e-6)
    assert view.erase_mean == pytest.approx(float(step.erase.mean()), abs=1e-6)
    assert view.surprise == pytest.approx(step.surprise, abs=1e-6)
    g, e, v = (x.double().numpy() for x in (step.gate, step.erase, step.write))
    alpha = step.write_weights.double().numpy()
    np.testing.assert_allclose(view.effective_erase, alpha * (g * e).mean(), atol=1e-9)
    np.testing.assert_allclose(view.effective_write, alpha * np.abs(g * v).mean(), atol=1e-9)
    delta = (step.memory_after - step.memory_before).abs().double().numpy()
    np.testing.assert_array_equal(view.changed, delta >= CHANGE_THRESHOLD)
    assert view.max_change == pytest.approx(delta.max())
    probs, ids = torch.topk(torch.softmax(step.token_logits, -1), TOP_K)
    assert [i for i, _ in view.top_tokens] == ids.tolist()
    np.testing.assert_allclose([p for _, p in view.top_tokens], probs.numpy(), atol=1e-6)
    probs, ids = torch.topk(torch.softmax(step.answer_logits, -1), TOP_K)
    assert [i for i, _ in view.top_answers] == ids.tolist()
    np.testing.assert_allclose([p for _, p in view.top_answers], probs.numpy(), atol=1e-6)


def test_surprise_formula_matches_the_trace(stepped):
    st, ex = stepped
    np.testing.assert_allclose(causal_surprise(ex.token_logits, ex.input_ids), ex.surprise.double().numpy(), atol=1e-5)


def test_events_marks_and_jumps(stepped):
    st, _ = stepped
    # seed 6: k18 set to v02 at t=6 (stale), overwritten with v00 at t=12, QUERY at 30, answer read at 31
    assert [(e.t, e.kind) for e in st.events] == [(6, "stale"), (12, "latest"), (30, "query"), (31, "answer")]
    assert "overwrite k18 := v00" in st.event_text(12)
    assert st.marks[6] == st.marks[7] == st.marks[8] == "stale"
    assert st.marks[12] == "latest" and st.marks[30] == st.marks[31] == "query"
    assert 9 not in st.marks
    assert st.next_event(0) == 6 and st.next_event(6) == 12 and st.next_event(7) == 12
    assert st.next_event(31) is None
    assert st.previous_event(12) == 6 and st.previous_event(6) is None
    assert st.view(12).events[0].kind == "latest"


def test_verdict(stepped):
    st, ex = stepped
    answer = int(ex.answer_logits[-1].argmax())
    assert st.verdict.answer == answer
    assert st.verdict.label == st.meta.label == 64
    assert st.verdict.right == (answer == 64)
    assert st.verdict.stale == (answer != 64 and answer in (66,))
    assert ("RIGHT" if st.verdict.right else "WRONG") in st.verdict.describe()


def test_view_is_bounds_checked(stepped):
    st, _ = stepped
    with pytest.raises(IndexError):
        st.view(st.seq_len)


def test_transformer_has_no_memory_but_predictions():
    model = fresh_model("tiny_transformer")
    st = build_stepper_trace(model, "changing_facts", seed=1)
    assert not st.has_memory and st.read is None and st.memory_slots == 0
    view = st.view(10)
    assert view.read is None and view.gate_mean is None
    batch = example_batch("changing_facts", 1)
    with torch.no_grad():
        out = model(batch.input_ids)
    assert [i for i, _ in view.top_answers] == torch.topk(out.answer_logits[0, 10], TOP_K).indices.tolist()
    np.testing.assert_allclose(st.surprise, causal_surprise(out.token_logits[0], batch.input_ids[0]), atol=1e-6)


def test_length_extrapolation_steps_at_the_evaluation_length():
    st = build_stepper_trace(fresh_model("fifo_memory"), "length_extrapolation", seed=0)
    assert st.seq_len == 192
    assert st.view(191).write_slot == 191 % 16  # fifo writes slot t mod S


def test_model_sources(tmp_path):
    run = tmp_path / "no_forget-changing_facts-20260101-000000"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "no_forget", "task": "changing_facts"}))
    torch.manual_seed(0)
    m = fresh_model("no_forget")
    runs.save_checkpoint(run / "checkpoint.pt", {"config": {"model": "no_forget"}, "model_state": m.state_dict(), "step": 1})
    sources = model_sources(info.path for info in RunLister(tmp_path, metrics=False).scan().with_checkpoint())
    assert sources[0].kind == "checkpoint" and sources[0].model == "no_forget"
    assert [s.model for s in sources if s.kind == "fresh"] == list(MODEL_NAMES)
    assert sum(s.kind == "bundled" for s in sources) == len(bundled_checkpoints())
    loaded, label = sources[0].load()
    assert loaded.name == "no_forget" and "no_forget" in label
    assert checkpoint_source(run).path == str(run / "checkpoint.pt")
    assert default_source(str(run)).model == "no_forget"
    assert model_sources([])[0].kind in ("bundled", "fresh")


def test_slot_time_png(stepped, tmp_path):
    st, _ = stepped
    path = save_slot_time_png(st, tmp_path / "out" / "fig.png", upto=12)
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bundled_checkpoint_is_small_and_plain():
    assert FORGETNET_BUNDLE.exists(), "the stepper's contrast checkpoint must ship with the package"
    assert FORGETNET_BUNDLE.stat().st_size < 2 * 1024 * 1024
    data = torch.load(FORGETNET_BUNDLE, map_location="cpu", weights_only=True)
    assert "optimizer_state" not in data and data["config"]["model"] == "forgetnet"
    assert data["config"]["task"] == "changing_facts" and data["config"]["suite"] == "v2"
    assert bundled_source().load()[0].name == bundled_checkpoints()[0].model
    assert default_source().kind == "bundled"


def test_bundled_checkpoint_heldout_accuracy():
    model, _ = load_model(FORGETNET_BUNDLE)
    result = evaluate_model(model, ["changing_facts"], suite="v2", batches=5, batch_size=32, seq_len=64, seed=123)
    result = result["changing_facts"]
    assert result["examples"] == 160
    assert result["accuracy"] == pytest.approx(BUNDLED_ACCURACY, abs=1e-9)
    assert result["stale_rate"] == pytest.approx(BUNDLED_STALE_RATE, abs=1e-9)


def test_the_default_bundle_solves_changing_facts_as_readme_says():
    assert bundled_checkpoints()[0].path == SOLVER_BUNDLE and default_source().model == "gated_delta_net"
    assert SOLVER_BUNDLE.stat().st_size < 2 * 1024 * 1024
    data = torch.load(SOLVER_BUNDLE, map_location="cpu", weights_only=True)
    assert "optimizer_state" not in data and data["config"]["recipe"] == "recall"
    model, _ = load_model(SOLVER_BUNDLE)
    result = evaluate_model(model, ["changing_facts"], suite="v2", batches=5, batch_size=32, seq_len=64, seed=123)
    result = result["changing_facts"]
    assert result["examples"] == 160
    assert result["accuracy"] == pytest.approx(SOLVER_ACCURACY, abs=1e-9) and result["accuracy"] >= 0.95
    assert result["stale_rate"] == pytest.approx(SOLVER_STALE_RATE, abs=1e-9) and result["stale_rate"] <= 0.03
