"""Beliefs: what a model would answer about each key if the query came now; and the matrix-memory stepper view."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from forgetnet_core.beliefs import compute_beliefs
from forgetnet_core.checkpoints import fresh_model
from forgetnet_core.config import ModelConfig
from forgetnet_core.models.base import ModelOutput
from forgetnet_core.stepper import build_stepper_trace, example_batch
from forgetnet_core.stepper_figures import save_belief_png, save_slot_time_png
from forgetnet_core.vocab import QUERY, records_in, token_name


class Recaller(nn.Module):
    """A stand-in model that, after `QUERY k`, answers from the records before the query with a fixed rule."""

    name = "recaller"
    has_memory = False

    def __init__(self, rule: str) -> None:
        super().__init__()
        self.rule = rule  # "newest" (a perfect memory) or "first" (never takes an overwrite)
        self.config = ModelConfig()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, ids: torch.Tensor, position_offset: int = 0, trace: bool = False) -> ModelOutput:
        B, T = ids.shape
        logits = torch.zeros(B, T, 128)
        for b in range(B):
            row = ids[b].tolist()
            for p in range(1, T):
                if row[p - 1] != QUERY:
                    continue
                values = [r.value for r in records_in(row[: p - 1]) if r.key == row[p]]
                if values:
                    logits[b, p, values[-1] if self.rule == "newest" else values[0]] = 10.0
        return ModelOutput(answer_logits=logits, token_logits=torch.zeros(B, T, 128))


def _beliefs(model, task="changing_facts", seed=3):
    batch = example_batch(task, seed, "v2", 64)
    meta = batch.meta[0]
    return batch, compute_beliefs(model, batch.input_ids[0].tolist(), task, meta.positions["query"][0], meta.query_key,
                                  name=token_name)


@pytest.mark.parametrize("name", ["gated_delta_net", "forgetnet", "conv_transformer", "forgetnet_delta"])
@pytest.mark.parametrize("task,seed", [("changing_facts", 3), ("associative_lookup", 5), ("multi_hop", 2)])
def test_the_belief_about_the_query_key_is_the_models_answer_to_the_real_query(name, task, seed):
    model = fresh_model(name, seed=1)
    batch, beliefs = _beliefs(model, task, seed)
    q = batch.meta[0].positions["query"][0]
    with torch.no_grad():
        real = model(batch.input_ids).answer_logits[0, q + 1].softmax(-1)  # the answer to `QUERY key` in the example itself
    j = beliefs.keys.index(batch.meta[0].query_key)
    assert beliefs.probed[q - 1]  # the token before QUERY ends a record: a boundary
    assert beliefs.believed[q - 1, j] == int(real.argmax())
    assert beliefs.probability[q - 1, j] == pytest.approx(float(real.max()), abs=1e-5)


def test_a_perfect_memory_is_always_right_and_every_overwrite_takes():
    batch, beliefs = _beliefs(Recaller("newest"))
    for t in np.flatnonzero(beliefs.probed):
        known = beliefs.truth[t] >= 0
        assert (beliefs.believed[t][known] == beliefs.truth[t][known]).all()
    kinds = {c.kind for c in beliefs.changes}
    assert kinds <= {"learned", "overwrite"} and "overwrite" in kinds
    meta = batch.meta[0]
    overwrites = [c for c in beliefs.changes if c.kind == "overwrite" and c.key == meta.query_key]
    assert [c.new for c in overwrites] == list(meta.stale_values[1:]) + [meta.label]  # each newer value, in order
    assert [c.t for c in overwrites] == [p + 2 for p in meta.positions["overwrites"]]  # at the SEP ending each record


def test_a_memory_that_never_overwrites_shows_stale_values_surviving():
    batch, beliefs = _beliefs(Recaller("first"))
    meta = batch.meta[0]
    stale = [c for c in beliefs.changes if c.kind == "stale" and c.key == meta.query_key]
    assert [c.t for c in stale] == [p + 2 for p in meta.positions["overwrites"]]
    assert all(c.new == meta.stale_values[0] for c in stale)
    assert "stale value survives" in stale[0].text
    assert not [c for c in beliefs.changes if c.kind in ("overwrite", "lost")]


def test_beliefs_hold_inside_a_record_and_stop_at_the_query():
    _, beliefs = _beliefs(fresh_model("delta_net", seed=2))
    for t in range(1, beliefs.positions):
        if not beliefs.probed[t]:
            assert (beliefs.believed[t] == beliefs.believed[t - 1]).all()
    assert beliefs.at(10_000) == beliefs.positions - 1


@pytest.fixture(scope="module")
def matrix_stepped():
    model = fresh_model("gated_delta_net", seed=4)
    st = build_stepper_trace(model, "changing_facts", seed=6, suite="v2", seq_len=32)
    batch = example_batch("changing_facts", 6, "v2", 32)
    with torch.no_grad():
        trace = model(batch.input_ids, trace=True).trace
    return st, trace


@pytest.mark.parametrize("t", [0, 6, 12, 31])
def test_matrix_view_is_the_models_own_update(matrix_stepped, t):
    st, tr = matrix_stepped
    v = st.view(t)
    assert v.memory_kind == "matrix" and st.heads == 4
    np.testing.assert_allclose(v.memory, tr.state_after[0, t].double().numpy(), atol=1e-7)
    np.testing.assert_allclose(v.written, tr.written[0, t].double().numpy(), atol=1e-7)
    np.testing.assert_allclose(v.erased, tr.erased[0, t].double().numpy(), atol=1e-7)
    np.testing.assert_allclose(v.beta, tr.beta[0, t].double().numpy(), atol=1e-7)
    np.testing.assert_allclose(v.alpha, tr.alpha[0, t].double().numpy(), atol=1e-7)
    before = st.memory_before[t]
    np.testing.assert_allclose(v.memory, v.alpha[:, None, None] * before + v.written - v.erased, atol=1e-6)
    assert v.changed.shape == v.memory.shape and v.max_change == pytest.approx(np.abs(v.memory - before).max())


def test_matrix_model_events_verdict_and_figures(matrix_stepped, tmp_path):
    st, _ = matrix_stepped
    meta = st.meta
    assert [e.t for e in st.events if e.kind == "query"] == list(meta.positions["query"])
    assert st.verdict.label == meta.label and st.verdict.right == (st.verdict.answer == meta.label)
    rows = st.view(st.seq_len - 1).beliefs
    assert [r.key for r in rows if r.queried] == [meta.query_key]
    for path in (save_belief_png(st, tmp_path / "b.png", 20), save_slot_time_png(st, tmp_path / "h.png", 20)):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
