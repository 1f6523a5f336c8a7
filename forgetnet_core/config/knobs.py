"""TaskKnobs: the difficulty dials of the v2 task generators (records, keys, values, overwrites, min_distance)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from .names import (
    NUM_KEYS,
    NUM_VALUES,
    TASK_NAMES,
    FieldError,
    _is_int,
    help_meta,
    recency_limit,
    record_slots,
)

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

    records: int | None = field(default=None, metadata=help_meta(
        "records (key value SEP) before the query; the other slots are NOISE filler. auto = as many as fit"))
    keys: int = field(default=NUM_KEYS, metadata=help_meta(
        f"distinct keys in play per example, drawn from the {NUM_KEYS}"))
    values: int = field(default=NUM_VALUES, metadata=help_meta(
        f"distinct values in play per example, drawn from the {NUM_VALUES}"))
    overwrites: int | None = field(default=None, metadata=help_meta(
        "changing_facts: times the queried key (and each decoy key) is overwritten. auto = 1-3 at random"))
    min_distance: int | None = field(default=None, metadata=help_meta(
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



__all__ = ["DEFAULT_MIN_DISTANCE", "KNOB_TASKS", "TaskKnobs"]
