"""Names, constants, errors and small rules shared by every config: what the registry, the form, the CLI and the docs read."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

# The registry names live here, not in tasks/models, so that validation works
# without importing torch (the TUI validates its form on every keypress);
# tasks.TASKS and models.MODEL_NAMES are these same tuples.
SLOT_MODELS = (  # the original ForgetNet and its four ablations: a slot memory bank (SPEC section 3)
    "forgetnet",
    "no_forget",
    "no_surprise",
    "random_write",
    "fifo_memory",
)
TRANSFORMER_MODELS = ("tiny_transformer", "local_transformer", "conv_transformer")  # no memory
DELTA_MODELS = (  # a delta-rule fast-weight memory (SPEC section 7)
    "delta_net",
    "gated_delta_net",
    "forgetnet_delta",
    "forgetnet_delta_no_surprise",
    "forgetnet_delta_no_forget",
)
# Registry order: the original seven first (SPEC section 3), then the v3 models (SPEC section 7).
MODEL_NAMES = (*SLOT_MODELS, "tiny_transformer", "local_transformer", "conv_transformer", *DELTA_MODELS)
ORIGINAL_MODELS = MODEL_NAMES[:7]
MEMORY_MODELS = (*SLOT_MODELS, *DELTA_MODELS)  # models with a recurrent memory state (trace=True works)
# Each family's full model and the models that take one mechanism away from it (what the headline's
# paired comparisons test): the slot family's four ablations (SPEC 3), forgetnet_delta's two (SPEC 7), and
# gated_delta_net against delta_net (the same memory without its forget gate).
ABLATIONS = {
    "forgetnet": ("no_forget", "no_surprise", "random_write", "fifo_memory"),
    "forgetnet_delta": ("forgetnet_delta_no_forget", "forgetnet_delta_no_surprise"),
    "gated_delta_net": ("delta_net",),
}
TASK_NAMES = (
    "associative_lookup",
    "changing_facts",
    "needle_recall",
    "multi_hop",
    "length_extrapolation",
)
SUITE_NAMES = ("v1", "v2")
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")
MIN_SEQ_LEN = 14
NUM_KEYS = 24  # keys are token ids 10..33 (SPEC section 1; tasks.py holds the vocabulary)
NUM_VALUES = 48  # values are token ids 64..111
EXTRAPOLATION_FACTOR = 3  # length_extrapolation is evaluated at 3 x the training length
POSITION_OFFSETS = ("auto", "random", "none")
RECIPE_NAMES = ("original", "recall")


@dataclass(frozen=True)
class FieldError:
    """One invalid setting: which field, and a one-line message saying why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ConfigError(ValueError):
    """A configuration that failed validation; str() is one line naming each bad field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def help_meta(text: str, label: str | None = None, choices: tuple[str, ...] | None = None) -> dict[str, Any]:
    """Field metadata: the one-line help the form, the CLI and the docs show, an optional label and choices."""
    return {"help": text, "label": label, "choices": choices}


def help_of(cls: type, name: str) -> str:
    """The help text stored on dataclass field `name` of `cls`."""
    return {f.name: f for f in fields(cls)}[name].metadata.get("help", "")


def record_slots(seq_len: int) -> int:
    """Record slots (`key value SEP`) that fit before `QUERY q` in seq_len tokens: max(3, (seq_len - 2) // 3)."""
    return max(3, (seq_len - 2) // 3)


def recency_limit(slots: int, min_distance: int) -> int:
    """Highest slot whose record ends at least `min_distance` tokens before QUERY (QUERY sits at 3 * slots).

    A record in slot i ends with its SEP at token 3i + 2, so the rule is
    3 * slots - (3i + 2) >= min_distance. Negative when no slot qualifies.
    """
    return slots - (min_distance + 4) // 3


def length_errors(name: str, value: Any, max_seq_len: int) -> list[FieldError]:
    """The one length rule: an integer in [MIN_SEQ_LEN, max_seq_len]."""
    if not _is_int(value):
        return [FieldError(name, f"must be an integer, got {value!r}")]
    if value < MIN_SEQ_LEN:
        return [FieldError(name, f"must be at least {MIN_SEQ_LEN}, got {value}")]
    if value > max_seq_len:
        return [FieldError(name, f"{value} exceeds max_seq_len {max_seq_len}")]
    return []


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_cuda_index(name: Any) -> bool:
    return isinstance(name, str) and name.startswith("cuda:") and name[5:].isdigit()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fields_by_name(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in fields(cls)}


AUTO = "auto"  # how an optional integer setting (None) is written in a form or on the command line




__all__ = [
    "ABLATIONS", "AUTO", "DELTA_MODELS", "DEVICE_NAMES", "EXTRAPOLATION_FACTOR", "MEMORY_MODELS", "MIN_SEQ_LEN", "MODEL_NAMES", "NUM_KEYS",
    "NUM_VALUES", "ORIGINAL_MODELS", "POSITION_OFFSETS", "RECIPE_NAMES", "SLOT_MODELS", "SUITE_NAMES", "TASK_NAMES",
    "TRANSFORMER_MODELS", "ConfigError", "FieldError", "fields_by_name", "help_meta", "help_of", "length_errors",
    "recency_limit", "record_slots",
]
