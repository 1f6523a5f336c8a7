"""What a memory model did at every token: SlotTrace (the ForgetNet family's slots) and DeltaTrace (a delta rule's state).

A memory model called with ``forward(input_ids, trace=True)`` returns one in
``ModelOutput.trace``: a slot model a :class:`SlotTrace`, a delta-rule model a :class:`DeltaTrace`. Every tensor in it is detached from
the graph and stays on the model's device; ``SlotTrace.example(i)`` slices one
example out (batch dim dropped, on CPU) and ``TraceExample.step(t)`` one token,
which is what the stepper UI shows.

Shapes: B batch, T tokens, S memory slots, d model width, V vocabulary,
w attention window. Index ``t`` is the 0-based position inside the sequence;
the position embedding used for it was ``t + position_offset``.

Worked example (window w = 2): ``attention[b, t]`` has w + 1 = 3 entries for
the positions ``t-2, t-1, t``. At t = 0 only the last entry is real, so
``attention[b, 0] == [0, 0, 1]``; at t = 1 it is ``[0, p, 1-p]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
from torch import Tensor

# The tensors that every trace holds, with a leading (B, T) in SlotTrace and (T,) in TraceExample.
TRACE_TENSORS = (
    "memory_before",
    "memory_after",
    "read_weights",
    "write_weights",
    "gate",
    "erase",
    "write",
    "surprise",
    "attention",
    "token_logits",
    "answer_logits",
)


def _index(i: int, n: int, what: str) -> int:
    """Normalise a possibly negative index into range(n) or raise IndexError."""
    if not isinstance(i, int) or isinstance(i, bool):
        raise TypeError(f"{what} index must be an int, got {type(i).__name__}")
    j = i + n if i < 0 else i
    if not 0 <= j < n:
        raise IndexError(f"{what} index {i} out of range for {n} {what}s")
    return j


@dataclass
class SlotTrace:
    """Everything a memory model computed at each token of a batch (detached).

    ``memory_before[:, t]`` is M_t (the memory read at step t, before the update)
    and ``memory_after[:, t]`` is M_{t+1}, so ``memory_before[:, t+1] ==
    memory_after[:, t]``. The update that links them is SPEC section 3's
    ``M_{t+1}[i] = tanh(M_t[i] * (1 - alpha_i g eps) + alpha_i g v)`` with
    ``alpha = write_weights``, ``g = gate``, ``eps = erase``, ``v = write``.
    """

    memory_before: Tensor  # (B, T, S, d) M_t, the memory read at step t
    memory_after: Tensor  # (B, T, S, d) M_{t+1}, the memory after step t's update
    read_weights: Tensor  # (B, T, S) beta_t, the read attention over slots
    write_weights: Tensor  # (B, T, S) alpha_t, how much each slot is written
    gate: Tensor  # (B, T, d) g_t, including the clamp(s_t, 0.05, 1) multiplier
    erase: Tensor  # (B, T, d) eps_t (all zeros for no_forget)
    write: Tensor  # (B, T, d) v_t, the value written
    surprise: Tensor  # (B, T) s_t = 1 - softmax(z_{t-1})[x_t], s_0 = 1 (diagnostic in no_surprise)
    attention: Tensor  # (B, T, w+1) entry j is position t-w+j; 0 where that is < 0
    token_logits: Tensor  # (B, T, V) z_t, next-token prediction
    answer_logits: Tensor  # (B, T, V) y_t, answer prediction
    input_ids: Optional[Tensor] = None  # (B, T) the tokens x_t
    position_offset: int = 0  # position embedding index of t = 0
    model: str = ""  # registry name of the model that produced the trace

    @property
    def batch_size(self) -> int:
        return int(self.gate.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.gate.shape[1])

    @property
    def memory_slots(self) -> int:
        return int(self.write_weights.shape[-1])

    @property
    def window(self) -> int:
        return int(self.attention.shape[-1]) - 1

    def example(self, i: int) -> "TraceExample":
        """Example ``i`` of the batch: every tensor without the batch dim, detached, on CPU."""
        b = _index(i, self.batch_size, "example")
        sliced = {name: getattr(self, name)[b].detach().cpu() for name in TRACE_TENSORS}
        ids = None if self.input_ids is None else self.input_ids[b].detach().cpu()
        return TraceExample(
            **sliced, input_ids=ids, position_offset=self.position_offset, model=self.model
        )


@dataclass
class TraceExample:
    """One example of a :class:`SlotTrace`: the same fields with the batch dim removed (CPU tensors)."""

    memory_before: Tensor  # (T, S, d)
    memory_after: Tensor  # (T, S, d)
    read_weights: Tensor  # (T, S)
    write_weights: Tensor  # (T, S)
    gate: Tensor  # (T, d)
    erase: Tensor  # (T, d)
    write: Tensor  # (T, d)
    surprise: Tensor  # (T,)
    attention: Tensor  # (T, w+1) entry j is position t-w+j
    token_logits: Tensor  # (T, V)
    answer_logits: Tensor  # (T, V)
    input_ids: Optional[Tensor] = None  # (T,)
    position_offset: int = 0  # position embedding index of t = 0
    model: str = ""  # registry name of the model

    @property
    def seq_len(self) -> int:
        return int(self.gate.shape[0])

    def __len__(self) -> int:
        return self.seq_len

    @property
    def memory_slots(self) -> int:
        return int(self.write_weights.shape[-1])

    @property
    def window(self) -> int:
        return int(self.attention.shape[-1]) - 1

    def attention_positions(self, t: int) -> tuple[int, ...]:
        """The positions t-w..t that ``attention[t]`` lines up with (negative ones are padding)."""
        t = _index(t, self.seq_len, "token")
        return tuple(range(t - self.window, t + 1))

    def step(self, t: int) -> "TraceStep":
        """Everything the model did at token ``t`` (negative t counts from the end)."""
        t = _index(t, self.seq_len, "token")
        return TraceStep(
            t=t,
            token=None if self.input_ids is None else int(self.input_ids[t]),
            position=t + self.position_offset,
            memory_before=self.memory_before[t],
            memory_after=self.memory_after[t],
            read_weights=self.read_weights[t],
            write_weights=self.write_weights[t],
            gate=self.gate[t],
            erase=self.erase[t],
            write=self.write[t],
            surprise=float(self.surprise[t]),
            attention=self.attention[t],
            attention_positions=self.attention_positions(t),
            token_logits=self.token_logits[t],
            answer_logits=self.answer_logits[t],
        )


@dataclass
class TraceStep:
    """One token of one example: the memory before and after, and the read/write that linked them."""

    t: int  # index inside the sequence
    token: Optional[int]  # x_t (None when the trace carries no input_ids)
    position: int  # t + position_offset, the position embedding used
    memory_before: Tensor  # (S, d) M_t
    memory_after: Tensor  # (S, d) M_{t+1}
    read_weights: Tensor  # (S,) beta_t
    write_weights: Tensor  # (S,) alpha_t
    gate: Tensor  # (d,) g_t
    erase: Tensor  # (d,) eps_t
    write: Tensor  # (d,) v_t
    surprise: float  # s_t
    attention: Tensor  # (w+1,) over attention_positions
    attention_positions: tuple[int, ...]  # t-w..t (negative entries are padding, weight 0)
    token_logits: Tensor  # (V,) z_t
    answer_logits: Tensor  # (V,) y_t

    @property
    def memory_delta(self) -> Tensor:
        """M_{t+1} - M_t, (S, d)."""
        return self.memory_after - self.memory_before

    @property
    def read_slot(self) -> int:
        """The slot read most strongly."""
        return int(torch.argmax(self.read_weights))

    @property
    def write_slot(self) -> int:
        """The slot written most strongly."""
        return int(torch.argmax(self.write_weights))

    @property
    def write_strength(self) -> float:
        """Mean of the gate g_t over the d channels."""
        return float(self.gate.mean())

    @property
    def predicted_token(self) -> int:
        """argmax of the next-token head z_t."""
        return int(torch.argmax(self.token_logits))

    @property
    def predicted_answer(self) -> int:
        """argmax of the answer head y_t."""
        return int(torch.argmax(self.answer_logits))


DELTA_TRACE_TENSORS = (
    "state_before",
    "state_after",
    "written",
    "erased",
    "forgotten",
    "query",
    "key",
    "value",
    "beta",
    "alpha",
    "surprise",
    "attention",
    "token_logits",
    "answer_logits",
)


@dataclass
class DeltaTrace:
    """Everything a delta-rule model computed at each token (detached), in the terms of its own update.

    Per head h the state is a (dh x dh) matrix S; at token t
    ``state_after = alpha_t state_before + written - erased`` with
    ``written = beta_t v_t k_t^T`` (the new association), ``erased = beta_t
    (alpha_t S_{t-1} k_t) k_t^T`` (the old value at k_t taken out) and
    ``forgotten = (1 - alpha_t) S_{t-1}`` (what the forget gate decayed away).
    The read is ``S_t q_t``. Shapes: B batch, T tokens, H heads, dh = d / H.
    """

    state_before: Tensor  # (B, T, H, dh, dh) S_{t-1}
    state_after: Tensor  # (B, T, H, dh, dh) S_t
    written: Tensor  # (B, T, H, dh, dh) beta_t v_t k_t^T
    erased: Tensor  # (B, T, H, dh, dh) beta_t (alpha_t S_{t-1} k_t) k_t^T
    forgotten: Tensor  # (B, T, H, dh, dh) (1 - alpha_t) S_{t-1}; zeros without a forget gate
    query: Tensor  # (B, T, H, dh) q_t, L2-normalised
    key: Tensor  # (B, T, H, dh) k_t, L2-normalised
    value: Tensor  # (B, T, H, dh) v_t
    beta: Tensor  # (B, T, H) write strength (with the surprise multiplier for forgetnet_delta)
    alpha: Tensor  # (B, T, H) forget gate (ones without one)
    surprise: Optional[Tensor]  # (B, T) s_t where the model measures it, else None
    attention: Optional[Tensor]  # (B, T, w+1) the local attention of forgetnet_delta's front end, else None
    token_logits: Tensor  # (B, T, V)
    answer_logits: Tensor  # (B, T, V)
    input_ids: Optional[Tensor] = None  # (B, T)
    position_offset: int = 0
    model: str = ""

    @property
    def batch_size(self) -> int:
        return int(self.beta.shape[0])

    @property
    def seq_len(self) -> int:
        return int(self.beta.shape[1])

    @property
    def heads(self) -> int:
        return int(self.beta.shape[2])


__all__ = ["DELTA_TRACE_TENSORS", "DeltaTrace", "TRACE_TENSORS", "SlotTrace", "TraceExample", "TraceStep"]
