"""Line charts drawn by plotext into Rich Text (safe to build off the UI thread), and the widget that shows them."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import Static

# plotext keeps one master figure per process: every build holds this lock so
# charts rendered from different workers never share half-built state.
_PLOT_LOCK = threading.Lock()

# 256-colour codes (not 0-15, which terminals re-theme), distinct on dark and light backgrounds.
RUN_COLOURS = (39, 208, 77, 170, 220, 44, 141, 203)

# Marker per series role: the main series of a chart and its companion.
PRIMARY_MARKER = "hd"  # quadrant blocks: a solid line in every terminal font
SECONDARY_MARKER = "·"  # a dotted line


class ColourBook:
    """Gives each run a colour the first time it is asked and keeps it for the session (stable across overlays)."""

    def __init__(self, palette: Sequence[int] = RUN_COLOURS):
        self.palette = tuple(palette)
        self._given: dict[str, int] = {}

    def colour(self, key: str) -> int:
        if key not in self._given:
            used = list(self._given.values())
            free = [c for c in self.palette if c not in used]
            self._given[key] = free[0] if free else self.palette[len(used) % len(self.palette)]
        return self._given[key]


@dataclass(frozen=True)
class Line:
    """One series: points, a 256-colour code and a marker."""

    xs: Sequence[float]
    ys: Sequence[float]
    colour: int
    marker: str = PRIMARY_MARKER


@dataclass(frozen=True)
class ChartSpec:
    """Everything needed to draw one chart; plain data so a worker thread can render it."""

    lines: tuple[Line, ...] = ()
    log_y: bool = False
    y_limits: tuple[float, float] | None = None
    empty: str = "waiting for data…"
    notes: tuple[str, ...] = field(default_factory=tuple)


def nice_ticks(lo: float, hi: float, max_ticks: int) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten) inside [lo, hi]: as many as fit in max_ticks."""
    max_ticks = max(2, max_ticks)
    span = hi - lo
    if span <= 0:
        return [lo]
    power = 10 ** math.floor(math.log10(span))
    candidates = sorted({m * power * scale for m in (1, 2, 5) for scale in (0.01, 0.1, 1, 10)})
    whole = lo == int(lo) and hi == int(hi)
    best: list[float] = []
    for step in candidates:
        if whole and step < 1:
            continue
        first = math.ceil(lo / step - 1e-9) * step
        ticks = []
        value = first
        while value <= hi + 1e-9 * step:
            ticks.append(round(value, 10))
            value += step
        if len(ticks) <= max_ticks:
            best = ticks
            break
    return best or [lo, hi]


def step_label(value: float) -> str:
    """1, 250, 1.5k, 20k, 1.2M."""
    if abs(value) >= 1e6:
        return f"{value / 1e6:.3g}M"
    if abs(value) >= 1e4 or (abs(value) >= 1e3 and value % 1000):
        return f"{value / 1e3:.3g}k"
    return f"{value:.0f}" if value == int(value) else f"{value:.3g}"


def render_chart(spec: ChartSpec, width: int, height: int) -> Text:
    """Draw `spec` as width x height cells of Rich Text. Thread-safe; never raises on odd data."""
    lines = []
    for line in spec.lines:
        pts = [(x, y) for x, y in zip(line.xs, line.ys) if math.isfinite(y) and (y > 0 or not spec.log_y)]
        if pts:
            lines.append((line, pts))
    if not lines or width < 16 or height < 5:
        message = spec.empty if lines == [] else ""
        return Text(message, style="dim", no_wrap=True, overflow="ellipsis")
    import plotext as plt  # imported here, in the worker: keeps app start-up light

    xs_all = [x for _line, pts in lines for x, _ in pts]
    xlo, xhi = min(xs_all), max(xs_all)
    if xhi == xlo:
        xlo, xhi = xlo - 1, xhi + 1
    ticks = nice_ticks(xlo, xhi, max(2, (width - 8) // 8))
    try:
        with _PLOT_LOCK:
            fig = plt.figure
            fig.clear()
            try:
                fig.plot_size(width, height)
                fig.theme("simple")
                for line, pts in lines:
                    xs = [p[0] for p in pts]
                    ys = [p[1] for p in pts]
                    signal = fig.signal(xs, ys, marker=plt.marker(line.marker, pixel=line.colour))
                    if len(pts) > 1:
                        signal.lines()
                    fig.draw(signal)
                fig.ruler("x").lim(xlo, xhi)
                fig.ruler("x").ticks(ticks, [step_label(t) for t in ticks])
                if spec.log_y:
                    fig.ruler("y").scale("log")
                elif spec.y_limits is not None:
                    fig.ruler("y").lim(*spec.y_limits)
                rendered = fig.build().string()
            finally:
                fig.clear()
    except Exception as exc:  # noqa: BLE001 - a chart must never take the app down
        return Text(f"chart unavailable: {type(exc).__name__}: {exc}"[: max(10, width)], style="dim red", no_wrap=True)
    text = Text.from_ansi(rendered, no_wrap=True, overflow="crop", end="")
    text.rstrip()
    return text


class LineChart(Static):
    """A Static that shows a rendered chart; tells its screen when its size changes so it can redraw."""

    DEFAULT_CSS = """
    LineChart {
        height: 1fr;
        width: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        padding: 0;
    }
    """

    class Resized(Message):
        """The chart's drawing area changed size."""

    def on_resize(self) -> None:
        self.post_message(self.Resized())

    @property
    def plot_size(self) -> tuple[int, int]:
        """(columns, rows) available for the plot."""
        size = self.content_size
        return size.width, size.height
