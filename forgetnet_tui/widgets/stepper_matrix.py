"""Matrix-memory views for the stepper (the delta-rule models): one head's update as state matrices, per-head bars,
and head-by-time rows for the timeline.

A delta-rule head keeps a dh x dh state S and at token t does
``S_t = α S_{t-1} + β v kᵀ − β (α S_{t-1} k) kᵀ``: the forget gate α decays the
old state, the write strength β adds the new association v kᵀ and takes out
the value the key held before. :func:`matrix_lines` draws exactly those four
matrices for one head, side by side (``α·S(t-1)  + written  − erased  =
S(t)``), so the sum can be read off the colours; narrower, it draws S(t) and
the net write (written − erased). Every cell is half a character high
(``▀``: the top half is row 2i, the bottom half row 2i+1), so a 16 x 16 state
is 16 columns by 8 lines, about square. Colours use one scale per head, the
largest |S| the head reaches in the example, so they compare across steps.

Like the slot views these are pure ``*_lines(trace, cursor, width, head)``
functions; the widgets only hold what the screen gives them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.style import Style
from rich.text import Span, Text

from .stepper_palette import (
    DIVERGING,
    VIRIDIS,
    bar,
    fg,
    half_block,
    value_colours,
    weight_colours,
)
from .stepper_view import HeadView

if TYPE_CHECKING:  # the UI imports no torch: traces arrive ready-made from a worker
    from forgetnet_core.stepper import StepperTrace

READ_COLOUR = "#5fd7ff"  # as the slot views: reading
WRITE_COLOUR = "#ffaf5f"  # writing (β)
FORGET_COLOUR = "#d7afff"  # forgetting (1 - α)
ERASE_COLOUR = "#ff5f5f"  # the erased old value
BLOCK_GAP = 2  # columns between two matrices
HEAD_LABEL = 4  # "▶h0 "
TIMELINE_LABEL = 6  # "1-α 0 "
BOLD = Style(bold=True)
DIM = Style(dim=True)


def head_scale(st: "StepperTrace", head: int) -> float:
    """The colour scale of one head: the largest |S| it reaches in the example (never 0)."""
    return max(float(np.abs(st.memory_after[:, head]).max()), 1e-6)


def matrix_blocks(st: "StepperTrace", t: int, head: int, width: int) -> list[list[tuple[str, np.ndarray]]]:
    """The matrices to draw for `head` at t, as rows of (title, dh x dh array) that fit in `width` columns."""
    v = st.view(t)
    dh = v.memory.shape[-1]
    kept = v.alpha[head] * st.memory_before[t, head]  # α S_{t-1}
    four = [("α·S(t-1)", kept), ("+ written", v.written[head]), ("− erased", v.erased[head]), ("= S(t)", v.memory[head])]
    per_row = max(1, (width + BLOCK_GAP) // (dh + BLOCK_GAP))
    if per_row >= 4:
        return [four]
    if per_row >= 2:
        return [four[:2], four[2:]]
    return [[("S(t)", v.memory[head])], [("written−erased", v.written[head] - v.erased[head])]]


def _matrix_title(st: "StepperTrace", t: int, head: int, width: int, scale: float) -> Text:
    v = st.view(t)
    H = st.heads
    title = Text(no_wrap=True, end="")
    if width >= 60:
        title.append(f"head {head}/{H}", style="bold")
        title.append(f"  α {v.alpha[head]:.3f}", fg(FORGET_COLOUR))
        title.append(f"  β {v.beta[head]:.2f}", fg(WRITE_COLOUR))
        title.append(f"  |Sq| {v.read_strength[head]:.2f}", fg(READ_COLOUR))
        title.append(f"  max|Δ| {v.max_change:.2f}  colours ±{scale:.2g}", style="dim")
    else:  # compare mode: "h0/4 α.997 β.62 |Sq|1.2"
        title.append(f"h{head}/{H}", style="bold")
        title.append(f" α{v.alpha[head]:.3f}".replace("0.", "."), fg(FORGET_COLOUR))
        title.append(f" β{v.beta[head]:.2f}".replace("0.", "."), fg(WRITE_COLOUR))
        title.append(f" |Sq|{v.read_strength[head]:.1f}", fg(READ_COLOUR))
    title.truncate(width)
    return title


def _line(parts: list[tuple[str, Style | None]]) -> Text:
    """One line from (text, style) parts, its spans built in one go (a heatmap line is dozens of cells)."""
    plain, spans, pos = [], [], 0
    for text, style in parts:
        if style is not None and text:
            spans.append(Span(pos, pos + len(text), style))
        plain.append(text)
        pos += len(text)
    return Text("".join(plain), spans=spans, no_wrap=True, end="")


def matrix_lines(st: "StepperTrace", t: int, width: int, head: int = 0) -> list[Text]:
    """A title with the head's gates, then its update's matrices as half-block heatmaps (see the module docstring)."""
    head = head % max(1, st.heads)
    scale = head_scale(st, head)
    lines = [_matrix_title(st, t, head, width, scale)]
    for blocks in matrix_blocks(st, t, head, width):
        dh = blocks[0][1].shape[-1]
        heading = Text(no_wrap=True, end="")
        for i, (name, _m) in enumerate(blocks):
            heading.append((" " * BLOCK_GAP if i else "") + name[:dh].ljust(dh), BOLD if name.startswith(("=", "S")) else DIM)
        lines.append(heading)
        colours = [value_colours(m / scale) for _name, m in blocks]  # (dh, dh) palette indices each
        gap = (" " * BLOCK_GAP, None)
        for r in range(0, dh, 2):
            parts: list[tuple[str, Style | None]] = []
            for i, idx in enumerate(colours):
                if i:
                    parts.append(gap)
                top = idx[r].tolist()
                if r + 1 < dh:
                    parts += [("▀", half_block(DIVERGING[a], DIVERGING[b])) for a, b in zip(top, idx[r + 1].tolist())]
                else:
                    parts += [("▀", fg(DIVERGING[a])) for a in top]
            lines.append(_line(parts))
    return lines


def render_matrix(st: "StepperTrace", t: int, width: int, head: int = 0) -> Text:
    """The matrix view as one Text (see matrix_lines)."""
    return Text("\n").join(matrix_lines(st, t, width, head))


def head_bar_columns(width: int) -> int:
    """Bar width per quantity for HeadBars of `width` cells (0: numbers only)."""
    return max(0, (width - HEAD_LABEL) // 4 - 7)


def render_head_bars(st: "StepperTrace", t: int, width: int, head: int = 0) -> Text:
    """Per head at step t: read strength |S q|, write strength β, forget 1-α, and how much was erased (‖erased‖)."""
    v = st.view(t)
    head = head % max(1, st.heads)
    bw = head_bar_columns(width)
    erased = np.sqrt((v.erased**2).sum(axis=(1, 2)))  # (H,) Frobenius norms
    top_read = max(float(st.read_strength.max()), 1e-9)
    top_forget = max(float((1.0 - st.alpha).max()), 1e-9)
    top_erased = max(float(np.sqrt((st.erased**2).sum(axis=(2, 3))).max()), 1e-9)
    specs = (
        ("read |Sq|", v.read_strength, top_read, "{:.2f}", READ_COLOUR),
        ("write β", v.beta, 1.0, "{:.2f}", WRITE_COLOUR),
        ("forget 1-α", 1.0 - v.alpha, top_forget, "{:.3f}", FORGET_COLOUR),
        ("erased", erased, top_erased, "{:.2f}", ERASE_COLOUR),
    )
    # Each quantity's cell fits its name and its bar and number: "▊   0.27 ".
    cells = [max(len(name) + 1, bw + 1 + len(fmt.format(0.0)) + 1) for name, _v, _top, fmt, _c in specs]
    header = Text(" " * HEAD_LABEL, no_wrap=True, end="")
    for (name, _values, _top, _fmt, colour), cell in zip(specs, cells):
        header.append(name.ljust(cell), fg(colour, bold=True))
    header.truncate(width)
    lines = [header]
    for h in range(st.heads):
        line = Text(no_wrap=True, end="")
        line.append(f"{'▶' if h == head else ' '}h{h:<2}", BOLD if h == head else DIM)
        for (_name, values, top, fmt, colour), cell in zip(specs, cells):
            x = float(values[h])
            number = fmt.format(x)
            if bw:
                line.append(bar(x, bw, top), fg(colour))
                line.append(" ")
            line.append(number, BOLD if x >= 0.5 * top else Style(dim=x < 0.05 * top))
            line.append(" " * (cell - (bw + 1 if bw else 0) - len(number)))
        line.truncate(width)
        lines.append(line)
    scale = head_scale(st, head)  # the matrices' colours, so blue and red can be read as numbers
    steps = np.linspace(-1.0, 1.0, 11)
    lines.append(Text(""))
    legend = _line([(f"matrix colours (head {head}): -{scale:.2g} ", DIM)]
                   + [("█", fg(DIVERGING[i])) for i in value_colours(steps).tolist()] + [(f" +{scale:.2g}", DIM)])
    legend.truncate(width)
    lines.append(legend)
    return Text("\n").join(lines)


def head_time_rows(st: "StepperTrace", t: int, start: int, stop: int, head: int = 0) -> list[Text]:
    """Head-by-time rows up to t for the timeline: write β, forget 1-α, read |S q| (scaled to its maximum)."""
    shown = min(stop, t + 1)
    top_read = max(float(st.read_strength.max()), 1e-9)
    rows: list[Text] = []
    for symbol, data in (("β", st.beta), ("1-α", 1.0 - st.alpha), ("|Sq|", st.read_strength / top_read)):
        idx = weight_colours(data[start:shown]).T.tolist() if shown > start else [[] for _ in range(st.heads)]  # (H, cols)
        for h in range(st.heads):
            label = f"{symbol if h == 0 else '':<4}{h} "[:TIMELINE_LABEL]
            parts: list[tuple[str, Style | None]] = [(label, BOLD if h == head % max(1, st.heads) else DIM)]
            parts += [("█", fg(VIRIDIS[c])) for c in idx[h]]
            parts.append((" " * (stop - max(shown, start)), None))
            line = _line(parts)
            rows.append(line)
    return rows


class MatrixView(HeadView):
    """One head's state update at the cursor: α·S(t-1) + written − erased = S(t)."""

    DEFAULT_CSS = "MatrixView { height: auto; width: 70; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_matrix(st, t, width, self.head) if st.memory_kind == "matrix" else Text("")

    def build_lines(self, st: "StepperTrace", t: int, width: int) -> list[Text]:
        return matrix_lines(st, t, width, self.head) if st.memory_kind == "matrix" else [Text("")]


class HeadBars(HeadView):
    """Per-head read strength, write strength β, forget 1-α and erased norm at the cursor."""

    DEFAULT_CSS = "HeadBars { height: auto; width: 1fr; padding-left: 1; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_head_bars(st, t, width, self.head) if st.memory_kind == "matrix" else Text("")
