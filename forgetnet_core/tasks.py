"""Tasks: batches of the memory task generators (v1 faithful, v2 default), the dense lookup targets, and held-out seed streams.

The vocabulary lives in vocab.py and the generators in generators.py; this
module puts them together into tensors (make_batch) and names the seed
streams that keep training and evaluation apart. It re-exports the
vocabulary and ExampleMeta, so `tasks.SEP` and `tasks.ExampleMeta` read as before.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

import torch

from .config import (
    EXTRAPOLATION_FACTOR,
    KNOB_TASKS,
    MIN_SEQ_LEN,
    SUITE_NAMES,
    TASK_NAMES,
    TaskKnobs,
)
from .generators import (  # noqa: F401  (re-exported: the task constants callers name through tasks)
    GENERATORS,
    MAX_DECOY_CHAINS,
    MAX_DECOY_FACTS,
    MAX_OVERWRITES,
    MIN_RECENCY,
    POSITION_KEYS,
    ExampleMeta,
)
from .vocab import (  # noqa: F401  (re-exported: the vocabulary is part of the tasks' public face)
    KEY_START,
    NOISE,
    NUM_KEYS,
    NUM_VALUES,
    PAD,
    QUERY,
    SEP,
    VALUE_START,
    VOCAB_SIZE,
    Record,
    is_record_start,
    records_in,
    token_name,
    token_role,
)

TASKS = TASK_NAMES  # defined in config, which imports no torch
SUITES = SUITE_NAMES
DEFAULT_SUITE = "v2"
STREAMS = ("train", "eval")
_DEFAULT_KNOBS = TaskKnobs()
_V1_EVAL_SEED = 123  # the original evaluated batches 123, 124, ...
_V2_SEED_STRIDE = 1_000_003  # prime; spreads run seeds apart within a stream


@dataclass
class Batch:
    """A batch of examples; the answer is read at the last position."""

    input_ids: torch.Tensor  # (B, T) int64
    labels: torch.Tensor  # (B,) int64
    meta: list[ExampleMeta]  # B entries
    task: str
    suite: str
    seed: int
    seq_len: int

    def to(self, device: torch.device | str) -> Batch:
        """The same batch with its tensors on `device`."""
        return Batch(
            input_ids=self.input_ids.to(device),
            labels=self.labels.to(device),
            meta=self.meta,
            task=self.task,
            suite=self.suite,
            seed=self.seed,
            seq_len=self.seq_len,
        )


def _check_suite(suite: str) -> None:
    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}; expected one of {', '.join(SUITES)}")


def _check_task_suite(task: str, suite: str) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    _check_suite(suite)


def make_batch(
    task: str,
    seed: int,
    seq_len: int = 64,
    batch_size: int = 32,
    suite: str = DEFAULT_SUITE,
    *,
    knobs: TaskKnobs | None = None,
    min_recency: int | None = None,
) -> Batch:
    """A deterministic batch of `task` examples from one random.Random(seed).

    Layout (both suites): records `key value SEP`, then `QUERY q`, then NOISE
    to seq_len; the answer is read at the last position. `knobs` (v2 only)
    dial the difficulty (TaskKnobs: records, keys, values, overwrites,
    min_distance); the defaults give the v2 tasks. `min_recency` is the older
    name of `knobs.min_distance`. A knob the task does not use is ignored. Use
    batch_seed() for the seed of a training step or an evaluation batch.
    """
    _check_task_suite(task, suite)
    if seq_len < MIN_SEQ_LEN:
        raise ValueError(f"seq_len must be at least {MIN_SEQ_LEN}, got {seq_len}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    knobs = knobs or _DEFAULT_KNOBS
    if min_recency is not None:
        knobs = dataclasses.replace(knobs, min_distance=min_recency)
    errors = knobs.validate(task, seq_len, suite)
    if errors:
        raise ValueError("; ".join(str(e) for e in errors))
    knobs = _applicable(knobs, task)
    gen = GENERATORS[suite][task]
    rng = random.Random(seed)
    rows: list[list[int]] = []
    meta: list[ExampleMeta] = []
    for _ in range(batch_size):
        row, info = gen(rng, seq_len, knobs=knobs, task=task)
        rows.append(row)
        meta.append(info)
    return Batch(
        input_ids=torch.tensor(rows, dtype=torch.long),
        labels=torch.tensor([info.label for info in meta], dtype=torch.long),
        meta=meta,
        task=task,
        suite=suite,
        seed=seed,
        seq_len=seq_len,
    )


def _applicable(knobs: TaskKnobs, task: str) -> TaskKnobs:
    """The knobs with those `task` ignores reset to their defaults (so they change nothing)."""
    changed = {name: value for name, value in knobs.changed().items() if task in KNOB_TASKS[name]}
    return TaskKnobs(**changed)


# ---------------------------------------------------------------------------
# The dense lookup ("recall") targets: SPEC section 6.4.
# ---------------------------------------------------------------------------
IGNORE = -100  # cross_entropy's ignore_index: positions without a recall target


def recall_targets(input_ids: torch.Tensor) -> torch.Tensor:
    """(B, T) targets of the dense lookup loss, IGNORE where there is none; past tokens only.

    A record starts at a key token at position 0 or right after SEP or NOISE
    (is_record_start: so a key inside a record, such as multi_hop's hop value,
    or the key after QUERY is not one). At a record start whose key already had a record
    earlier in the sequence, the target is that key's newest value so far:
    the value token of its latest earlier record. Everything else is IGNORE.
    Target t is a function of tokens 0..t only: the table of newest values is
    updated when the value token itself is passed. Example (22 is set to 90
    and then to 83; its second record asks for 90):

        22 90 SEP 11 80 SEP 22 83 SEP QUERY 22
        -  -  -   -  -  -   90 -  -   -     -      (the final query belongs to the answer loss)

    >>> ids = torch.tensor([[22, 90, SEP, 11, 80, SEP, 22, 83, SEP, QUERY, 22]])
    >>> recall_targets(ids).tolist()
    [[-100, -100, -100, -100, -100, -100, 90, -100, -100, -100, -100]]
    """
    B, T = input_ids.shape
    ids = input_ids.long()
    is_key = (ids >= KEY_START) & (ids < KEY_START + NUM_KEYS)
    prev = torch.cat([torch.full_like(ids[:, :1], SEP), ids[:, :-1]], dim=1)  # (B, T) token before; SEP before t = 0
    starts = is_key & ((prev == SEP) | (prev == NOISE))  # (B, T) record starts
    # For every record start t, the latest earlier record start j with the same key (j + 1 < t: its value is past).
    earlier = torch.ones(T, T, dtype=torch.bool, device=ids.device).tril(-1)  # (T, T) j < t
    same = starts[:, None, :] & (ids[:, :, None] == ids[:, None, :]) & earlier[None]  # (B, t, j)
    found = same.any(dim=-1) & starts  # (B, T)
    last = (same * torch.arange(1, T + 1, device=ids.device)).argmax(dim=-1)  # (B, T) the largest such j
    values = ids.gather(1, (last + 1).clamp(max=T - 1))  # (B, T) the token after that key: its value
    targets = torch.where(found, values, torch.full_like(ids, IGNORE))
    return targets


# ---------------------------------------------------------------------------
# Seed streams, evaluation length, position offsets.
# ---------------------------------------------------------------------------
def batch_seed(suite: str, stream: str, seed: int, index: int) -> int:
    """Seed of batch `index` of the `stream` ("train" or "eval") for a run seed.

    v1 (the original): train = seed + index, eval = 123 + index; they overlap
    (eval batch 123 is training step 82 of seed 42), kept for fidelity.
    v2: train = 2 * (seed * 1_000_003 + index) is even and eval = train + 1 is
    odd, so the streams are disjoint by construction for every seed and index
    (random.Random seeds with abs(), which keeps the parity).
    """
    _check_suite(suite)
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; expected 'train' or 'eval'")
    if suite == "v1":
        return seed + index if stream == "train" else _V1_EVAL_SEED + index
    base = 2 * (seed * _V2_SEED_STRIDE + index)
    return base if stream == "train" else base + 1


def eval_seq_len(task: str, seq_len: int, suite: str = DEFAULT_SUITE) -> int:
    """Evaluation length: 3x seq_len for length_extrapolation (192 for 64), else seq_len."""
    _check_task_suite(task, suite)
    return EXTRAPOLATION_FACTOR * seq_len if task == "length_extrapolation" else seq_len


def _mix64(x: int) -> int:
    # splitmix64 finaliser: a fixed, platform-independent integer hash.
    x &= 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return x ^ (x >> 31)


def train_position_offset(suite: str, seed: int, step: int, seq_len: int, max_seq_len: int) -> int:
    """Position offset for training step `step` (added to every position index).

    v2: a deterministic pseudo-random offset in [0, max_seq_len - seq_len]
    from (seed, step), so over training every position embedding up to
    max_seq_len is used and length_extrapolation (evaluated at offset 0 and
    3x length) never meets an untrained one (fix 4). v1: always 0.
    """
    _check_suite(suite)
    if seq_len > max_seq_len:
        raise ValueError(f"seq_len {seq_len} exceeds max_seq_len {max_seq_len}")
    if suite == "v1":
        return 0
    h = _mix64(_mix64(seed * 0x9E3779B97F4A7C15) + step)
    return h % (max_seq_len - seq_len + 1)
