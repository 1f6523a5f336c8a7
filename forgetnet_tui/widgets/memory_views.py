"""Memory views for the stepper: the S x d memory heatmap, per-slot bars, and the timeline (slot- or head-by-time).

The slot views are for slot memories (``StepperTrace.memory_kind == "slot"``);
matrix memories have their own (widgets/stepper_matrix.py), and the timeline
draws whichever the trace has.

Each view is a pure function of a precomputed StepperTrace and a cursor
(``render_*``), so tests can read exactly what a widget shows; the widgets
only hold the trace and the cursor the screen gives them.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Optional

import numpy as np
from rich.style import Style
from rich.text import Span, Text

from .stepper_matrix import TIMELINE_LABEL as HEAD_TIMELINE_LABEL
from .stepper_matrix import head_time_rows
from .stepper_palette import (
    DIVERGING,
    MARK_COLOURS,
    VIRIDIS,
    bar,
    fg,
    half_block,
    spark_chars,
    value_colours,
    weight_colours,
    window,
)
from .stepper_view import HeadView, TraceView

if TYPE_CHECKING:  # the UI imports no torch: traces arrive ready-made from a worker
    from forgetnet_core.stepper import StepperTrace

READ_COLOUR = "#5fd7ff"  # the slot read most strongly
WRITE_COLOUR = "#ffaf5f"  # the slot written most strongly
LABEL = 4  # "s07 "


@lru_cache(maxsize=None)
def _cell(colour: str, changed: bool) -> Style:
    if changed:
        return Style(color="#ffffff", bold=True, bgcolor=colour)
    return Style(bgcolor=colour)


def _slot_label(slot: int, read_slot: Optional[int], write_slot: Optional[int]) -> tuple[str, Style]:
    if slot == write_slot:
        return f"s{slot:02d}", fg(WRITE_COLOUR, bold=True)
    if slot == read_slot:
        return f"s{slot:02d}", fg(READ_COLOUR, bold=True)
    return f"s{slot:02d}", Style(dim=True)


def _cells(label: str, label_style: Style, chars: list[str], styles: list[Style]) -> Text:
    """A label then one styled character per cell, built in one go (a heatmap row is dozens of spans)."""
    n = len(label)
    spans = [Span(0, n, label_style)] + [Span(n + j, n + j + 1, style) for j, style in enumerate(styles)]
    return Text(label + "".join(chars), spans=spans, end="")


def render_memory(st: "StepperTrace", t: int, width: int) -> Text:
    """Title line, then one row per slot: M_{t+1} as coloured cells, '•' on cells this step changed."""
    return Text("\n").join(memory_lines(st, t, width))


def memory_lines(st: "StepperTrace", t: int, width: int) -> list[Text]:
    """The lines of :func:`render_memory`."""
    view = st.view(t)
    memory, changed = view.memory, view.changed  # (S, d), (S, d) bool
    S, d = memory.shape
    fold = max(1, math.ceil(d / max(1, width - LABEL)))
    cols = math.ceil(d / fold)
    if fold > 1:  # average `fold` channels per cell; a cell is changed when any of its channels is
        pad = cols * fold - d
        memory = np.pad(memory, ((0, 0), (0, pad)), mode="edge").reshape(S, cols, fold).mean(axis=2)
        changed = np.pad(changed, ((0, 0), (0, pad))).reshape(S, cols, fold).any(axis=2)
    colours = value_colours(memory)
    title = Text()
    n_changed = int(view.changed.sum())
    if width >= 60:
        title.append(f"memory after t={t}", style="bold")
        title.append(f"  • changed {n_changed} cells (|Δ|≥{st.change_threshold:g})  max|Δ| {view.max_change:.2f}")
        if fold > 1:
            title.append(f" ({fold}ch/cell)", style="dim")
    else:  # compare mode: "t=12 •37 Δ0.41 3ch/cell"
        title.append(f"t={t}", style="bold")
        title.append(f" •{n_changed} Δ{view.max_change:.2f}")
        if fold > 1:
            title.append(f" {fold}ch/cell", style="dim")
    title.truncate(width)
    lines = [title]
    for s in range(S):
        label, style = _slot_label(s, view.read_slot, view.write_slot)
        row_c, row_x = colours[s].tolist(), changed[s].tolist()
        chars = ["•" if x else " " for x in row_x]
        styles = [_cell(DIVERGING[c], x) for c, x in zip(row_c, row_x)]
        lines.append(_cells(label + " ", style, chars, styles))
    return lines


def slot_bar_columns(width: int) -> int:
    """Bar width per quantity for a SlotBars of `width` cells (0: numbers only)."""
    return max(0, (width - LABEL) // 4 - 7)


def render_slot_bars(st: "StepperTrace", t: int, width: int) -> Text:
    """Per slot at step t: read weight, write weight, effective erase, effective write (bar and number)."""
    view = st.view(t)
    bw = slot_bar_columns(width)
    top_erase = max(float(st.effective_erase.max()), 1e-9)
    top_write = max(float(st.effective_write.max()), 1e-9)
    specs = (
        ("read", view.read, 1.0, "{:.2f}", READ_COLOUR),
        ("write", view.write, 1.0, "{:.2f}", WRITE_COLOUR),
        ("erase", view.effective_erase, top_erase, "{:.3f}", "#ff5f5f"),
        ("add", view.effective_write, top_write, "{:.3f}", "#87d787"),
    )
    header = Text(" " * LABEL)
    for name, _values, _top, fmt, colour in specs:
        cell = bw + 1 + len(fmt.format(0.0)) + 1
        header.append(name.ljust(cell), fg(colour, bold=True))
    header.truncate(width)
    lines = [header]
    for s in range(view.read.shape[0]):
        line = Text()
        label, style = _slot_label(s, view.read_slot, view.write_slot)
        line.append(label + " ", style)
        for _name, values, top, fmt, colour in specs:
            v = float(values[s])
            if bw:
                line.append(bar(v, bw, top), fg(colour))
                line.append(" ")
            line.append(fmt.format(v), Style(bold=True) if v >= 0.5 * top and top > 0 else Style(dim=v < 0.05 * top))
            line.append(" ")
        line.truncate(width)
        lines.append(line)
    return Text("\n").join(lines)


def _half_block_rows(data: np.ndarray, t: int, start: int, stop: int, symbol: str) -> list[Text]:
    """Rows of '▀' cells: row k shows slot 2k (top half) and 2k+1 (bottom half); columns after t are blank."""
    S = data.shape[1]
    shown = min(stop, t + 1)  # columns start..shown-1 are drawn, the rest are blank
    idx = weight_colours(data[start:shown]).tolist() if shown > start else []  # (columns, S)
    rows = []
    for k in range(0, S, 2):
        if k + 1 < S:
            styles = [half_block(VIRIDIS[col[k]], VIRIDIS[col[k + 1]]) for col in idx]
        else:
            styles = [fg(VIRIDIS[col[k]]) for col in idx]
        line = _cells(f"{symbol}{k:>3} ", LABEL_BOLD if k == 0 else LABEL_DIM, ["▀"] * len(styles), styles)
        line.append(" " * (stop - max(shown, start)))
        rows.append(line)
    return rows


TIMELINE_LABEL = 5  # "β 14 "


LABEL_BOLD = Style(bold=True)
LABEL_DIM = Style(dim=True)


def render_timeline(st: "StepperTrace", t: int, width: int, head: int = 0) -> Text:
    """The timeline as one Text (see timeline_lines)."""
    return Text("\n").join(timeline_lines(st, t, width, head))


def timeline_lines(st: "StepperTrace", t: int, width: int, head: int = 0) -> list[Text]:
    """The memory over time up to t, one column per token, then surprise and the time axis.

    Slot memories: slot-by-time read (β) and write (α) heatmaps; each row holds
    two slots, the top half of '▀' slot k (the row's label), the bottom half
    slot k+1. Matrix memories: head-by-time write strength β, forget 1-α and
    read strength |S q| (stepper_matrix.head_time_rows; `head` is bold).
    Transformers: surprise and the axis only. The axis marks the cursor (▲)
    and the records that matter, in the token strip's colours.
    """
    T = st.seq_len
    label = HEAD_TIMELINE_LABEL if st.memory_kind == "matrix" else TIMELINE_LABEL
    visible = max(1, width - label)
    start = window(t, T, visible)
    stop = min(T, start + visible)
    lines: list[Text] = []
    if st.memory_kind == "slot":
        lines += _half_block_rows(st.read, t, start, stop, "β")
        lines += _half_block_rows(st.write, t, start, stop, "α")
    elif st.memory_kind == "matrix":
        lines += head_time_rows(st, t, start, stop, head)
    spark = Text("surp".ljust(label), style="bold")
    spark.append(spark_chars(st.surprise[start : min(stop, t + 1)]), fg("#ffd75f"))
    lines.append(spark)
    axis = Text(f"{start:>{label - 1}} " if start else "t".rjust(label - 1) + " ", style="dim")
    for i in range(start, stop):
        kind = st.marks.get(i)
        if i == t:
            axis.append("▲", fg("#ffffff", bold=True))
        elif kind:
            axis.append("▔", fg(MARK_COLOURS[kind]))
        else:
            axis.append(" ")
    lines.append(axis)
    return lines


class MemoryHeatmap(TraceView):
    """The S x d memory after the cursor's step, changed cells marked."""

    DEFAULT_CSS = "MemoryHeatmap { height: auto; width: 69; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_memory(st, t, width) if st.memory_kind == "slot" else Text("")

    def build_lines(self, st: "StepperTrace", t: int, width: int) -> list[Text]:
        return memory_lines(st, t, width) if st.memory_kind == "slot" else [Text("")]


class SlotBars(TraceView):
    """Per-slot read, write, effective erase and effective write at the cursor."""

    DEFAULT_CSS = "SlotBars { height: auto; width: 1fr; padding-left: 1; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_slot_bars(st, t, width) if st.memory_kind == "slot" else Text("")


class Timeline(HeadView):
    """Slot- or head-by-time heatmaps, surprise sparkline and time axis up to the cursor."""

    DEFAULT_CSS = "Timeline { height: auto; width: 69; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_timeline(st, t, width, self.head)

    def build_lines(self, st: "StepperTrace", t: int, width: int) -> list[Text]:
        return timeline_lines(st, t, width, self.head)
