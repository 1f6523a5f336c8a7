"""The progress line of a run: step/total, steps per second, elapsed, ETA, device and state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ..series import format_duration
from .runs_table import STATE_STYLES


@dataclass(frozen=True)
class Progress:
    """What the progress line shows, computed from status.json, config.json and the latest training record."""

    step: int = 0
    total: int = 0
    steps_per_sec: float | None = None
    elapsed: float | None = None
    device: str = "?"
    state: str = "?"

    @property
    def eta(self) -> float | None:
        if self.state != "running" or not self.steps_per_sec or self.steps_per_sec <= 0 or not self.total:
            return None
        return max(0, self.total - self.step) / self.steps_per_sec

    @classmethod
    def from_run(cls, status: dict[str, Any] | None, config: dict[str, Any] | None, last_train: dict[str, Any] | None, state: str) -> "Progress":
        status = status or {}
        config = config or {}
        last = last_train or {}
        step = last.get("step") if isinstance(last.get("step"), int) else None
        status_step = status.get("step") if isinstance(status.get("step"), int) else 0
        sps = last.get("steps_per_sec")
        elapsed = last.get("elapsed")
        return cls(
            step=max(step or 0, status_step),
            total=int(status.get("total_steps") or config.get("steps") or 0),
            steps_per_sec=float(sps) if isinstance(sps, (int, float)) and math.isfinite(sps) else None,
            elapsed=float(elapsed) if isinstance(elapsed, (int, float)) else None,
            device=str(status.get("device") or config.get("device") or "?"),
            state=state,
        )


def progress_text(progress: Progress, width: int = 120) -> Text:
    """State first (it must never be cut off), then step/total, a bar when there is room, speed, times, device."""
    p = progress
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"● {p.state}", style=STATE_STYLES.get(p.state, "bold"))
    text.append(f"  step {p.step}/{p.total or '?'}", style="bold")
    sps = f"{p.steps_per_sec:.1f}" if p.steps_per_sec is not None else "-"
    tail = f" · {sps} steps/s · {format_duration(p.elapsed)} elapsed · ETA {format_duration(p.eta)} · {p.device}"
    if p.total:
        fraction = min(1.0, p.step / p.total)
        bar_width = min(20, width - text.cell_len - len(tail) - 7)
        if bar_width >= 6:
            filled = int(round(fraction * bar_width))
            text.append(" ")
            text.append("━" * filled, style="green")
            text.append("━" * (bar_width - filled), style="grey39")
        text.append(f" {fraction:.0%}")
    text.append(tail)
    return text


class ProgressLine(Static):
    """One line; `show(progress)` redraws it."""

    DEFAULT_CSS = """
    ProgressLine { height: 1; width: 1fr; padding: 0 1; }
    """

    progress: Progress | None = None

    def show(self, progress: Progress) -> None:
        if progress != self.progress:
            self.progress = progress
            self.update(progress_text(progress, self.content_size.width or 120), layout=False)

    def show_message(self, message: str) -> None:
        self.progress = None
        self.update(Text(message, no_wrap=True, overflow="ellipsis"), layout=False)

    def on_resize(self) -> None:
        if self.progress is not None:
            self.update(progress_text(self.progress, self.content_size.width), layout=False)
