"""Every setting in one torch-free module: training config, task difficulty knobs, recipes, names and help text."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, fields
from pathlib import Path
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


def _help(text: str, label: str | None = None, choices: tuple[str, ...] | None = None) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- task difficulty


# Which tasks each knob changes; elsewhere it is ignored by the generator and refused in a TrainConfig.
KNOB_TASKS: dict[str, tuple[str, ...]] = {
    "records": TASK_NAMES,
    "keys": TASK_NAMES,
    "values": TASK_NAMES,
    "overwrites": ("changing_facts",),
    "min_distance": ("associative_lookup", "changing_facts", "needle_recall", "length_extrapolation"),
}
DEFAULT_MIN_DISTANCE = {"changing_facts": 16}  # 2 x window (SPEC 2, v1 weakness 1); 0 for the others


@dataclass(frozen=True)
class TaskKnobs:
    """Difficulty dials of the v2 generators beside seq_len; the defaults give the v2 tasks exactly.

    Knobs apply where they mean something (KNOB_TASKS) and are ignored for the
    other tasks, so one set of knobs can score a model on every task.
    """

    records: int | None = field(default=None, metadata=_help(
        "records (key value SEP) before the query; the other slots are NOISE filler. auto = as many as fit"))
    keys: int = field(default=NUM_KEYS, metadata=_help(
        f"distinct keys in play per example, drawn from the {NUM_KEYS}"))
    values: int = field(default=NUM_VALUES, metadata=_help(
        f"distinct values in play per example, drawn from the {NUM_VALUES}"))
    overwrites: int | None = field(default=None, metadata=_help(
        "changing_facts: times the queried key (and each decoy key) is overwritten. auto = 1-3 at random"))
    min_distance: int | None = field(default=None, metadata=_help(
        "tokens between the newest fact about the queried key and QUERY. auto = 16 for changing_facts, 0 elsewhere",
        label="min distance"))

    def is_default(self) -> bool:
        return self == TaskKnobs()

    def changed(self) -> dict[str, Any]:
        """The knobs that differ from the defaults, in field order."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != f.default}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "TaskKnobs":
        data = data or {}
        return cls(**{f.name: data[f.name] for f in fields(cls) if data.get(f.name) is not None})

    def min_distance_for(self, task: str) -> int:
        if self.min_distance is not None:
            return self.min_distance
        return DEFAULT_MIN_DISTANCE.get(task, 0)

    def describe(self) -> str:
        """'records 8, keys 12' (empty for the defaults)."""
        return ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in self.changed().items())

    def validate(self, task: str, seq_len: int, suite: str = "v2", strict: bool = False) -> list[FieldError]:
        """Problems with these knobs for `task` at `seq_len`. `strict`: a knob the task ignores is an error."""
        errors: list[FieldError] = []
        changed = self.changed()
        if suite == "v1":
            return [FieldError(name, "task knobs need suite v2 (v1 reproduces the original generator)") for name in changed]
        for name, value in changed.items():
            if not _is_int(value):
                errors.append(FieldError(name, f"must be an integer or auto, got {value!r}"))
        if errors:
            return errors
        if strict:
            for name in changed:
                if task not in KNOB_TASKS[name]:
                    errors.append(FieldError(name, f"does not apply to {task} (only {', '.join(KNOB_TASKS[name])})"))
        slots = record_slots(seq_len) if _is_int(seq_len) else None
        if not 2 <= self.keys <= NUM_KEYS:
            errors.append(FieldError("keys", f"must be in 2..{NUM_KEYS}, got {self.keys}"))
        if not 2 <= self.values <= NUM_VALUES:
            errors.append(FieldError("values", f"must be in 2..{NUM_VALUES}, got {self.values}"))
        if self.records is not None:
            if self.records < 1:
                errors.append(FieldError("records", f"must be at least 1, got {self.records}"))
            elif slots is not None and self.records > slots:
                errors.append(FieldError("records", f"{self.records} records do not fit in {seq_len} tokens (at most {slots})"))
        if self.min_distance is not None and self.min_distance < 0:
            errors.append(FieldError("min_distance", f"must be non-negative, got {self.min_distance}"))
        if self.overwrites is not None and self.overwrites < 1:
            errors.append(FieldError("overwrites", f"must be at least 1, got {self.overwrites}"))
        if errors or slots is None:
            return errors
        records = self.records if self.records is not None else slots
        if task == "multi_hop":
            if min(records, self.keys) < 4:
                errors.append(FieldError("records" if records < 4 else "keys", "multi_hop needs at least 4 records with 4 keys"))
            elif self.records is not None and self.records > self.keys:
                errors.append(FieldError("records", f"multi_hop sets each key once: {self.records} records need {self.records} keys, {self.keys} in play"))
        if task in ("associative_lookup", "needle_recall", "length_extrapolation") and self.min_distance:
            if recency_limit(slots, self.min_distance) < 0:
                errors.append(FieldError("min_distance", f"{self.min_distance} leaves no room in {seq_len} tokens"))
        if task == "changing_facts":
            k = self.overwrites or 1
            if self.overwrites is not None and self.overwrites > self.values - 1:
                errors.append(FieldError("overwrites", f"{self.overwrites} overwrites need {self.overwrites + 1} distinct values, only {self.values} in play"))
            if self.overwrites is not None or self.min_distance is not None or self.records is not None:
                zone = recency_limit(slots, self.min_distance_for(task)) + 1  # slots that may hold the newest fact
                if self.min_distance is not None or self.overwrites is not None:
                    if zone < k + 1:
                        errors.append(FieldError(
                            "min_distance" if self.min_distance is not None else "overwrites",
                            f"{k + 1} facts at least {self.min_distance_for(task)} tokens before the query do not fit in {seq_len} tokens",
                        ))
                if records < k + 1:
                    errors.append(FieldError("records", f"changing_facts with {k} overwrite(s) needs at least {k + 1} records"))
        return errors


# --------------------------------------------------------------------------- training


def _f(default: Any, text: str, label: str | None = None, choices: tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata=_help(text, label, choices))


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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_cuda_index(name: Any) -> bool:
    return isinstance(name, str) and name.startswith("cuda:") and name[5:].isdigit()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def fields_by_name(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in fields(cls)}


AUTO = "auto"  # how an optional integer setting (None) is written in a form or on the command line


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


__all__ = [
    "AUTO",
    "ConfigError",
    "DELTA_MODELS",
    "DEVICE_NAMES",
    "FieldError",
    "MEMORY_MODELS",
    "MIN_SEQ_LEN",
    "MODEL_NAMES",
    "ORIGINAL_MODELS",
    "RECIPES",
    "RECIPE_NAMES",
    "SLOT_MODELS",
    "SUITE_NAMES",
    "TASK_NAMES",
    "TRANSFORMER_MODELS",
    "TaskKnobs",
    "TrainConfig",
    "field_names",
    "format_field",
    "help_of",
    "length_errors",
    "load_config",
    "parse_field",
    "recipe_config",
    "record_slots",
]
