"""Training configuration: a frozen dataclass with field-by-field validation and clear messages."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

# The registry names live here, not in tasks/models, so that validation works
# without importing torch (the TUI validates its form on every keypress);
# tasks.TASKS and models.MODEL_NAMES are these same tuples.
MODEL_NAMES = (
    "forgetnet",
    "no_forget",
    "no_surprise",
    "random_write",
    "fifo_memory",
    "tiny_transformer",
    "local_transformer",
)
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


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and so its results)."""

    model: str = "forgetnet"  # one of MODEL_NAMES
    task: str = "changing_facts"  # one of TASK_NAMES; the task trained on
    suite: str = "v2"  # v1 reproduces the original's leaky generator, v2 fixes it
    steps: int = 500  # optimizer steps; each sees a fresh batch from the train stream
    batch_size: int = 32  # examples per step
    seq_len: int = 64  # tokens per training example (>= 14, <= max_seq_len)
    lr: float = 3e-4  # AdamW learning rate (the original's default)
    aux_weight: float = 0.1  # weight of the next-token loss; it trains the head surprise reads
    weight_decay: float = 0.01  # AdamW weight decay (torch default)
    grad_clip: float = 1.0  # global grad-norm clip
    warmup_steps: int = 0  # linear learning-rate warmup; 0 = constant lr as in the original
    lr_decay: str = "none"  # "none" or "cosine" decay to 10% after warmup
    d_model: int = 64  # hidden width of every model
    memory_slots: int = 16  # S, rows of the memory bank (memory models only)
    window: int = 8  # local attention looks at t-window..t
    max_seq_len: int = 512  # size of the position table; bounds seq_len and eval lengths
    seed: int = 42  # seeds the weights, dropout and the training stream
    device: str = "auto"  # auto picks cuda, then mps, then cpu
    eval_every: int = 50  # held-out evaluation every N steps (and at the end); 0 = only at the end
    eval_batches: int = 5  # held-out batches of batch_size examples per evaluation
    checkpoint_every: int = 100  # atomic checkpoint every N steps (and at the end); 0 = only at the end
    log_every: int = 1  # one metrics.jsonl line every N steps

    def validate(self) -> list[FieldError]:
        """Return every problem with this config (empty when it is valid)."""
        errors: list[FieldError] = []

        def bad(name: str, message: str) -> None:
            errors.append(FieldError(name, message))

        if self.model not in MODEL_NAMES:
            bad("model", f"unknown model '{self.model}' (choose from {', '.join(MODEL_NAMES)})")
        if self.task not in TASK_NAMES:
            bad("task", f"unknown task '{self.task}' (choose from {', '.join(TASK_NAMES)})")
        if self.suite not in SUITE_NAMES:
            bad("suite", f"unknown suite '{self.suite}' (choose from v1, v2)")
        if self.device not in DEVICE_NAMES and not _is_cuda_index(self.device):
            bad("device", f"unknown device '{self.device}' (choose from {', '.join(DEVICE_NAMES)})")
        for name in ("steps", "batch_size", "d_model", "memory_slots", "window", "max_seq_len", "eval_batches", "log_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                bad(name, f"must be a positive integer, got {value!r}")
        for name in ("eval_every", "checkpoint_every", "warmup_steps", "seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                bad(name, f"must be a non-negative integer, got {value!r}")
        for name in ("lr", "grad_clip"):
            value = getattr(self, name)
            if not _is_number(value) or not value > 0 or value != value or value == float("inf"):
                bad(name, f"must be a positive number, got {value!r}")
        for name in ("aux_weight", "weight_decay"):
            value = getattr(self, name)
            if not _is_number(value) or not value >= 0 or value == float("inf"):
                bad(name, f"must be a non-negative number, got {value!r}")
        if self.lr_decay not in ("none", "cosine"):
            bad("lr_decay", f"must be 'none' or 'cosine', got {self.lr_decay!r}")
        if isinstance(self.seq_len, int) and not isinstance(self.seq_len, bool):
            if self.seq_len < MIN_SEQ_LEN:
                bad("seq_len", f"must be at least {MIN_SEQ_LEN}, got {self.seq_len}")
            elif isinstance(self.max_seq_len, int) and self.max_seq_len > 0:
                longest = self.seq_len * 3 if self.task == "length_extrapolation" else self.seq_len
                if longest > self.max_seq_len:
                    what = "3 x seq_len (the extrapolation length)" if longest != self.seq_len else "seq_len"
                    bad("seq_len", f"{what} = {longest} exceeds max_seq_len {self.max_seq_len}")
        else:
            bad("seq_len", f"must be an integer, got {self.seq_len!r}")
        if (
            isinstance(self.d_model, int)
            and self.d_model > 0
            and self.model in ("tiny_transformer", "local_transformer")
            and self.d_model % 4
        ):
            bad("d_model", f"must be divisible by 4 (the transformers' heads), got {self.d_model}")
        return errors

    def check(self) -> "TrainConfig":
        """Raise ConfigError if invalid; return self so calls chain."""
        errors = self.validate()
        if errors:
            raise ConfigError(errors)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainConfig":
        """Build from a dict, ignoring unknown keys (older or newer run files) and coercing types."""
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            default = known[key].default
            if isinstance(default, bool):
                kwargs[key] = bool(value)
            elif isinstance(default, int) and isinstance(value, (int, float)) and not isinstance(value, bool):
                kwargs[key] = int(value) if float(value).is_integer() else value
            elif isinstance(default, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
                kwargs[key] = float(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def model_overrides(self) -> dict[str, int]:
        """The ModelConfig fields this run sets."""
        return {
            "d_model": self.d_model,
            "memory_slots": self.memory_slots,
            "window": self.window,
            "max_seq_len": self.max_seq_len,
        }


def _is_cuda_index(name: Any) -> bool:
    return isinstance(name, str) and name.startswith("cuda:") and name[5:].isdigit()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_field(name: str, text: str) -> Any:
    """Parse a form/CLI string into the type of TrainConfig.<name>; ValueError with a one-line message."""
    known = {f.name: f for f in fields(TrainConfig)}
    if name not in known:
        raise ValueError(f"unknown setting '{name}'")
    default = known[name].default
    text = text.strip()
    if isinstance(default, int) and not isinstance(default, bool):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name}: expected an integer, got {text!r}") from None
    if isinstance(default, float):
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name}: expected a number, got {text!r}") from None
    return text


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(TrainConfig))


def load_config(path: str | Path) -> TrainConfig:
    return TrainConfig.from_dict(json.loads(Path(path).read_text()))


__all__ = [
    "ConfigError",
    "DEVICE_NAMES",
    "FieldError",
    "MIN_SEQ_LEN",
    "MODEL_NAMES",
    "SUITE_NAMES",
    "TASK_NAMES",
    "TrainConfig",
    "field_names",
    "load_config",
    "parse_field",
]
