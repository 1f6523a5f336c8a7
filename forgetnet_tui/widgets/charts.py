"""Line charts drawn with braille dots into Rich Text (pure functions, safe off the UI thread), their legends, and the widget that shows them.

A chart is plain data: a ChartSpec of Lines, each with points, a 256-colour
code and a label for the legend. `render_chart` draws it in width x height
terminal cells; each cell holds 2 x 4 braille dots, so a 50-column chart has
100 dot columns. A Line may carry a band (lo and hi per point, e.g. a
bucket's raw min and max), drawn dim behind the line: each dot column covers
the whole band, so a one-step spike inside a bucket of a thousand steps
still shows while the line (e.g. the bucket means) reads
as the trend. Lines are drawn in `z` order and a cell shows only the topmost
layer that touches it, in that layer's colour (no blended cells, no stray
glyphs); POINTS lines put one marker per cell column instead of dots. A
line that does not `fits_top` (a companion series such as the aux loss,
whose start can be ten times the main curve) never raises the y axis: what
it has above the other lines is cut off, marked ▲ at the top edge, and its
largest value is named in the legend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from rich.text import Text
from textual.widgets import Static

from ..messages import ChartResized

# 256-colour codes (not 0-15, which terminals re-theme), distinct on dark and light backgrounds.
# Runs get these (the main run's main series is drawn in its run colour)...
RUN_COLOURS = (39, 77, 141, 180, 44, 246, 111, 150)
# ...and the main run's other series these, which no run is given.
AUX_COLOUR = 208  # orange
HELD_OUT_COLOUR = 220  # gold
SURPRISE_COLOUR = 170  # orchid
ERASE_COLOUR = 203  # salmon

LINE = "line"
POINTS = "points"
POINT_MARKER = "◆"
CLIP_MARKER = "▲"
AXIS_STYLE = "grey50"

# Bit of the braille dot at (row 0-3, column 0-1) of a cell (U+2800 + bits).
_DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


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
    """One series: points (xs, ys), optionally a band (lo, hi) around each, a colour, a legend label, a style and a layer."""

    xs: Sequence[float]
    ys: Sequence[float]
    colour: int
    label: str = ""
    style: str = LINE  # LINE: dots joined; POINTS: a marker per point
    lo: Sequence[float] | None = None  # per point: the band drawn dim behind the line (None: no band)
    hi: Sequence[float] | None = None
    fits_top: bool = True  # False: a companion whose highs never raise the axis above the other lines' (cut off, ▲)
    z: int = 0  # drawing layer: higher is drawn later, on top


@dataclass(frozen=True)
class ChartSpec:
    """Everything needed to draw one chart; plain data so a worker thread can render it."""

    lines: tuple[Line, ...] = ()
    log_y: bool = False
    y_include: tuple[float, ...] = ()  # values always on the y axis (0 for rates)
    y_max: float | None = None  # the axis never goes above this (1 for accuracies)
    percent: bool = False  # y labels as percentages
    empty: str = "waiting for data…"
    note: str = ""  # said after the legend (e.g. which run has no memory)


def nice_ticks(lo: float, hi: float, max_ticks: int, whole: bool | None = None) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten) inside [lo, hi]: as many as fit in max_ticks.

    `whole` keeps steps of at least 1 (steps on an x axis); by default when lo and hi are whole numbers.
    """
    max_ticks = max(2, max_ticks)
    span = hi - lo
    if span <= 0:
        return [lo]
    power = 10 ** math.floor(math.log10(span))
    candidates = sorted({m * power * scale for m in (1, 2, 5) for scale in (0.01, 0.1, 1, 10)})
    if whole is None:
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


def value_label(value: float) -> str:
    """A y value in four characters or so: 40.2, 0.031, 1.2e+05."""
    if value == 0:
        return "0"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.2g}"
    return f"{value:.3g}"


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class _Points:
    """A Line's drawable points (finite; positive on a log axis), sorted by x."""

    line: Line
    xs: list[float]
    ys: list[float]
    lo: list[float]
    hi: list[float]


@dataclass(frozen=True)
class _Frame:
    """The axes: x range in steps, y range in plotted units (log10 of the value on a log axis), what is cut off."""

    xlo: float
    xhi: float
    ylo: float
    yhi: float
    clipped: dict[int, float]  # index into the _Points list -> the line's largest value, above the axis


def _finite(value: object) -> bool:
    try:
        return math.isfinite(value)  # type: ignore[arg-type]
    except TypeError:  # None, a string: not a number
        return False


def _points(spec: ChartSpec) -> list[_Points]:
    isfinite = _finite
    out = []
    for line in spec.lines:
        lows = line.lo if line.lo is not None else line.ys
        highs = line.hi if line.hi is not None else line.ys
        rows = []
        for x, y, lo, hi in zip(line.xs, line.ys, lows, highs):
            if not (isfinite(x) and isfinite(y)) or (spec.log_y and y <= 0):
                continue
            lo = min(lo, y) if isfinite(lo) and (lo > 0 or not spec.log_y) else y
            hi = max(hi, y) if isfinite(hi) else y
            rows.append((x, y, lo, hi))
        if rows:
            if any(rows[i][0] > rows[i + 1][0] for i in range(len(rows) - 1)):
                rows.sort(key=lambda r: r[0])
            xs, ys, lo, hi = (list(c) for c in zip(*rows))
            out.append(_Points(line, xs, ys, lo, hi))
    return out


def _frame(spec: ChartSpec, points: list[_Points]) -> _Frame:
    xlo = min(p.xs[0] for p in points)
    xhi = max(p.xs[-1] for p in points)
    if xhi == xlo:
        xlo, xhi = xlo - 1, xhi + 1
    f = math.log10 if spec.log_y else float
    fitting = [p for p in points if p.line.fits_top] or points
    low = min(min(p.lo) for p in points)  # every line's lows count; only fitting lines' highs
    high = max(max(p.hi) for p in fitting)
    for value in spec.y_include:
        if value > 0 or not spec.log_y:
            low, high = min(low, value), max(high, value)
    ylo, yhi = f(low), f(high)
    pad = (yhi - ylo) * 0.04
    ylo = ylo - pad if (spec.log_y or ylo - pad >= 0 or low < 0) else 0.0  # a positive axis does not dip below 0
    yhi = yhi + pad
    if spec.y_max is not None and (spec.y_max > 0 or not spec.log_y):
        yhi = min(yhi, f(spec.y_max))
    if yhi - ylo < 1e-12 * max(1.0, abs(yhi)):
        half = 0.5 if spec.log_y else max(abs(yhi) * 0.1, 0.5)
        ylo, yhi = ylo - half, yhi + half
    clipped = {}
    for i, p in enumerate(points):
        top = max(p.hi)
        if f(top) > yhi + 1e-12:
            clipped[i] = top
    return _Frame(xlo, xhi, ylo, yhi, clipped)


def _y_ticks(spec: ChartSpec, frame: _Frame, rows: int) -> list[tuple[float, str]]:
    """(position in plotted units, label) of the y ticks that fit `rows`."""
    most = max(2, rows // 2 + 1)
    if spec.log_y:
        lo, hi = frame.ylo, frame.yhi
        values = [10.0**k for k in range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1)]
        if len(values) < 2:
            values = sorted(
                m * 10.0**k for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in (1, 2, 5) if lo - 1e-9 <= math.log10(m * 10.0**k) <= hi + 1e-9
            )
        if len(values) < 2:
            values = [v for v in nice_ticks(10**lo, 10**hi, most, whole=False) if v > 0]
        stride = max(1, math.ceil(len(values) / most))
        return [(math.log10(v), _log_label(v)) for v in values[::stride]]
    ticks = nice_ticks(frame.ylo, frame.yhi, most, whole=False)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(ticks[0]) or 1.0
    if spec.percent:
        decimals = max(0, -math.floor(math.log10(step * 100) + 1e-9))
        return [(t, f"{t * 100:.{decimals}f}%") for t in ticks]
    if max(abs(t) for t in ticks) >= 1e5:
        return [(t, value_label(t)) for t in ticks]
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return [(t, f"{t:.{decimals}f}") for t in ticks]


def _log_label(value: float) -> str:
    return f"{value:g}" if 1e-4 <= value < 1e5 else f"{value:.0e}"


# --------------------------------------------------------------------------- drawing


def render_chart(spec: ChartSpec, width: int, height: int) -> Text:
    """Draw `spec` as at most width x height cells of Rich Text. Pure and thread-safe; never raises on odd data."""
    points = _points(spec)
    if not points:
        message = spec.empty if len(spec.empty) <= width else spec.empty[: max(0, width - 1)] + "…"
        return Text(message, style="dim", no_wrap=True, overflow="ellipsis")
    if width < 16 or height < 4:
        return Text("")
    frame = _frame(spec, points)
    has_axis_line = height >= 6
    rows = height - (2 if has_axis_line else 1)
    y_ticks = _y_ticks(spec, frame, rows)
    span = frame.yhi - frame.ylo
    tick_rows: dict[int, str] = {}
    for position, label in y_ticks:
        row = round((frame.yhi - position) / span * (rows - 1))
        if 0 <= row < rows and row not in tick_rows:
            tick_rows[row] = label
    gutter = max((len(label) for label in tick_rows.values()), default=1)
    cols = width - gutter - 1
    if cols < 8:
        return Text("")
    grid = _draw(spec, points, frame, cols, rows)

    text = Text(no_wrap=True, overflow="crop", end="")
    for r in range(rows):
        text.append(tick_rows.get(r, "").rjust(gutter) + ("┤" if r in tick_rows else "│"), style=AXIS_STYLE)
        _append_cells(text, grid[r])
        text.append("\n")
    x_ticks = nice_ticks(frame.xlo, frame.xhi, max(2, width // 10), whole=True)  # by the whole width: neighbouring charts agree
    x_span = frame.xhi - frame.xlo
    tick_cols = {t: round((t - frame.xlo) / x_span * (2 * cols - 1)) // 2 for t in x_ticks}
    if has_axis_line:
        marks = set(tick_cols.values())
        text.append(" " * gutter + "└" + "".join("┬" if c in marks else "─" for c in range(cols)) + "\n", style=AXIS_STYLE)
    labels = [" "] * cols
    free_from = 0
    for tick, col in tick_cols.items():
        label = step_label(tick)
        start = min(max(col - len(label) // 2, 0), cols - len(label))
        if start < free_from or start < 0:
            continue
        labels[start : start + len(label)] = label
        free_from = start + len(label) + 1
    text.append(" " * (gutter + 1) + "".join(labels).rstrip(), style=AXIS_STYLE)
    return text


Cell = tuple[str, str]  # (glyph, Rich style)


def _draw(spec: ChartSpec, points: list[_Points], frame: _Frame, cols: int, rows: int) -> list[list[Cell | None]]:
    """The plot's cells, row by row: (glyph, style) or None for blank."""
    dot_cols, dot_rows = 2 * cols, 4 * rows
    f = math.log10 if spec.log_y else float
    x_scale = (dot_cols - 1) / (frame.xhi - frame.xlo)
    y_scale = (dot_rows - 1) / (frame.yhi - frame.ylo)

    def dot_x(x: float) -> int:
        return min(dot_cols - 1, max(0, round((x - frame.xlo) * x_scale)))

    def dot_y(value: float) -> int:
        return min(dot_rows - 1, max(0, round((frame.yhi - f(value)) * y_scale)))

    grid: list[list[Cell | None]] = [[None] * cols for _ in range(rows)]
    clip_marks: dict[int, str] = {}  # cell column -> style
    for i in sorted(range(len(points)), key=lambda i: points[i].line.z):
        p = points[i]
        style = f"color({p.line.colour})"
        if p.line.style == POINTS:  # one marker per cell column, at the mean of its points: dense points stay a dotted line
            cells: dict[int, list[float]] = {}
            for x, y in zip(p.xs, p.ys):
                cells.setdefault(dot_x(x) // 2, []).append(y)
            for c, ys in cells.items():
                grid[dot_y(sum(ys) / len(ys)) // 4][c] = (POINT_MARKER, style)
            continue
        if p.lo != p.ys or p.hi != p.ys:  # the band first, dim; the line over it
            _paint(grid, _trace(p.xs, p.ys, p.lo, p.hi, dot_x, dot_y), style + " dim")
        _paint(grid, _trace(p.xs, p.ys, p.ys, p.ys, dot_x, dot_y), style)
        if i in frame.clipped:
            for x, hi in zip(p.xs, p.hi):
                if f(hi) > frame.yhi:
                    clip_marks[dot_x(x) // 2] = style
    for c, style in clip_marks.items():
        grid[0][c] = (CLIP_MARKER, style + " dim")
    return grid


def _trace(xs: list[float], ys: list[float], lows: list[float], highs: list[float], dot_x, dot_y) -> dict[tuple[int, int], int]:
    """Braille dot masks by (cell row, cell column): each dot column spans its points' lows to highs, joined to the next through ys."""
    columns: dict[int, list[int]] = {}  # dot column -> [top, bottom, first y, last y] in dot rows
    for x, y, lo, hi in zip(xs, ys, lows, highs):
        c, mid = dot_x(x), dot_y(y)
        top, bottom = dot_y(hi), dot_y(lo)
        seen = columns.get(c)
        if seen is None:
            columns[c] = [top, bottom, mid, mid]
        else:
            seen[0], seen[1], seen[3] = min(seen[0], top), max(seen[1], bottom), mid
    masks: dict[tuple[int, int], int] = {}

    def dot(px: int, py: int) -> None:
        key = (py // 4, px // 2)
        masks[key] = masks.get(key, 0) | _DOT_BITS[py % 4][px % 2]

    previous: tuple[int, int] | None = None
    for c in sorted(columns):
        top, bottom, first, last = columns[c]
        for py in range(top, bottom + 1):
            dot(c, py)
        if previous is not None:  # join to the previous column: every dot column between gets its share
            pc, py0 = previous
            steps = max(c - pc, abs(first - py0))
            for k in range(1, steps):
                dot(pc + round((c - pc) * k / steps), py0 + round((first - py0) * k / steps))
        previous = (c, last)
    return masks


def _paint(grid: list[list[Cell | None]], masks: dict[tuple[int, int], int], style: str) -> None:
    """A layer over the grid: each cell it touches shows only its dots."""
    for (r, c), mask in masks.items():
        grid[r][c] = (chr(0x2800 + mask), style)


def _append_cells(text: Text, cells: list[Cell | None]) -> None:
    """Append one row of cells, one span per run of the same style."""
    run: list[str] = []
    run_style: str | None = None
    for cell in cells:
        glyph, style = cell if cell is not None else (" ", None)
        if style != run_style and run:
            text.append("".join(run), style=run_style)
            run = []
        run_style = style
        run.append(glyph)
    if run:
        text.append("".join(run), style=run_style)


def chart_legend(spec: ChartSpec) -> Text:
    """Every drawn line's key in its colour and its label; lines sharing label and colour share an entry (━◆ run).

    Lines without points are left out; a line cut off at the top names its largest value (▲40.2); the note comes last.
    """
    points = _points(spec)
    legend = Text(no_wrap=True, overflow="ellipsis", end="")
    clipped = _frame(spec, points).clipped if points else {}
    entries: dict[tuple[str, int], list] = {}  # (label, colour) -> [keys, largest value cut off]
    for i, p in enumerate(points):
        entry = entries.setdefault((p.line.label, p.line.colour), ["", None])
        key = POINT_MARKER if p.line.style == POINTS else "━"
        if key not in entry[0]:
            entry[0] += key
        if i in clipped:
            entry[1] = clipped[i] if entry[1] is None else max(entry[1], clipped[i])
    for n, ((label, colour), (keys, cut)) in enumerate(entries.items()):
        style = f"color({colour})"
        legend.append(("  " if n else "") + keys, style=style)
        legend.append(f" {label}")
        if cut is not None:
            legend.append(f" {CLIP_MARKER}{value_label(cut)}", style=style)
    if spec.note:
        legend.append(("  " if entries else "") + spec.note, style="dim")
    return legend


class LineChart(Static):
    """A Static that shows a rendered chart; tells its screen when its size changes so it can redraw."""

    DEFAULT_CSS = """
    LineChart {
        height: 1fr;
        width: 1fr;
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text;
        padding: 0;
    }
    """

    def on_resize(self) -> None:
        self.post_message(ChartResized())

    @property
    def plot_size(self) -> tuple[int, int]:
        """(columns, rows) available for the plot."""
        size = self.content_size
        return size.width, size.height
