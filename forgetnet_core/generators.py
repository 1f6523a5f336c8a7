"""The task generators: v1 reproduces the original token for token, v2 (the default) fixes its leaks and takes
difficulty knobs. Torch-free: a generator turns a random.Random into one example's tokens and metadata.

Each generator's docstring shows its encoding with a worked example (drawn
with tasks.make_batch, which the doctest run provides).
make_batch (tasks.py) draws a batch from one random.Random(seed) through GENERATORS[suite][task].
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable

from .config import (
    DEFAULT_MIN_DISTANCE,
    NUM_KEYS,
    NUM_VALUES,
    TaskKnobs,
    recency_limit,
    record_slots,
)
from .vocab import KEY_START, NOISE, QUERY, SEP, VALUE_START

# v2 changing_facts: the newest value of the queried key sits at least this many
# tokens before the QUERY token (2 * window_size for the default window of 8),
# so no local-attention window at the answer position can see it (TaskKnobs.min_distance changes it).
MIN_RECENCY = DEFAULT_MIN_DISTANCE["changing_facts"]
# v2 changing_facts: the queried key gets 1..MAX_OVERWRITES overwrites.
MAX_OVERWRITES = 3
# v2 changing_facts: 1..MAX_DECOY_FACTS other keys are overwritten like q.
MAX_DECOY_FACTS = 2
# v2 multi_hop: 1..MAX_DECOY_CHAINS decoy chains `a b SEP b v SEP` per example.
MAX_DECOY_CHAINS = 3

# Keys of ExampleMeta.positions; every example carries all of them (empty when
# they do not apply to its task).
POSITION_KEYS = ("facts", "stale", "latest", "overwrites", "hops", "query")

_ALL_KEYS = tuple(range(KEY_START, KEY_START + NUM_KEYS))
_ALL_VALUES = tuple(range(VALUE_START, VALUE_START + NUM_VALUES))
_DEFAULT_KNOBS = TaskKnobs()


@dataclass(frozen=True)
class ExampleMeta:
    """What one example asks and where the evidence sits (token indices)."""

    query_key: int  # the key after QUERY
    label: int  # the answer token (a value id)
    # changing_facts: superseded values of query_key, oldest first; else empty
    stale_values: tuple[int, ...] = ()
    # record start indices (the key token) per role, plus "query" = QUERY index;
    # keys are POSITION_KEYS, empty tuples where a role does not apply
    positions: dict[str, tuple[int, ...]] = field(default_factory=dict)


# An example under construction is a list of 3-token slots: a (key, value)
# record, or None for a NOISE NOISE NOISE filler; generators name positions
# by slot index and _finish turns them into token indices (3 * slot).
_Slots = list[tuple[int, int] | None]
_Example = tuple[list[int], ExampleMeta]  # (tokens, meta)


def _num_slots(seq_len: int) -> int:
    # Record slots before `QUERY q`; 3 * n + 2 <= seq_len for seq_len >= 11.
    return record_slots(seq_len)


def _finish(
    slots: _Slots,
    query_key: int,
    label: int,
    seq_len: int,
    stale_values: tuple[int, ...] = (),
    **slot_positions: tuple[int, ...],
) -> _Example:
    """Lay slots out as tokens, append `QUERY q`, pad with NOISE; build the meta."""
    row: list[int] = []
    for rec in slots:
        if rec is None:
            row += (NOISE, NOISE, NOISE)
        else:
            row += (rec[0], rec[1], SEP)
    query_pos = len(row)
    row += (QUERY, query_key)
    row += [NOISE] * (seq_len - len(row))
    positions = {name: () for name in POSITION_KEYS}
    for name, idx in slot_positions.items():
        positions[name] = tuple(3 * i for i in idx)
    positions["query"] = (query_pos,)
    return row[:seq_len], ExampleMeta(query_key, label, stale_values, positions)


# ---------------------------------------------------------------------------
# v1: the original generator, token for token (SPEC 2 "v1 (faithful)").
# ---------------------------------------------------------------------------
def _v1_key(rng: random.Random) -> int:
    return KEY_START + rng.randrange(NUM_KEYS)


def _v1_value(rng: random.Random) -> int:
    return VALUE_START + rng.randrange(NUM_VALUES)


def _v1_shift(key: int, avoid: int, by: int) -> int:
    return KEY_START + ((key - KEY_START + by) % NUM_KEYS) if key == avoid else key


def _v1_associative_lookup(rng: random.Random, seq_len: int, **_: int) -> _Example:
    """v1 associative_lookup: n random records (keys may repeat), query a seen key.

    n = max(3, (seq_len - 2) // 3) records `key value SEP`, each drawn key then
    value; q = rng.choice of the distinct keys in first-seen order; the label
    is q's latest value. Then `QUERY q`, NOISE up to seq_len. v2 keeps these
    rules (and tokens). Example (q = 11 was set once, to 80; 22 twice):

        22 90 SEP 11 80 SEP 26 95 SEP 22 83 SEP QUERY 11   -> label 80

    >>> b = make_batch("associative_lookup", 0, seq_len=14, batch_size=1, suite="v1")
    >>> b.input_ids[0].tolist(), b.labels.tolist()
    ([22, 90, 1, 11, 80, 1, 26, 95, 1, 22, 83, 1, 2, 11], [80])
    """
    n = _num_slots(seq_len)
    slots: _Slots = []
    state: dict[int, int] = {}
    for _ in range(n):
        key = _v1_key(rng)
        value = _v1_value(rng)
        slots.append((key, value))
        state[key] = value
    q = rng.choice(list(state))
    facts = tuple(i for i, rec in enumerate(slots) if rec is not None and rec[0] == q)
    return _finish(slots, q, state[q], seq_len, facts=facts, latest=facts[-1:])


def _v1_changing_facts(rng: random.Random, seq_len: int, **_: int) -> _Example:
    """v1 changing_facts: (q, stale) first, n-2 distractors, (q, latest) last.

    Draws q, stale, latest (latest redrawn until != stale); a distractor key
    equal to q becomes the next key (+1 mod 24). The answer record is always
    the last one, 6 tokens before the end (the leak v2 fixes). Example
    (22 is set to 90, and overwritten with 66 in the last record):

        22 90 SEP 18 96 SEP 25 89 SEP 22 66 SEP QUERY 22   -> label 66

    >>> b = make_batch("changing_facts", 0, seq_len=14, batch_size=1, suite="v1")
    >>> b.input_ids[0].tolist(), b.labels.tolist(), b.meta[0].stale_values
    ([22, 90, 1, 18, 96, 1, 25, 89, 1, 22, 66, 1, 2, 22], [66], (90,))
    """
    n = _num_slots(seq_len)
    q = _v1_key(rng)
    stale = _v1_value(rng)
    latest = _v1_value(rng)
    while latest == stale:
        latest = _v1_value(rng)
    slots: _Slots = [(q, stale)]
    for _ in range(max(0, n - 2)):
        key = _v1_shift(_v1_key(rng), q, 1)
        slots.append((key, _v1_value(rng)))
    slots.append((q, latest))
    last = len(slots) - 1
    return _finish(
        slots, q, latest, seq_len, (stale,),
        facts=(0, last), stale=(0,), latest=(last,), overwrites=(last,),
    )


def _v1_needle_recall(rng: random.Random, seq_len: int, **_: int) -> _Example:
    """v1 needle_recall: one record of q at a random index among distractors.

    Draws q, label, needle index = randrange(n); every other record is a
    distractor (key, then value; key == q shifted +1 mod 24). Example (the
    needle 22 -> 90 is record 0):

        22 90 SEP 18 96 SEP 25 89 SEP 19 94 SEP QUERY 22   -> label 90

    >>> b = make_batch("needle_recall", 0, seq_len=14, batch_size=1, suite="v1")
    >>> b.input_ids[0].tolist(), b.labels.tolist()
    ([22, 90, 1, 18, 96, 1, 25, 89, 1, 19, 94, 1, 2, 22], [90])
    """
    n = _num_slots(seq_len)
    q = _v1_key(rng)
    label = _v1_value(rng)
    needle = rng.randrange(n)
    slots: _Slots = []
    for idx in range(n):
        if idx == needle:
            slots.append((q, label))
        else:
            key = _v1_shift(_v1_key(rng), q, 1)
            slots.append((key, _v1_value(rng)))
    return _finish(slots, q, label, seq_len, facts=(needle,), latest=(needle,))


def _v1_multi_hop(rng: random.Random, seq_len: int, **_: int) -> _Example:
    """v1 multi_hop: records (s, m), (m, label) and distractors, shuffled; query s.

    Draws s, m (redrawn until != s), label; n-2 distractors whose key, if in
    {s, m}, is shifted +2 mod 24 without re-checking (so about 5% of examples
    repeat a chain key: ambiguous). Example (22 -> 23 -> 66):

        22 23 SEP 25 89 SEP 23 66 SEP 18 96 SEP QUERY 22   -> label 66

    >>> b = make_batch("multi_hop", 0, seq_len=14, batch_size=1, suite="v1")
    >>> b.input_ids[0].tolist(), b.labels.tolist()
    ([22, 23, 1, 25, 89, 1, 23, 66, 1, 18, 96, 1, 2, 22], [66])
    """
    n = _num_slots(seq_len)
    s = _v1_key(rng)
    m = _v1_key(rng)
    while m == s:
        m = _v1_key(rng)
    label = _v1_value(rng)
    tagged: list[tuple[int, int, int]] = [(s, m, 0), (m, label, 1)]
    for _ in range(max(0, n - 2)):
        key = _v1_key(rng)
        if key in (s, m):
            key = KEY_START + ((key - KEY_START + 2) % NUM_KEYS)
        tagged.append((key, _v1_value(rng), 2))
    rng.shuffle(tagged)
    slots: _Slots = [(k, v) for k, v, _tag in tagged]
    hop1 = next(i for i, t in enumerate(tagged) if t[2] == 0)
    hop2 = next(i for i, t in enumerate(tagged) if t[2] == 1)
    # A shifted distractor can land on s: then s has more than one record.
    facts = tuple(i for i, t in enumerate(tagged) if t[0] == s)
    return _finish(
        slots, s, label, seq_len, facts=facts, latest=(hop2,), hops=(hop1, hop2)
    )


# ---------------------------------------------------------------------------
# v2: the default suite, with v1's leaks fixed (SPEC 2 "v1 weaknesses").
# ---------------------------------------------------------------------------
def _pools(rng: random.Random, knobs: TaskKnobs) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The keys and values in play for one example, sorted: all of them unless a knob narrows them.

    Drawing from a pool by index (pool[rng.randrange(len(pool))], rng.sample(pool, k))
    makes the same random calls as the v2 generators always made, so the
    default knobs reproduce the v2 streams token for token.
    """
    keys = _ALL_KEYS if knobs.keys >= NUM_KEYS else tuple(sorted(rng.sample(_ALL_KEYS, knobs.keys)))
    values = _ALL_VALUES if knobs.values >= NUM_VALUES else tuple(sorted(rng.sample(_ALL_VALUES, knobs.values)))
    return keys, values


def _pick(rng: random.Random, pool: tuple[int, ...] | list[int]) -> int:
    return pool[rng.randrange(len(pool))]


def _record_slots(rng: random.Random, n: int, records: int | None, ok: Callable[[list[int]], bool] = lambda w: True) -> list[int]:
    """Which of the n slots hold records (the rest are NOISE filler): all, or `records` at random.

    `ok` rejects a draw (e.g. too few slots far enough from the query); the
    knob validation makes sure an acceptable draw exists and is likely.
    """
    if records is None or records >= n:
        return list(range(n))
    for _ in range(10_000):
        where = sorted(rng.sample(range(n), records))
        if ok(where):
            return where
    raise ValueError(f"could not place {records} records in {n} slots under the task's distance rule")


def _place_group(rng: random.Random, pool: list[int], count: int) -> tuple[int, ...]:
    """`count` sorted slots from the sorted `pool`: the last one uniform, the rest below it."""
    last = rng.randrange(count - 1, len(pool))
    return (*sorted(rng.sample(pool[:last], count - 1)), pool[last])


def _v2_associative_lookup(rng: random.Random, seq_len: int, knobs: TaskKnobs = _DEFAULT_KNOBS, task: str = "associative_lookup") -> _Example:
    """v2 associative_lookup: v1's rules (and, at the default knobs, its tokens), with difficulty knobs.

    `records` records `key value SEP` at random slots (NOISE NOISE NOISE
    elsewhere), keys and values drawn from the `keys` / `values` in play; q is
    drawn (rng.choice, first-seen order) among the keys whose newest record
    ends at least `min_distance` tokens before QUERY; the label is q's newest
    value. Example (records 4 in 5 slots, 3 keys in play: 21 is set to 66,
    107, then 89; the query asks 11, set once):

        21 66 SEP 21 107 SEP 11 91 SEP NOISE NOISE NOISE 21 89 SEP QUERY 11  -> label 91

    >>> b = make_batch("associative_lookup", 2, seq_len=17, batch_size=1, knobs=TaskKnobs(records=4, keys=3))
    >>> b.input_ids[0].tolist(), b.labels.tolist()
    ([21, 66, 1, 21, 107, 1, 11, 91, 1, 3, 3, 3, 21, 89, 1, 2, 11], [91])
    """
    if knobs.is_default():
        return _v1_associative_lookup(rng, seq_len)
    n = _num_slots(seq_len)
    keys, values = _pools(rng, knobs)
    limit = recency_limit(n, knobs.min_distance_for(task))
    for _ in range(10_000):
        where = _record_slots(rng, n, knobs.records, lambda w: w[0] <= limit)
        slots: _Slots = [None] * n
        newest: dict[int, int] = {}  # key -> slot of its newest record, in first-seen order
        for slot in where:
            key = _pick(rng, keys)
            slots[slot] = (key, _pick(rng, values))
            newest[key] = slot
        eligible = [key for key, slot in newest.items() if slot <= limit]
        if eligible:
            break
    else:  # pragma: no cover - the validation keeps this from happening
        raise ValueError(f"no key of {task} ends {knobs.min_distance} tokens before the query")
    q = rng.choice(eligible)
    facts = tuple(i for i in where if slots[i][0] == q)  # type: ignore[index]
    return _finish(slots, q, slots[newest[q]][1], seq_len, facts=facts, latest=facts[-1:])  # type: ignore[index]


def _v2_changing_facts(rng: random.Random, seq_len: int, knobs: TaskKnobs = _DEFAULT_KNOBS, **_: str) -> _Example:
    """v2 changing_facts: q is set, overwritten 1-3 times, and queried much later.

    n = (seq_len - 2) // 3 record slots, then `QUERY q`, NOISE to seq_len.
    The recency zone is the slots whose record (key value SEP) ends at least
    `min_distance` (16 = 2 * window) tokens before QUERY. q gets 1 + k records
    (k = 1..3 overwrites, or the `overwrites` knob) with distinct values: the
    newest at a uniformly random slot of that zone, the others at random slots
    below it. The label is the newest value, the k earlier ones are
    `stale_values` (oldest first). 1-2 decoy keys get the same treatment
    (1 + 1..k records in the zone's free slots), so neither "the repeated key"
    nor a fixed offset finds the answer without the query. Every other record
    slot is a distractor whose key is neither q nor a decoy key; distractors
    fill the gap between the newest value and QUERY. With the `records` knob
    only that many slots hold records (drawn so that the zone has room), the
    rest are NOISE filler; `keys` / `values` narrow the keys and values in play.
    Lengths too short for the zone (seq_len < 23 at the default) keep k = 1
    with q's two records at two random slots (no recency guarantee, but no
    fixed position to copy either); decoys then use any free slot. At 23-25
    tokens the rule itself pins q to slots 0 and 1: train at 26 or more for a
    task without a positional shortcut. Example (28 is set to 66, then to
    64; decoy 21 is set to 95, 76, 110; the newest 64 ends 16 tokens before
    QUERY):

        21 95 SEP 21 76 SEP 28 66 SEP 21 110 SEP 28 64 SEP 24 98 SEP 29 107 SEP
        13 76 SEP 30 99 SEP 18 106 SEP QUERY 28   -> label 64, stale (66,)

    >>> b = make_batch("changing_facts", 6, seq_len=32, batch_size=1, suite="v2")
    >>> b.input_ids[0].tolist()  # doctest: +NORMALIZE_WHITESPACE
    [21, 95, 1, 21, 76, 1, 28, 66, 1, 21, 110, 1, 28, 64, 1, 24, 98, 1,
     29, 107, 1, 13, 76, 1, 30, 99, 1, 18, 106, 1, 2, 28]
    >>> m = b.meta[0]
    >>> m.label, m.stale_values, m.positions["latest"], m.positions["query"]
    (64, (66,), (12,), (30,))
    """
    n = _num_slots(seq_len)
    keys, values_in_play = _pools(rng, knobs)
    q = _pick(rng, keys)
    # Highest slot whose record ends >= min_distance tokens before QUERY.
    last_ok = recency_limit(n, knobs.min_distance_for("changing_facts"))
    cramped = last_ok < 1  # too short for the rule: as much recency as fits
    last_ok = max(1, last_ok)
    need = 2 if knobs.overwrites is None else knobs.overwrites + 1
    where = _record_slots(rng, n, knobs.records, lambda w: cramped or sum(i <= last_ok for i in w) >= need)
    zone = where if cramped else [i for i in where if i <= last_ok]
    if knobs.overwrites is not None:
        k = knobs.overwrites
    else:
        k = 1 if cramped else rng.randint(1, min(MAX_OVERWRITES, len(zone) - 1, len(values_in_play) - 1))
    fact_slots = tuple(sorted(rng.sample(zone, 2))) if cramped else _place_group(rng, zone, k + 1)
    values = rng.sample(values_in_play, k + 1)
    slots: _Slots = [None] * n
    for slot, value in zip(fact_slots, values):
        slots[slot] = (q, value)
    # Decoy facts: other keys set and overwritten the same way, same zone; one key is kept for distractors.
    others = [key for key in keys if key != q]
    for _ in range(rng.randint(1, MAX_DECOY_FACTS)):
        pool = [i for i in zone if slots[i] is None]
        if len(pool) < 2 or len(others) < 2:
            break
        most = min(MAX_OVERWRITES if knobs.overwrites is None else knobs.overwrites, len(pool) - 1, len(values_in_play) - 1)
        count = 1 + (rng.randint(1, most) if knobs.overwrites is None else most)
        decoy = others.pop(rng.randrange(len(others)))
        for slot, value in zip(_place_group(rng, pool, count), rng.sample(values_in_play, count)):
            slots[slot] = (decoy, value)
    for i in where:
        if slots[i] is None:
            slots[i] = (rng.choice(others), _pick(rng, values_in_play))
    return _finish(
        slots, q, values[-1], seq_len, tuple(values[:-1]),
        facts=fact_slots, stale=fact_slots[:-1], latest=fact_slots[-1:],
        overwrites=fact_slots[1:],
    )


def _v2_needle_recall(rng: random.Random, seq_len: int, knobs: TaskKnobs = _DEFAULT_KNOBS, **_: str) -> _Example:
    """v2 needle_recall: one record of q at a random slot among distractors.

    As v1 (q, label, needle slot = randrange(n)), but distractor keys are
    drawn uniformly from the 23 keys != q. Knobs: `records` (the other slots
    NOISE), `keys` / `values` in play, and `min_distance` (the needle ends at
    least that many tokens before QUERY). Example (the needle 22 -> 90 is
    record 0):

        22 90 SEP 18 96 SEP 26 89 SEP 19 94 SEP QUERY 22   -> label 90

    >>> b = make_batch("needle_recall", 0, seq_len=14, batch_size=1, suite="v2")
    >>> b.input_ids[0].tolist(), b.labels.tolist()
    ([22, 90, 1, 18, 96, 1, 26, 89, 1, 19, 94, 1, 2, 22], [90])
    """
    n = _num_slots(seq_len)
    keys, values = _pools(rng, knobs)
    q = _pick(rng, keys)
    label = _pick(rng, values)
    limit = recency_limit(n, knobs.min_distance_for("needle_recall"))
    where = _record_slots(rng, n, knobs.records, lambda w: w[0] <= limit)
    needle = _pick(rng, [i for i in where if i <= limit])
    others = [key for key in keys if key != q]
    slots: _Slots = [None] * n
    for idx in where:
        slots[idx] = (q, label) if idx == needle else (_pick(rng, others), _pick(rng, values))
    return _finish(slots, q, label, seq_len, facts=(needle,), latest=(needle,))


def _v2_multi_hop(rng: random.Random, seq_len: int, knobs: TaskKnobs = _DEFAULT_KNOBS, **_: str) -> _Example:
    """v2 multi_hop: follow q -> m -> label past 1-3 decoy chains a -> b -> v.

    Record keys are distinct (rng.sample of the keys in play), so every key is
    set at most once and the chain is unambiguous. The chain (s, m), (m,
    label), d = 1..3 decoy chains (a, b), (b, v) with v != label, and
    single-record distractors (key, value) are shuffled; since every chain
    looks alike, only the query tells which one to follow. At most 24 records
    fit (`keys` in play, or `records`); longer sequences get NOISE NOISE NOISE
    filler slots at random places. Example (23 -> 11 -> 95; the decoy chain
    18 -> 26 -> 89 answers query 18):

        23 11 SEP 26 89 SEP 11 95 SEP 18 26 SEP QUERY 23   -> label 95

    >>> b = make_batch("multi_hop", 0, seq_len=14, batch_size=1, suite="v2")
    >>> b.input_ids[0].tolist(), b.labels.tolist(), b.meta[0].positions["hops"]
    ([23, 11, 1, 26, 89, 1, 11, 95, 1, 18, 26, 1, 2, 23], [95], (0, 6))
    """
    n = _num_slots(seq_len)
    keys, values = _pools(rng, knobs)
    n_rec = min(n if knobs.records is None else knobs.records, len(keys))
    d = rng.randint(1, min(MAX_DECOY_CHAINS, (n_rec - 2) // 2, len(values) - 1))
    chosen = rng.sample(keys, n_rec)
    finals = rng.sample(values, d + 1)
    s, m, label = chosen[0], chosen[1], finals[0]
    tagged: list[tuple[int, int, int]] = [(s, m, 0), (m, label, 1)]
    for j in range(d):
        a, b = chosen[2 + 2 * j], chosen[3 + 2 * j]
        tagged += [(a, b, 2), (b, finals[1 + j], 2)]
    for key in chosen[2 + 2 * d:]:
        tagged.append((key, _pick(rng, values), 2))
    rng.shuffle(tagged)
    if n_rec < n:
        where = sorted(rng.sample(range(n), n_rec))
    else:
        where = list(range(n))
    slots: _Slots = [None] * n
    hop1 = hop2 = 0
    for slot, (key, value, tag) in zip(where, tagged):
        slots[slot] = (key, value)
        if tag == 0:
            hop1 = slot
        elif tag == 1:
            hop2 = slot
    return _finish(
        slots, s, label, seq_len, facts=(hop1,), latest=(hop2,), hops=(hop1, hop2)
    )


_Generator = Callable[..., _Example]

GENERATORS: dict[str, dict[str, _Generator]] = {
    "v1": {
        "associative_lookup": _v1_associative_lookup,
        "changing_facts": _v1_changing_facts,
        "needle_recall": _v1_needle_recall,
        "multi_hop": _v1_multi_hop,
        "length_extrapolation": _v1_associative_lookup,
    },
    "v2": {
        # associative_lookup has no v1 leak: v2 keeps its rules (and, at the default knobs, its tokens).
        "associative_lookup": _v2_associative_lookup,
        "changing_facts": _v2_changing_facts,
        "needle_recall": _v2_needle_recall,
        "multi_hop": _v2_multi_hop,
        "length_extrapolation": _v2_associative_lookup,
    },
}



__all__ = ["ExampleMeta", "GENERATORS", "MAX_DECOY_CHAINS", "MAX_DECOY_FACTS", "MAX_OVERWRITES", "MIN_RECENCY", "POSITION_KEYS"]
