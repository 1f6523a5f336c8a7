"""Chart data for the Train screen: metric columns grown from metrics.jsonl records, smoothing, downsampling, formatting."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

# Columns kept from each record kind. Training lines come every log_every steps,
# held-out lines every eval_every steps (see docs/DESIGN.md, metrics.jsonl).
TRAIN_KEYS = ("loss", "answer_loss", "aux_loss", "accuracy", "write_strength", "write_frequency", "surprise")
EVAL_KEYS = ("eval_loss", "eval_accuracy")


@dataclass
class Curve:
    """One metric against step: xs strictly increasing."""

    xs: list[int] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    def add(self, x: int, y: float) -> None:
        # A resumed run re-logs steps after its checkpoint: newer points replace overlapping older ones.
        while self.xs and self.xs[-1] >= x:
            self.xs.pop()
            self.ys.pop()
        self.xs.append(x)
        self.ys.append(y)

    def copy(self) -> "Curve":
        return Curve(list(self.xs), list(self.ys))

    def __len__(self) -> int:
        return len(self.xs)


class RunSeries:
    """All curves of one run plus its latest training and held-out records. Mutated on the UI thread only."""

    def __init__(self) -> None:
        self.curves: dict[str, Curve] = {}
        self.last_train: dict[str, Any] | None = None
        self.last_eval: dict[str, Any] | None = None
        self.clear()

    def clear(self) -> None:
        self.curves = {key: Curve() for key in (*TRAIN_KEYS, *EVAL_KEYS)}
        self.last_train = None
        self.last_eval = None

    def add(self, records: Iterable[dict[str, Any]]) -> int:
        """Append records; return how many were used (others lack a step or a known kind)."""
        used = 0
        for record in records:
            step = record.get("step")
            if not isinstance(step, int) or isinstance(step, bool):
                continue
            kind = record.get("kind")
            if kind == "train":
                keys = TRAIN_KEYS
                self.last_train = record
            elif kind == "eval":
                keys = EVAL_KEYS
                self.last_eval = record
            else:
                continue
            used += 1
            for key in keys:
                value = record.get(key)
                if _finite(value):
                    self.curves[key].add(step, float(value))
        return used

    def snapshot(self) -> dict[str, Curve]:
        """Copies of every curve, safe to hand to a worker thread."""
        return {key: curve.copy() for key, curve in self.curves.items()}

    @property
    def has_memory_stats(self) -> bool:
        return bool(self.curves["write_strength"].xs or self.curves["surprise"].xs)

    @property
    def best_eval_accuracy(self) -> float | None:
        ys = self.curves["eval_accuracy"].ys
        return max(ys) if ys else None


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def ema_debiased(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with the start-up bias removed (as TensorBoard smooths).

    s_t = weight * s_{t-1} + (1 - weight) * x_t with s_0 = 0, divided by
    (1 - weight^t) so the first points are not dragged towards zero.
    E.g. [1, 1, 1] -> [1.0, 1.0, 1.0]; a plain EMA would give [0.1, 0.19, 0.271].
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out: list[float] = []
    acc = 0.0
    correction = 1.0
    for x in values:
        acc = weight * acc + (1.0 - weight) * x
        correction *= weight
        out.append(acc / (1.0 - correction))
    return out


def downsample(xs: Sequence[int], ys: Sequence[float], max_points: int) -> tuple[list[int], list[float]]:
    """At most `max_points` evenly strided points, always keeping the last (the newest step)."""
    n = len(xs)
    if max_points <= 0 or n <= max_points:
        return list(xs), list(ys)
    stride = math.ceil(n / max_points)
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx[-1] = n - 1
    return [xs[i] for i in idx], [ys[i] for i in idx]


# --------------------------------------------------------------------------- formatting


def format_duration(seconds: float | None) -> str:
    """0:07, 12:34, 3:04:05; '-' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_age(seconds: float | None) -> str:
    """A compact age: 5s, 3m, 2h, 4d; '-' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def format_number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 10 ** (-digits)):
        return f"{value:.{max(1, digits - 1)}e}"
    return f"{value:.{digits}f}"
