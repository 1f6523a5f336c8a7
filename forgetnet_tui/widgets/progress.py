"""The progress line of a run: step/total, steps per second, elapsed, ETA, device and state."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ..formatting import format_duration
from ..series import SeriesSnapshot
from .runs_table import STATE_STYLES


@dataclass(frozen=True)
class Progress:
    """What the progress line shows, computed from status.json, config.json and the run's series."""

    step: int = 0
    total: int = 0
    steps_per_sec: float | None = None  # averaged over a window of recent lines (series.Pace), not one line's
    elapsed: float | None = None  # training time, summed across resumes
    device: str = "?"
    state: str = "?"

    @property
    def eta(self) -> float | None:
        if self.state != "running" or not self.steps_per_sec or self.steps_per_sec <= 0 or not self.total:
            return None
        return max(0, self.total - self.step) / self.steps_per_sec

    @classmethod
    def from_run(cls, status: dict[str, Any] | None, config: dict[str, Any] | None, series: SeriesSnapshot | None, state: str) -> "Progress":
        """The device is status.json's (what the trainer resolved), else config.json's (what was asked for) until then."""
        status = status or {}
        config = config or {}
        last = (series.last_train if series is not None else None) or {}
        step = last.get("step") if isinstance(last.get("step"), int) else None
        status_step = status.get("step") if isinstance(status.get("step"), int) else 0
        elapsed = series.training_time if series is not None else None
        if elapsed is None and _number(status.get("started")) and _number(status.get("updated")):
            elapsed = max(0.0, status["updated"] - status["started"])  # no line with `elapsed` yet: wall time
        return cls(
            step=max(step or 0, status_step),
            total=int(status.get("total_steps") or config.get("steps") or 0),
            steps_per_sec=series.steps_per_sec if series is not None else None,
            elapsed=elapsed,
            device=str(status.get("device") or config.get("device") or "?"),
            state=state,
        )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def format_rate(steps_per_sec: float | None) -> str:
    """12.3 steps/s; 1,234 steps/s; '-' when unknown."""
    if steps_per_sec is None or not math.isfinite(steps_per_sec):
        return "-"
    return f"{steps_per_sec:,.0f}" if steps_per_sec >= 100 else f"{steps_per_sec:.1f}"


def progress_text(progress: Progress, width: int = 120) -> Text:
    """State first (it must never be cut off), then step/total, a bar when there is room, speed, times, device."""
    p = progress
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"● {p.state}", style=STATE_STYLES.get(p.state, "bold"))
    text.append(f"  step {p.step}/{p.total or '?'}", style="bold")
    tail = f" · {format_rate(p.steps_per_sec)} steps/s · {format_duration(p.elapsed)} elapsed · ETA {format_duration(p.eta)} · {p.device}"
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
