"""What a model believes as it reads: for every key seen so far, the answer it would give if the query came now.

At each record boundary t before the example's own query (a SEP or NOISE
token: where a query can come, as in the tasks), and for each key with a
record so far, the model is run on ``tokens[0..t] QUERY key`` and its answer
head is read on that last token: the belief about the key at t (inside a
record the belief is the one from the boundary before: probing after a bare
key or value would ask a question the model never sees). For a
recurrent memory that is the answer from its state at t; for a Transformer,
from the prefix. Because every model is causal, all probes go through the
model in one right-padded batch and each answer is read at its own position,
so a whole example costs one (or a few) forward passes in the stepper's worker.

The truth at t is what the records so far say (the key's newest value; for
multi_hop, the value its value points to). A change of belief is an event:

- ``learned``: the belief becomes a key's value when it has had only one
  (a first fact), or comes back to it.
- ``overwrite``: after the key was given a new value, the belief switches to it
  (an overwrite that takes).
- ``stale``: at the end of an overwriting record the belief still holds an older
  value of the key (a stale value that survives), or falls back to one later.
- ``lost``: a right belief turns into a value the key never had.

Worked example (changing_facts: k05 is set to v12, then to v30)::

    t:      0   1   2  ...  9  10  11
    tokens: k05 v12 SEP ... k05 v30 SEP
    belief about k05 at t=2: v12 ("learned") ... at t=11 still v12: "stale" at 11
    (had it answered v30 at t=11: "overwrite" there)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from forgetnet_core.vocab import NOISE, QUERY, SEP, records_in

PROBE_BATCH = 256  # probe sequences per forward pass
EVENT_KINDS = ("learned", "overwrite", "stale", "lost")


@dataclass(frozen=True)
class BeliefChange:
    """A moment a belief changed (or should have and did not)."""

    t: int
    key: int
    kind: str  # one of EVENT_KINDS
    old: Optional[int]  # the belief before (None: no belief yet)
    new: int  # the belief now
    truth: int  # what the records say now
    text: str  # one line, e.g. "k05: v12 -> v30 (the overwrite takes)"


@dataclass
class Beliefs:
    """Beliefs about every key at every position before the query (numpy, for O(1) lookups)."""

    keys: tuple[int, ...]  # K keys, in the order their first record appears
    believed: np.ndarray  # (P, K) int64: the answer to `QUERY key` after the last boundary <= t; -1 before any probe
    probability: np.ndarray  # (P, K) float64: its probability
    truth: np.ndarray  # (P, K) int64: what the records up to that boundary say; -1 before the key is known
    probed: np.ndarray  # (P,) bool: t is a boundary where the model was asked
    changes: tuple[BeliefChange, ...]  # sorted by t
    query_key: int  # the example's own query
    positions: int  # P: beliefs exist for t < P (the example's QUERY token index)

    def at(self, t: int) -> int:
        """The row to read for cursor t: beliefs stop changing once the example's own query has begun."""
        return max(0, min(int(t), self.positions - 1))

    def known(self, t: int) -> list[int]:
        """Column indices of the keys known at t (first-seen order)."""
        row = self.at(t)
        return [j for j in range(len(self.keys)) if self.truth[row, j] >= 0]

    def changes_at(self, t: int) -> tuple[BeliefChange, ...]:
        return tuple(c for c in self.changes if c.t == t)

    def next_change(self, t: int) -> Optional[int]:
        return next((c.t for c in self.changes if c.t > t), None)

    def previous_change(self, t: int) -> Optional[int]:
        before = [c.t for c in self.changes if c.t < t]
        return before[-1] if before else None


def _truth(task: str, values: dict[int, list[int]], key: int) -> int:
    """The answer the records so far give for `key` (-1: none yet)."""
    if not values.get(key):
        return -1
    newest = values[key][-1]
    if task != "multi_hop":
        return newest
    return values[newest][-1] if values.get(newest) else -1


def probe_answers(model: torch.nn.Module, prefixes: Sequence[Sequence[int]], device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """(answer id, probability) of `model` at the last token of each sequence, right-padded into batches."""
    ids = np.zeros(len(prefixes), dtype=np.int64)
    probs = np.zeros(len(prefixes), dtype=np.float64)
    model.eval()
    for start in range(0, len(prefixes), PROBE_BATCH):
        chunk = prefixes[start : start + PROBE_BATCH]
        width = max(len(p) for p in chunk)
        batch = torch.full((len(chunk), width), NOISE, dtype=torch.long)
        for i, p in enumerate(chunk):
            batch[i, : len(p)] = torch.tensor(list(p), dtype=torch.long)
        ends = torch.tensor([len(p) - 1 for p in chunk])
        with torch.no_grad():
            logits = model(batch.to(device)).answer_logits  # (n, width, V): causal, so the padding changes nothing before it
        last = logits[torch.arange(len(chunk)), ends.to(logits.device)].float().softmax(-1).cpu()  # (n, V)
        p, a = last.max(dim=-1)
        ids[start : start + len(chunk)] = a.numpy()
        probs[start : start + len(chunk)] = p.double().numpy()
    return ids, probs


def compute_beliefs(
    model: torch.nn.Module, tokens: Sequence[int], task: str, query_pos: int, query_key: int,
    device: torch.device | str = "cpu", name=str,
) -> Beliefs:
    """Probe `model` for every (position before `query_pos`, known key) and classify the changes of belief.

    `name` renders a token id in event texts (the stepper passes its short token names).
    """
    tokens = [int(x) for x in tokens]
    P = max(1, int(query_pos))
    records = [r for r in records_in(tokens[:P]) if r.start + 1 < P]
    keys: list[int] = list(dict.fromkeys(r.key for r in records))
    if query_key not in keys:
        keys.append(query_key)  # asked about, never set: its belief is still shown from the start
    K = len(keys)
    boundaries = [t for t in range(P) if tokens[t] in (SEP, NOISE)]
    truth = np.full((P, K), -1, dtype=np.int64)
    values: dict[int, list[int]] = {}
    by_value_pos = {r.start + 1: r for r in records}
    current = np.full(K, -1, dtype=np.int64)
    for t in range(P):
        if t in by_value_pos:
            r = by_value_pos[t]
            values.setdefault(r.key, []).append(r.value)
        if t in boundaries or t == 0:
            current = np.array([_truth(task, values, k) for k in keys], dtype=np.int64)
        truth[t] = current  # a fact counts from the end of its record
    # One probe per (boundary, known key); the example's own query key is asked at every boundary.
    probes = [(t, j) for t in boundaries for j in range(K) if truth[t, j] >= 0 or keys[j] == query_key]
    answers, probs = probe_answers(model, [tokens[: t + 1] + [QUERY, keys[j]] for t, j in probes], device)
    believed = np.full((P, K), -1, dtype=np.int64)
    probability = np.zeros((P, K), dtype=np.float64)
    for (t, j), a, p in zip(probes, answers, probs):
        believed[t, j], probability[t, j] = a, p
    probed = np.zeros(P, dtype=bool)
    probed[boundaries] = True
    for t in range(1, P):  # inside a record: the belief from the boundary before
        if not probed[t]:
            believed[t], probability[t] = believed[t - 1], probability[t - 1]
    changes = _classify(keys, believed, truth, boundaries, name)
    return Beliefs(tuple(keys), believed, probability, truth, probed, changes, int(query_key), P)


def _classify(keys, believed, truth, boundaries, name) -> tuple[BeliefChange, ...]:
    """Events at the boundaries where a belief changed, or an overwrite arrived and did not take."""
    out: list[BeliefChange] = []
    for j, key in enumerate(keys):
        history: list[int] = []  # the truths this key has had, oldest first
        prev_b: Optional[int] = None
        prev_right = False
        for t in boundaries:
            tr, b = int(truth[t, j]), int(believed[t, j])
            if tr < 0:
                continue
            new_fact = not history or history[-1] != tr
            if new_fact:
                history.append(tr)
            right = b == tr
            older = b in history[:-1]
            k, old = name(key), ("-" if prev_b is None or prev_b < 0 else name(prev_b))
            event = None
            if right and (new_fact or not prev_right):
                if len(history) > 1 and prev_b == b:  # it answered the new value before the overwrite came
                    event = ("overwrite", f"{k}: the overwrite to {name(b)} matches what it already answered")
                elif len(history) > 1:
                    event = ("overwrite", f"{k}: {old} -> {name(b)} (the overwrite takes)")
                elif not prev_right:
                    event = ("learned", f"{k}: {old} -> {name(b)} (learned)")
            elif not right and older and (new_fact or prev_right or b != prev_b):
                event = ("stale", f"{k} still {name(b)}, not the newest {name(tr)} (a stale value survives)")
            elif prev_right and not right:
                event = ("lost", f"{k}: {name(tr)} lost, now {name(b)}")
            if event is not None:
                out.append(BeliefChange(t, key, event[0], prev_b, b, tr, event[1]))
            prev_b, prev_right = b, right
    out.sort(key=lambda c: (c.t, keys.index(c.key)))
    return tuple(out)


__all__ = ["BeliefChange", "Beliefs", "EVENT_KINDS", "compute_beliefs", "probe_answers"]
