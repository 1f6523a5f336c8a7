"""The vocabulary every task shares (SPEC section 1), token names, and reading records back from tokens; torch-free.

A record is `key value SEP`; keys are 10..33, values 64..111. `records_in`
reads them back from a token sequence by one rule (a key at position 0 or
right after SEP or NOISE starts a record), which the dense lookup loss
(tasks.recall_targets) and the stepper's beliefs both use.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import NUM_KEYS, NUM_VALUES

PAD = 0  # reserved, never emitted
SEP = 1  # ends a record
QUERY = 2  # followed by the queried key
NOISE = 3  # filler
KEY_START = 10  # keys are 10..33 (NUM_KEYS = 24, defined in config.py with the other torch-free constants)
VALUE_START = 64  # values are 64..111 (NUM_VALUES = 48)
VOCAB_SIZE = 128


def token_role(tok: int) -> str:
    """Role of a token id: one of pad, sep, query, noise, key, value, other."""
    tok = int(tok)
    if tok == PAD:
        return "pad"
    if tok == SEP:
        return "sep"
    if tok == QUERY:
        return "query"
    if tok == NOISE:
        return "noise"
    if KEY_START <= tok < KEY_START + NUM_KEYS:
        return "key"
    if VALUE_START <= tok < VALUE_START + NUM_VALUES:
        return "value"
    return "other"


def token_name(tok: int) -> str:
    """A short readable name: k07 for key 17, v24 for value 88, SEP, QRY, ·, PAD.

    >>> [token_name(t) for t in (17, 88, SEP, QUERY, NOISE, PAD)]
    ['k07', 'v24', 'SEP', 'QRY', '·', 'PAD']
    """
    role = token_role(tok)
    if role == "key":
        return f"k{tok - KEY_START:02d}"
    if role == "value":
        return f"v{tok - VALUE_START:02d}"
    return {SEP: "SEP", QUERY: "QRY", NOISE: "·", PAD: "PAD"}.get(tok, f"#{tok}")


@dataclass(frozen=True)
class Record:
    """A record `key value SEP` found in a token sequence."""

    start: int  # index of the key token
    key: int
    value: int  # the token after the key (a value, or a key in multi_hop's chain records)


def is_record_start(tokens: list[int], t: int) -> bool:
    """A key token at t = 0 or right after SEP or NOISE starts a record (a key after QUERY, or in a value slot, does not)."""
    return KEY_START <= tokens[t] < KEY_START + NUM_KEYS and (t == 0 or tokens[t - 1] in (SEP, NOISE))


def records_in(tokens: list[int]) -> list[Record]:
    """Every complete-enough record (its value token present) in `tokens`, in order.

    >>> [(r.start, r.key, r.value) for r in records_in([22, 90, SEP, 11, 80, SEP, 22, 83, SEP, QUERY, 22])]
    [(0, 22, 90), (3, 11, 80), (6, 22, 83)]
    """
    return [Record(t, tokens[t], tokens[t + 1]) for t in range(len(tokens) - 1) if is_record_start(tokens, t)]



__all__ = [
    "KEY_START", "NOISE", "NUM_KEYS", "NUM_VALUES", "PAD", "QUERY", "Record", "SEP", "VALUE_START", "VOCAB_SIZE",
    "is_record_start", "records_in", "token_name", "token_role",
]
