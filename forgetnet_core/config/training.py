"""TrainConfig (everything that determines a training run), the named recipes, and parsing of form and CLI text."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .knobs import TaskKnobs
from .names import (
    AUTO,
    DEVICE_NAMES,
    EXTRAPOLATION_FACTOR,
    MODEL_NAMES,
    NUM_KEYS,
    NUM_VALUES,
    POSITION_OFFSETS,
    RECIPE_NAMES,
    SUITE_NAMES,
    TASK_NAMES,
    TRANSFORMER_MODELS,
    ConfigError,
    FieldError,
    _is_cuda_index,
    _is_int,
    _is_number,
    fields_by_name,
    help_meta,
    help_of,
    length_errors,
)


def _f(default: Any, text: str, label: str | None = None, choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata=help_meta(text, label, choices))


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and so its results). Help text lives in each field's metadata."""

    recipe: str = _f("original", "preset this config started from: original (the seed's defaults) or recall (learns in minutes)", choices=RECIPE_NAMES)
    model: str = _f("forgetnet", "architecture: ForgetNet and its ablations, the delta-rule memories, or a transformer baseline", choices=MODEL_NAMES)
    task: str = _f("changing_facts", "the synthetic task trained on", choices=TASK_NAMES)
    suite: str = _f("v2", "v1 reproduces the original's leaky generator, v2 fixes it", choices=SUITE_NAMES)
    steps: int = _f(500, "optimizer steps; each sees a fresh batch from the training stream")
    batch_size: int = _f(32, "examples per step", label="batch size")
    seq_len: int = _f(64, "tokens per training example (>= 14, <= max seq len)", label="seq len")
    lr: float = _f(3e-4, "AdamW learning rate (the original's default 3e-4)")
    aux_weight: float = _f(0.1, "weight of the next-token loss; it trains the head surprise reads", label="aux weight")
    recall_loss_weight: float = _f(0.0, "weight of the dense lookup loss: at every repeated key, answer its newest value so far", label="recall loss")
    weight_decay: float = _f(0.01, "AdamW weight decay", label="weight decay")
    grad_clip: float = _f(1.0, "global gradient-norm clip", label="grad clip")
    warmup_steps: int = _f(0, "linear learning-rate warmup; 0 = constant lr as in the original", label="warmup steps")
    lr_decay: str = _f("none", "none, or cosine decay to 10% after warmup", label="lr decay", choices=("none", "cosine"))
    position_offsets: str = _f("auto", "random training position offsets: auto = only for length_extrapolation, random = every task, none", label="pos offsets", choices=POSITION_OFFSETS)
    conv: int | None = _f(None, "short causal depthwise convolution over the embeddings, kernel K (0 = none); auto = the model's own (4 for the v3 models, 0 for the original seven)")
    d_model: int = _f(64, "hidden width of every model")
    memory_slots: int = _f(16, "rows of the slot memory bank (ForgetNet family only)", label="memory slots")
    window: int = _f(8, "local attention looks at t-window..t")
    max_seq_len: int = _f(512, "size of the position table; bounds seq_len and evaluation lengths", label="max seq len")
    records: int | None = _f(None, help_of(TaskKnobs, "records"))
    keys: int = _f(NUM_KEYS, help_of(TaskKnobs, "keys"))
    values: int = _f(NUM_VALUES, help_of(TaskKnobs, "values"))
    overwrites: int | None = _f(None, help_of(TaskKnobs, "overwrites"))
    min_distance: int | None = _f(None, help_of(TaskKnobs, "min_distance"), label="min distance")
    seed: int = _f(42, "seeds the weights, dropout and the training stream")
    device: str = _f("auto", "auto picks cuda, then mps, then cpu", choices=DEVICE_NAMES)
    eval_every: int = _f(50, "held-out evaluation every N steps (and at the end); 0 = only at the end", label="eval every")
    eval_batches: int = _f(5, "held-out batches of batch_size examples per evaluation", label="eval batches")
    checkpoint_every: int = _f(100, "atomic checkpoint every N steps (and at the end); 0 = only at the end", label="checkpoint every")
    log_every: int = _f(1, "one metrics.jsonl line every N steps", label="log every")

    @property
    def knobs(self) -> TaskKnobs:
        return TaskKnobs(**{f.name: getattr(self, f.name) for f in fields(TaskKnobs)})

    def uses_position_offsets(self) -> bool:
        """Whether training draws random position offsets (v2 only; auto = only for length_extrapolation)."""
        if self.suite == "v1" or self.position_offsets == "none":
            return False
        return self.position_offsets == "random" or self.task == "length_extrapolation"

    def validate(self) -> list[FieldError]:
        """Return every problem with this config (empty when it is valid)."""
        errors: list[FieldError] = []

        def bad(name: str, message: str) -> None:
            errors.append(FieldError(name, message))

        for name in ("recipe", "model", "task", "suite", "position_offsets", "lr_decay"):
            choices = fields_by_name(TrainConfig)[name].metadata["choices"]
            if getattr(self, name) not in choices:
                bad(name, f"unknown {name.replace('_', ' ')} '{getattr(self, name)}' (choose from {', '.join(choices)})")
        if self.device not in DEVICE_NAMES and not _is_cuda_index(self.device):
            bad("device", f"unknown device '{self.device}' (choose from {', '.join(DEVICE_NAMES)})")
        for name in ("steps", "batch_size", "d_model", "memory_slots", "window", "max_seq_len", "eval_batches", "log_every"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                bad(name, f"must be a positive integer, got {value!r}")
        for name in ("eval_every", "checkpoint_every", "warmup_steps", "seed"):
            value = getattr(self, name)
            if not _is_int(value) or value < 0:
                bad(name, f"must be a non-negative integer, got {value!r}")
        if self.conv is not None and (not _is_int(self.conv) or not 0 <= self.conv <= 64):
            bad("conv", f"must be auto or an integer kernel size in 0..64, got {self.conv!r}")
        for name in ("lr", "grad_clip"):
            value = getattr(self, name)
            if not _is_number(value) or not value > 0 or value != value or value == float("inf"):
                bad(name, f"must be a positive number, got {value!r}")
        for name in ("aux_weight", "weight_decay", "recall_loss_weight"):
            value = getattr(self, name)
            if not _is_number(value) or not value >= 0 or value == float("inf"):
                bad(name, f"must be a non-negative number, got {value!r}")
        max_len = self.max_seq_len if _is_int(self.max_seq_len) and self.max_seq_len > 0 else 512
        length = length_errors("seq_len", self.seq_len, max_len)
        if length:
            errors += length
        elif self.task == "length_extrapolation" and EXTRAPOLATION_FACTOR * self.seq_len > max_len:
            bad("seq_len", f"3 x seq_len (the extrapolation length) = {EXTRAPOLATION_FACTOR * self.seq_len} exceeds max_seq_len {max_len}")
        if (
            _is_int(self.d_model)
            and self.d_model > 0
            and self.model in TRANSFORMER_MODELS
            and self.d_model % 4
        ):
            bad("d_model", f"must be divisible by 4 (the transformers' heads), got {self.d_model}")
        if not length and self.task in TASK_NAMES and self.suite in SUITE_NAMES:
            errors += self.knobs.validate(self.task, self.seq_len, self.suite, strict=True)
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
        """Build from a dict, ignoring unknown keys (older or newer run files) and coercing types.

        Run files written before a field existed get the value that run really
        used: no recipe field means the original recipe, no position_offsets
        field means the v2 generator of that time (random offsets on every task).
        """
        known = fields_by_name(cls)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                continue
            default = known[key].default
            if value is None or isinstance(default, str) or default is None:
                kwargs[key] = value
            elif isinstance(default, bool):
                kwargs[key] = bool(value)
            elif isinstance(default, int) and _is_number(value):
                kwargs[key] = int(value) if float(value).is_integer() else value
            elif isinstance(default, float) and _is_number(value):
                kwargs[key] = float(value)
            else:
                kwargs[key] = value
        if "position_offsets" not in data and data:
            kwargs["position_offsets"] = "random"
        return cls(**kwargs)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def model_overrides(self) -> dict[str, Any]:
        """The ModelConfig fields this run sets."""
        overrides: dict[str, Any] = {
            "d_model": self.d_model,
            "memory_slots": self.memory_slots,
            "window": self.window,
            "max_seq_len": self.max_seq_len,
        }
        if self.conv is not None:
            overrides["conv"] = self.conv
        return overrides


# --------------------------------------------------------------------------- recipes

# Named presets: `--recipe NAME` starts from TrainConfig() with these changes; flags given after it override.
RECIPES: dict[str, dict[str, Any]] = {
    # The seed's defaults exactly: lr 3e-4, batch 32, constant lr, no dense loss, no convolution.
    "original": {},
    # What makes the v2 tasks learnable on a CPU in minutes (SPEC sections 6-7; README has the curves):
    # a short causal convolution gives every model "the token before", the dense lookup loss supervises
    # the key -> newest value circuit at every repeated key, lr 3e-3 with warmup and cosine decay, batch 64.
    "recall": {
        "recipe": "recall",
        "steps": 1000,
        "batch_size": 64,
        "lr": 3e-3,
        "warmup_steps": 200,
        "lr_decay": "cosine",
        "recall_loss_weight": 1.0,
        "conv": 4,
        "eval_every": 100,
        "eval_batches": 4,
        "checkpoint_every": 250,
    },
}


def recipe_config(name: str = "original", **overrides: Any) -> TrainConfig:
    """TrainConfig for recipe `name` with `overrides` on top (ValueError for an unknown recipe)."""
    if name not in RECIPES:
        raise ValueError(f"unknown recipe '{name}' (choose from {', '.join(RECIPE_NAMES)})")
    return TrainConfig().replace(**{"recipe": name, **RECIPES[name], **overrides})


def parse_field(name: str, text: str, cls: type = None) -> Any:
    """Parse a form/CLI string into the type of TrainConfig.<name>; ValueError with a one-line message.

    Optional integers (conv and the task knobs) accept `auto` (or nothing) for None.
    """
    known = fields_by_name(cls or TrainConfig)
    if name not in known:
        raise ValueError(f"unknown setting '{name}'")
    default = known[name].default
    text = text.strip()
    if default is None:
        if text.lower() in ("", AUTO):
            return None
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name}: expected an integer or {AUTO}, got {text!r}") from None
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


def format_field(value: Any) -> str:
    """The form/CLI text for a setting's value (None -> auto)."""
    return AUTO if value is None else str(value)


def field_names() -> tuple[str, ...]:
    return tuple(f.name for f in fields(TrainConfig))


def load_config(path: str | Path) -> TrainConfig:
    return TrainConfig.from_dict(json.loads(Path(path).read_text()))



__all__ = ["RECIPES", "TrainConfig", "field_names", "format_field", "load_config", "parse_field", "recipe_config"]
