"""EvalSettings: what an evaluation result depends on besides the checkpoint, and parsing them from form text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .knobs import TaskKnobs
from .names import (
    EXTRAPOLATION_FACTOR,
    SUITE_NAMES,
    TASK_NAMES,
    FieldError,
    _is_int,
    length_errors,
)

DEFAULT_EVAL_SEED = 123  # the original's evaluation seed
DEFAULT_MAX_SEQ_LEN = 512  # ModelConfig.max_seq_len; settings are checked against it up front
MAX_EXAMPLES = 100_000  # a guard against a typo such as 1600000 freezing the machine


@dataclass(frozen=True)
class EvalSettings:
    """What a result depends on besides the checkpoint; two results with equal settings are comparable."""

    suite: str = "v2"  # task generators: v2 (leak-free, default) or v1 (the original's)
    examples: int = 160  # held-out examples per task (160 = the original's 5 batches of 32; +-0.08 at p=0.5)
    seq_len: int = 64  # length of every task but length_extrapolation
    extrapolation_len: int | None = None  # length_extrapolation's length; None = 3 x seq_len (192 for 64)
    seed: int = DEFAULT_EVAL_SEED  # seeds the eval stream (v2); v1 always uses the original's 123 + i
    tasks: tuple[str, ...] = TASK_NAMES  # the columns
    batch_size: int = 32  # examples per forward pass; changes speed, not results
    knobs: TaskKnobs = TaskKnobs()  # task difficulty (records, keys, ...), applied to each task where it means something

    @property
    def extrapolation_length(self) -> int:
        return self.extrapolation_len if self.extrapolation_len is not None else EXTRAPOLATION_FACTOR * self.seq_len

    def length_of(self, task: str) -> int:
        return self.extrapolation_length if task == "length_extrapolation" else self.seq_len

    def validate(self, max_seq_len: int = DEFAULT_MAX_SEQ_LEN) -> list[FieldError]:
        """Every problem, as FieldError(field, one-line message); empty when the settings are usable."""
        errors: list[FieldError] = []
        if self.suite not in SUITE_NAMES:
            errors.append(FieldError("suite", f"unknown suite '{self.suite}' (choose from {', '.join(SUITE_NAMES)})"))
        if not _is_int(self.examples) or self.examples < 1:
            errors.append(FieldError("examples", f"must be a positive integer, got {self.examples!r}"))
        elif self.examples > MAX_EXAMPLES:
            errors.append(FieldError("examples", f"at most {MAX_EXAMPLES:,} per task, got {self.examples:,}"))
        errors += length_errors("seq_len", self.seq_len, max_seq_len)
        if self.extrapolation_len is not None:
            errors += length_errors("extrapolation_len", self.extrapolation_len, max_seq_len)
        elif _is_int(self.seq_len) and "length_extrapolation" in self.tasks and self.extrapolation_length > max_seq_len:
            errors.append(
                FieldError("extrapolation_len", f"3 x seq_len = {self.extrapolation_length} exceeds max_seq_len {max_seq_len}; set a length")
            )
        if not _is_int(self.seed) or self.seed < 0:
            errors.append(FieldError("seed", f"must be a non-negative integer, got {self.seed!r}"))
        if not _is_int(self.batch_size) or self.batch_size < 1:
            errors.append(FieldError("batch_size", f"must be a positive integer, got {self.batch_size!r}"))
        unknown = [t for t in self.tasks if t not in TASK_NAMES]
        if unknown or not self.tasks:
            errors.append(FieldError("tasks", f"unknown task(s) {', '.join(unknown)}" if unknown else "choose at least one task"))
        if not errors:
            for task in self.tasks:
                for error in self.knobs.validate(task, self.length_of(task), self.suite):
                    if error.field not in {e.field for e in errors}:
                        errors.append(FieldError(error.field, f"{task}: {error.message}"))
        return errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite,
            "examples": self.examples,
            "seq_len": self.seq_len,
            "extrapolation_len": self.extrapolation_length,
            "seed": self.seed,
            "tasks": list(self.tasks),
            # Only knobs that differ from the task definitions, so results cached before knobs existed still match.
            **({"knobs": self.knobs.changed()} if not self.knobs.is_default() else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EvalSettings":
        seq_len = int(data.get("seq_len", 64))
        extrap = data.get("extrapolation_len")
        return cls(
            suite=str(data.get("suite", "v2")),
            examples=int(data.get("examples", 160)),
            seq_len=seq_len,
            extrapolation_len=None if extrap in (None, EXTRAPOLATION_FACTOR * seq_len) else int(extrap),
            seed=int(data.get("seed", DEFAULT_EVAL_SEED)),
            tasks=tuple(data.get("tasks", TASK_NAMES)),
            knobs=TaskKnobs.from_dict(data.get("knobs")),
        )

    def cache_key(self) -> str:
        """A stable string for the cache: batch_size is left out (it does not change the numbers)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def describe(self) -> str:
        """One line for titles: 'v2 · 160 examples/task · len 64, extrapolation 192 · seed 123'."""
        seed = "seeds 123+i (v1)" if self.suite == "v1" else f"seed {self.seed}"
        knobs = f" · {self.knobs.describe()}" if not self.knobs.is_default() else ""
        return f"{self.suite} · {self.examples} examples/task · len {self.seq_len}, extrapolation {self.extrapolation_length} · {seed}{knobs}"


SETTING_FIELDS = ("suite", "examples", "seq_len", "extrapolation_len", "seed")


def parse_settings(texts: dict[str, str], base: EvalSettings | None = None) -> tuple[EvalSettings | None, dict[str, str]]:
    """Settings from form strings (SETTING_FIELDS); (settings or None, {field: message}).

    A blank extrapolation length means 3 x seq_len; every other field must
    parse. Messages are one line each, for showing beside the field.
    """
    base = base or EvalSettings()
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in SETTING_FIELDS:
        if name not in texts:
            continue
        text = texts[name].strip()
        if name == "suite":
            values[name] = text
        elif name == "extrapolation_len" and text == "":
            values[name] = None
        else:
            try:
                values[name] = int(text.replace("_", "").replace(",", ""))
            except ValueError:
                errors[name] = f"expected a whole number, got {text!r}" if text else "required"
    merged = {
        "suite": base.suite,
        "examples": base.examples,
        "seq_len": base.seq_len,
        "extrapolation_len": base.extrapolation_len,
        "seed": base.seed,
        **values,
    }
    for name in errors:
        merged[name] = getattr(base, name)
    settings = EvalSettings(tasks=base.tasks, batch_size=base.batch_size, **merged)
    for error in settings.validate():
        if error.field in texts and error.field not in errors:
            errors[error.field] = error.message
        elif error.field not in texts:
            errors.setdefault(error.field, error.message)
    return (None if errors else settings), errors



__all__ = ["DEFAULT_EVAL_SEED", "DEFAULT_MAX_SEQ_LEN", "EvalSettings", "MAX_EXAMPLES", "SETTING_FIELDS", "parse_settings"]
