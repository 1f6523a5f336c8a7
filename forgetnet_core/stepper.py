"""The stepper's headless half: one example traced once into numpy arrays, per-token views, events and figures.

The TUI's stepper computes a :class:`StepperTrace` once (in a worker thread)
and afterwards only indexes it, so a keypress costs microseconds here. Every
number the screen shows at cursor ``t`` comes from :meth:`StepperTrace.view`,
which is what the tests compare against the model's own
:class:`~forgetnet_core.trace.SlotTrace`.

Derived quantities (S slots, d width, at token t):

- ``effective_erase[t, i] = alpha_{t,i} * mean_d(g_t * eps_t)``: the fraction
  of slot i's old content that step t's update removes (before the tanh),
  averaged over the d channels.
- ``effective_write[t, i] = alpha_{t,i} * mean_d(|g_t * v_t|)``: how much new
  content step t adds to slot i.
- ``changed[t]``: the memory cells with ``|M_{t+1} - M_t| >= CHANGE_THRESHOLD``.
- ``surprise[t] = 1 - softmax(z_{t-1})[x_t]`` (``s_0 = 1``): the trace's own
  value for memory models; for the Transformer baselines, which keep no trace,
  the same formula applied to their next-token head.

Matrix memories (the delta-rule models, H heads of a dh x dh state) are kept
in their own terms: ``state[t]`` is S_t after the step, ``written[t] = beta_t
v_t k_t^T``, ``erased[t] = beta_t (alpha_t S_{t-1} k_t) k_t^T`` (the old
value at k_t taken out), ``forgotten[t] = (1 - alpha_t) S_{t-1}``, with the
write strength ``beta`` and forget gate ``alpha`` per head and the read
strength ``|S_t q_t|``. ``memory_kind`` says which ("slot", "matrix", or None
for the Transformers). Every model also gets ``beliefs`` (forgetnet_core.beliefs):
for each key seen so far, the answer it would give if the query came now.

Worked example (changing_facts v2, seed 6, 32 tokens; q = k18 is set to v02
at t=6 and overwritten with v00 at t=12)::

    k11 v31 SEP k11 v12 SEP k18 v02 SEP k11 v46 SEP k18 v00 SEP ... QRY k18
                            ^stale                  ^latest          ^query

``events`` are then t=6 (k18 := v02, stale), t=12 (overwrite k18 := v00, the
answer), t=30 (QUERY k18) and t=31 (answer read here); ``next_event(7) == 12``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np
import torch

from forgetnet_core.vocab import token_name, token_role

from .beliefs import BeliefChange, Beliefs, compute_beliefs
from .checkpoints import ModelSource
from .tasks import ExampleMeta, eval_seq_len, make_batch
from .trace import DeltaTrace

TOP_K = 5  # how many next-token and answer candidates the stepper lists
CHANGE_THRESHOLD = 0.05  # |M_{t+1} - M_t| at or above this marks a memory cell as changed by step t
DEFAULT_SEQ_LEN = 64  # the training length; length_extrapolation uses eval_seq_len (3x)

# Mark kinds of the token strip, strongest first (a token gets the first that applies).
MARK_KINDS = ("latest", "stale", "overwrite", "fact", "hop", "query")


@dataclass(frozen=True)
class StepEvent:
    """A token that matters for the question asked: a fact about the queried key, an overwrite, the query."""

    t: int  # position in the sequence
    kind: str  # fact | stale | overwrite | latest | hop | query | answer
    text: str  # one line for the status bar, e.g. "overwrite k18 := v00 (newest: the answer)"


@dataclass(frozen=True)
class Verdict:
    """The model's answer at the last position against the label."""

    answer: int  # argmax of the answer head at t = T-1
    probability: float  # its softmax probability
    label: int
    right: bool
    stale: bool  # wrong, and the answer is one of the superseded values (changing_facts)
    stale_values: tuple[int, ...]

    def describe(self) -> str:
        head = f"answer {token_name(self.answer)} (p={self.probability:.2f}), label {token_name(self.label)}: "
        if self.right:
            return head + "RIGHT"
        return head + ("WRONG, gave a stale value" if self.stale else "WRONG")


@dataclass(frozen=True)
class StepView:
    """Everything shown at one cursor position, as plain numbers (numpy rows are views, not copies)."""

    t: int
    token: int
    name: str  # token_name(token)
    role: str  # token_role(token)
    surprise: float
    top_tokens: tuple[tuple[int, float], ...]  # (token id, probability) of the next-token head, best first
    top_answers: tuple[tuple[int, float], ...]  # (token id, probability) of the answer head, best first
    has_memory: bool
    read: Optional[np.ndarray] = None  # (S,) beta_t
    write: Optional[np.ndarray] = None  # (S,) alpha_t
    effective_erase: Optional[np.ndarray] = None  # (S,)
    effective_write: Optional[np.ndarray] = None  # (S,)
    gate_mean: Optional[float] = None  # mean_d g_t
    erase_mean: Optional[float] = None  # mean_d eps_t
    read_slot: Optional[int] = None  # argmax beta_t
    write_slot: Optional[int] = None  # argmax alpha_t
    memory: Optional[np.ndarray] = None  # (S, d) M_{t+1} (slot) or (H, dh, dh) S_t (matrix): the memory after this step
    changed: Optional[np.ndarray] = None  # same shape, bool: cells this step moved by >= CHANGE_THRESHOLD
    max_change: Optional[float] = None  # max |after - before|
    memory_kind: Optional[str] = None  # "slot", "matrix" or None
    written: Optional[np.ndarray] = None  # (H, dh, dh) beta v k^T (matrix)
    erased: Optional[np.ndarray] = None  # (H, dh, dh) beta (alpha S k) k^T (matrix)
    forgotten: Optional[np.ndarray] = None  # (H, dh, dh) (1 - alpha) S_{t-1} (matrix)
    beta: Optional[np.ndarray] = None  # (H,) write strength (matrix)
    alpha: Optional[np.ndarray] = None  # (H,) forget gate (matrix)
    read_strength: Optional[np.ndarray] = None  # (H,) |S_t q_t| (matrix)
    beliefs: tuple["BeliefRow", ...] = ()  # every key known at t, in first-seen order
    belief_changes: tuple[BeliefChange, ...] = ()  # changes of belief at exactly this t
    events: tuple[StepEvent, ...] = ()  # events at exactly this t


def belief_status(beliefs: Beliefs, row: int, j: int) -> str:
    """right (the key's newest value), stale (an older value of it), wrong, or unset (no record of the key yet)."""
    truth = int(beliefs.truth[row, j])
    if truth < 0:
        return "unset"  # the queried key before any record of it: nothing to be right about yet
    believed = int(beliefs.believed[row, j])
    if believed == truth:
        return "right"
    earlier = {int(x) for x in beliefs.truth[: row + 1, j] if x >= 0} - {truth}
    return "stale" if believed in earlier else "wrong"


@dataclass(frozen=True)
class BeliefRow:
    """What the model would answer about one key if the query came at the cursor."""

    key: int
    believed: int  # -1: not asked yet
    probability: float
    truth: int  # what the records so far say
    status: str  # right | stale (an older value of the key) | wrong | unset (no record of the key yet)
    queried: bool  # the example's own query key
    change: Optional[str] = None  # a BeliefChange kind at exactly this t


@dataclass
class StepperTrace:
    """One example run through one model, precomputed for O(1) stepping."""

    model_name: str  # registry name
    model_label: str  # what the UI calls it ("forgetnet (bundled checkpoint)", ...)
    task: str
    suite: str
    seed: int
    tokens: list[int]  # (T,)
    meta: ExampleMeta
    surprise: np.ndarray  # (T,)
    top_token_ids: np.ndarray  # (T, K) int
    top_token_probs: np.ndarray  # (T, K)
    top_answer_ids: np.ndarray  # (T, K) int
    top_answer_probs: np.ndarray  # (T, K)
    has_memory: bool
    read: Optional[np.ndarray] = None  # (T, S) beta
    write: Optional[np.ndarray] = None  # (T, S) alpha
    effective_erase: Optional[np.ndarray] = None  # (T, S)
    effective_write: Optional[np.ndarray] = None  # (T, S)
    gate_mean: Optional[np.ndarray] = None  # (T,)
    erase_mean: Optional[np.ndarray] = None  # (T,)
    memory_before: Optional[np.ndarray] = None  # (T, S, d) M_t (slot) or (T, H, dh, dh) S_{t-1} (matrix)
    memory_after: Optional[np.ndarray] = None  # (T, S, d) M_{t+1} (slot) or (T, H, dh, dh) S_t (matrix)
    changed: Optional[np.ndarray] = None  # same shape, bool
    memory_kind: Optional[str] = None  # "slot" (ForgetNet family), "matrix" (delta rule) or None (Transformers)
    written: Optional[np.ndarray] = None  # (T, H, dh, dh) beta_t v_t k_t^T
    erased: Optional[np.ndarray] = None  # (T, H, dh, dh) beta_t (alpha_t S_{t-1} k_t) k_t^T
    forgotten: Optional[np.ndarray] = None  # (T, H, dh, dh) (1 - alpha_t) S_{t-1}
    beta: Optional[np.ndarray] = None  # (T, H) write strength
    alpha: Optional[np.ndarray] = None  # (T, H) forget gate (ones without one)
    read_strength: Optional[np.ndarray] = None  # (T, H) |S_t q_t|
    beliefs: Optional[Beliefs] = None  # what it would answer about each key, at each boundary before the query
    names: list[str] = field(default_factory=list)  # token_name per position
    roles: list[str] = field(default_factory=list)  # token_role per position
    marks: dict[int, str] = field(default_factory=dict)  # t -> MARK_KINDS entry, for every token of a marked record
    events: tuple[StepEvent, ...] = ()  # sorted by t
    verdict: Optional[Verdict] = None
    vocab_names: list[str] = field(default_factory=list)  # token_name of every id, so a UI needs no tasks import
    change_threshold: float = CHANGE_THRESHOLD

    @property
    def seq_len(self) -> int:
        return len(self.tokens)

    @property
    def memory_slots(self) -> int:
        return 0 if self.read is None else int(self.read.shape[1])

    @property
    def heads(self) -> int:
        return 0 if self.beta is None else int(self.beta.shape[1])

    def belief_rows(self, t: int) -> tuple[BeliefRow, ...]:
        """The belief table at cursor t: every key known by then (the query key always), first-seen order."""
        b = self.beliefs
        if b is None:
            return ()
        row = b.at(t)
        changes = {c.key: c.kind for c in b.changes if c.t == t}
        out = []
        for j, key in enumerate(b.keys):
            truth = int(b.truth[row, j])
            believed = int(b.believed[row, j])
            if truth < 0 and key != b.query_key:
                continue
            status = belief_status(b, row, j)
            out.append(BeliefRow(key, believed, float(b.probability[row, j]), truth, status, key == b.query_key,
                                 changes.get(key)))
        return tuple(out)

    def view(self, t: int) -> StepView:
        """What the stepper shows at token ``t`` (0 <= t < T)."""
        if not 0 <= t < self.seq_len:
            raise IndexError(f"token {t} out of range for {self.seq_len} tokens")
        common = dict(
            t=t,
            token=self.tokens[t],
            name=self.names[t],
            role=self.roles[t],
            surprise=float(self.surprise[t]),
            top_tokens=tuple(zip(self.top_token_ids[t].tolist(), self.top_token_probs[t].tolist())),
            top_answers=tuple(zip(self.top_answer_ids[t].tolist(), self.top_answer_probs[t].tolist())),
            has_memory=self.has_memory,
            events=tuple(e for e in self.events if e.t == t),
            memory_kind=self.memory_kind,
            beliefs=self.belief_rows(t),
            belief_changes=self.beliefs.changes_at(t) if self.beliefs is not None else (),
        )
        if not self.has_memory:
            return StepView(**common)
        delta = np.abs(self.memory_after[t] - self.memory_before[t])
        if self.memory_kind == "matrix":
            return StepView(
                **common,
                gate_mean=float(self.gate_mean[t]),
                erase_mean=float(self.erase_mean[t]),
                memory=self.memory_after[t],
                changed=self.changed[t],
                max_change=float(delta.max()),
                written=self.written[t],
                erased=self.erased[t],
                forgotten=self.forgotten[t],
                beta=self.beta[t],
                alpha=self.alpha[t],
                read_strength=self.read_strength[t],
            )
        return StepView(
            **common,
            read=self.read[t],
            write=self.write[t],
            effective_erase=self.effective_erase[t],
            effective_write=self.effective_write[t],
            gate_mean=float(self.gate_mean[t]),
            erase_mean=float(self.erase_mean[t]),
            read_slot=int(self.read[t].argmax()),
            write_slot=int(self.write[t].argmax()),
            memory=self.memory_after[t],
            changed=self.changed[t],
            max_change=float(delta.max()),
        )

    def next_event(self, t: int) -> Optional[int]:
        """The first event position after ``t``, or None when there is none."""
        return next((e.t for e in self.events if e.t > t), None)

    def previous_event(self, t: int) -> Optional[int]:
        """The last event position before ``t``, or None."""
        before = [e.t for e in self.events if e.t < t]
        return before[-1] if before else None

    def event_text(self, t: int) -> str:
        """The events at ``t`` joined into one line ('' when nothing happens there)."""
        return "; ".join(e.text for e in self.events if e.t == t)


# --------------------------------------------------------------------------- building


def example_batch(task: str, seed: int, suite: str = "v2", seq_len: int = DEFAULT_SEQ_LEN):
    """The one-example batch the stepper shows: make_batch(task, seed, length, 1, suite)."""
    return make_batch(task, seed, eval_seq_len(task, seq_len, suite), 1, suite)


def _top_k(logits: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    probs = torch.softmax(logits.float(), dim=-1)  # (T, V)
    values, ids = torch.topk(probs, min(k, probs.shape[-1]), dim=-1)
    return ids.numpy().astype(np.int64), values.numpy().astype(np.float64)


def causal_surprise(token_logits: torch.Tensor, ids: torch.Tensor) -> np.ndarray:
    """s_t = 1 - softmax(z_{t-1})[x_t], s_0 = 1, for a (T, V) head and (T,) ids (the trace's own formula)."""
    probs = torch.softmax(token_logits.float(), dim=-1)  # (T, V)
    s = torch.ones(ids.shape[0], dtype=torch.float32)
    if ids.shape[0] > 1:
        s[1:] = 1.0 - probs[:-1].gather(1, ids[1:, None].long()).squeeze(1)
    return s.numpy().astype(np.float64)


def marks_and_events(meta: ExampleMeta, tokens: Sequence[int]) -> tuple[dict[int, str], tuple[StepEvent, ...]]:
    """The strip marks (t -> kind, for all 3 tokens of a marked record) and the events, from the example's metadata."""
    pos = meta.positions
    stale, latest, overwrites = set(pos.get("stale", ())), set(pos.get("latest", ())), set(pos.get("overwrites", ()))
    hops = tuple(pos.get("hops", ()))
    record_starts = sorted(set(pos.get("facts", ())) | stale | latest | overwrites | set(hops))
    T = len(tokens)
    marks: dict[int, str] = {}
    events: list[StepEvent] = []
    for p in record_starts:
        if p + 1 >= T:
            continue
        if p in latest:
            kind = "latest"
        elif p in stale:
            kind = "stale"
        elif p in overwrites:
            kind = "overwrite"
        elif p in hops:
            kind = "hop"
        else:
            kind = "fact"
        for i in range(p, min(p + 3, T)):
            marks[i] = kind
        record = f"{token_name(tokens[p])} := {token_name(tokens[p + 1])}"
        if p in hops:
            text = f"hop {hops.index(p) + 1}: {record}"
        elif p in overwrites:
            text = f"overwrite {record}"
        else:
            text = record
        if p in latest and meta.stale_values:
            text += " (newest: the answer)"
        elif p in latest:
            text += " (the answer)"
        elif p in stale:
            text += " (stale: overwritten later)"
        events.append(StepEvent(p, kind, text))
    for q in pos.get("query", ()):
        for i in range(q, min(q + 2, T)):
            marks[i] = "query"
        events.append(StepEvent(q, "query", f"QUERY {token_name(meta.query_key)}"))
    events.append(StepEvent(T - 1, "answer", "last token: the answer is read here"))
    events.sort(key=lambda e: (e.t, MARK_KINDS.index(e.kind) if e.kind in MARK_KINDS else 99))
    return marks, tuple(events)


def build_stepper_trace(
    model: torch.nn.Module,
    task: str = "changing_facts",
    seed: int = 0,
    suite: str = "v2",
    seq_len: int = DEFAULT_SEQ_LEN,
    label: str = "",
) -> StepperTrace:
    """Run ``model`` once over the example (task, seed, suite) and precompute everything the stepper shows."""
    batch = example_batch(task, seed, suite, seq_len)
    if batch.seq_len > model.config.max_seq_len:
        raise ValueError(f"{task} needs {batch.seq_len} tokens; the model's max_seq_len is {model.config.max_seq_len}")
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        out = model(batch.input_ids.to(device), trace=bool(model.has_memory))
    meta = batch.meta[0]
    beliefs = compute_beliefs(model, batch.input_ids[0].tolist(), task, meta.positions["query"][0], meta.query_key,
                              device, name=token_name)
    ids = batch.input_ids[0]
    tokens = [int(x) for x in ids.tolist()]
    token_logits = out.token_logits[0].detach().cpu()
    answer_logits = out.answer_logits[0].detach().cpu()
    tok_ids, tok_probs = _top_k(token_logits, TOP_K)
    ans_ids, ans_probs = _top_k(answer_logits, TOP_K)
    marks, events = marks_and_events(meta, tokens)
    final = torch.softmax(answer_logits[-1].float(), dim=-1)
    answer = int(final.argmax())
    verdict = Verdict(
        answer=answer,
        probability=float(final[answer]),
        label=int(meta.label),
        right=answer == int(meta.label),
        stale=answer != int(meta.label) and answer in meta.stale_values,
        stale_values=tuple(meta.stale_values),
    )
    st = StepperTrace(
        model_name=getattr(model, "name", "?"),
        model_label=label or getattr(model, "name", "?"),
        task=task,
        suite=suite,
        seed=seed,
        tokens=tokens,
        meta=meta,
        surprise=causal_surprise(token_logits, ids),
        top_token_ids=tok_ids,
        top_token_probs=tok_probs,
        top_answer_ids=ans_ids,
        top_answer_probs=ans_probs,
        has_memory=out.trace is not None,
        names=[token_name(x) for x in tokens],
        roles=[token_role(x) for x in tokens],
        marks=marks,
        events=events,
        verdict=verdict,
        vocab_names=[token_name(i) for i in range(int(answer_logits.shape[-1]))],
        beliefs=beliefs,
    )
    if isinstance(out.trace, DeltaTrace):
        _fill_matrix(st, out.trace)
    elif out.trace is not None:
        st.memory_kind = "slot"
        ex = out.trace.example(0)
        f64 = lambda x: x.double().numpy()  # noqa: E731
        gate, erase, write = f64(ex.gate), f64(ex.erase), f64(ex.write)  # (T, d)
        alpha = f64(ex.write_weights)  # (T, S)
        st.surprise = f64(ex.surprise)
        st.read = f64(ex.read_weights)
        st.write = alpha
        st.effective_erase = alpha * (gate * erase).mean(axis=1, keepdims=True)
        st.effective_write = alpha * np.abs(gate * write).mean(axis=1, keepdims=True)
        st.gate_mean = gate.mean(axis=1)
        st.erase_mean = erase.mean(axis=1)
        st.memory_before = f64(ex.memory_before)
        st.memory_after = f64(ex.memory_after)
        st.changed = np.abs(st.memory_after - st.memory_before) >= CHANGE_THRESHOLD
    return st


def _fill_matrix(st: StepperTrace, tr: DeltaTrace) -> None:
    """A delta-rule model's trace (example 0) in the stepper's arrays."""
    f64 = lambda x: x[0].detach().double().cpu().numpy()  # noqa: E731
    st.memory_kind = "matrix"
    st.memory_before, st.memory_after = f64(tr.state_before), f64(tr.state_after)  # (T, H, dh, dh)
    st.written, st.erased, st.forgotten = f64(tr.written), f64(tr.erased), f64(tr.forgotten)
    st.beta, st.alpha = f64(tr.beta), f64(tr.alpha)  # (T, H)
    read = np.einsum("thvk,thk->thv", st.memory_after, f64(tr.query))  # (T, H, dh) S_t q_t
    st.read_strength = np.linalg.norm(read, axis=-1)
    st.gate_mean = st.beta.mean(axis=1)
    st.erase_mean = (1.0 - st.alpha).mean(axis=1)
    st.changed = np.abs(st.memory_after - st.memory_before) >= CHANGE_THRESHOLD
    if tr.surprise is not None:
        st.surprise = f64(tr.surprise)


__all__ = [
    "CHANGE_THRESHOLD",
    "MARK_KINDS",
    "BeliefRow",
    "ModelSource",
    "StepEvent",
    "StepView",
    "StepperTrace",
    "TOP_K",
    "Verdict",
    "belief_status",
    "build_stepper_trace",
    "causal_surprise",
    "example_batch",
    "marks_and_events",
]
