"""The belief view: for each key seen so far, what the model would answer if `QUERY key` came at the cursor.

Every model has one (memory models and Transformers alike): the rows are
``StepperTrace.view(t).beliefs`` laid out as a grid of cells, one per key in
first-seen order, each ``▶k22 v30  0.71 right +``: the key (``▶`` and a purple
ground on the example's own query key), the believed value, its probability,
and right / stale / wrong in colour; at the token where a belief changes the
cell gets the change's glyph (``+`` learned, ``↻`` an overwrite that takes,
``!`` a stale value survives, ``✗`` a fact is lost) and the header line says
what changed. The grid's height depends only on the trace and the width (every
key the example will show has a place), so stepping never relayouts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from rich.style import Style
from rich.text import Text

from .stepper_palette import fg
from .stepper_view import TraceView

if TYPE_CHECKING:  # the UI imports no torch: traces arrive ready-made from a worker
    from forgetnet_core.beliefs import BeliefChange
    from forgetnet_core.stepper import BeliefRow, StepperTrace

# Belief status (BeliefRow.status) colours, as in the belief PNG (forgetnet_core.stepper.BELIEF_COLOURS); `unset`
# (the queried key before any record of it: nothing to be right about yet) is dimmer than `wrong`.
STATUS_COLOURS = {"right": "#5fd75f", "stale": "#ff5f5f", "wrong": "#a8a8a8", "unset": "#6c6c6c"}
# Change kinds (forgetnet_core.beliefs.EVENT_KINDS): a glyph beside the row and a colour for the text.
CHANGE_GLYPHS = {"learned": "+", "overwrite": "↻", "stale": "!", "lost": "✗"}
CHANGE_COLOURS = {"learned": "#5fafff", "overwrite": "#5fd75f", "stale": "#ff5f5f", "lost": "#ffaf5f"}
QUERY_COLOUR = "#d787ff"  # the token strip's query colour
QUERY_GROUND = "#5f005f"  # the token strip's query background
CELL = 22  # "▶k22 v30  0.71 right +": the value has 4 columns (an untrained model may answer "#117")
GAP = 2  # spaces between grid columns
NOT_ASKED = "—"  # no boundary probed yet


def belief_columns(width: int) -> int:
    """How many belief cells fit side by side in `width` columns (at least one)."""
    return max(1, (width + GAP) // (CELL + GAP))


def belief_cell(row: "BeliefRow", names: Sequence[str]) -> str:
    """One key's cell as plain text: marker, key, believed value, probability, status, change glyph (CELL wide)."""
    marker = "▶" if row.queried else " "
    if row.believed < 0:
        body = f"{names[row.key]:<3} {NOT_ASKED:<4} {'':4} {'':5}"
    else:
        body = f"{names[row.key]:<3} {names[row.believed]:<4} {row.probability:.2f} {row.status:<5}"
    glyph = CHANGE_GLYPHS.get(row.change, " ") if row.change else " "
    return f"{marker}{body} {glyph}"[:CELL].ljust(CELL)


def _styled_cell(row: "BeliefRow", names: Sequence[str]) -> Text:
    text = belief_cell(row, names)
    ground = Style(bgcolor=QUERY_GROUND) if row.queried else Style()
    cell = Text(text, style=ground, end="")
    key_end = 1 + len(names[row.key])
    cell.stylize(fg(QUERY_COLOUR, bold=True) if row.queried else Style(bold=True), 0, key_end)
    if row.believed >= 0:
        cell.stylize(fg(STATUS_COLOURS.get(row.status, "#ffffff"), bold=row.status in ("right", "stale")), key_end + 1, CELL - 2)
    else:
        cell.stylize(Style(dim=True), key_end + 1, CELL - 2)
    if row.change:
        cell.stylize(fg(CHANGE_COLOURS.get(row.change, "#ffffff"), bold=True) + Style(reverse=True), CELL - 1, CELL)
    return cell


def belief_header(st: "StepperTrace", t: int, width: int) -> Text:
    """The first line: what changed at t (the change texts, coloured by kind), else what the grid shows."""
    header = Text(no_wrap=True, end="")
    b = st.beliefs
    changes: tuple["BeliefChange", ...] = b.changes_at(t) if b is not None else ()
    if changes:
        ordered = sorted(changes, key=lambda c: c.key != b.query_key)  # the queried key first
        for i, change in enumerate(ordered):
            colour = CHANGE_COLOURS.get(change.kind, "#ffffff")
            piece = Text(("  " if i else "") + f"{CHANGE_GLYPHS.get(change.kind, '?')} ", style=fg(colour, bold=True), end="")
            piece.append(change.text, fg(colour))
            if i and header.cell_len + piece.cell_len > width:  # a change that does not fit is counted, not cut
                header.append(f"  +{len(ordered) - i} more", style="dim")
                break
            header.append_text(piece)
    elif b is None:
        header.append("beliefs: none computed for this trace", style="dim")
    else:
        header.append("beliefs", style="bold")
        header.append(" · its answer if asked now", style="dim")
        row = b.at(t)
        probed = [p for p in range(row + 1) if b.probed[p]]
        if t >= b.positions:
            header.append(f" (at t={b.positions - 1}: the query)", style="dim")
        elif probed and probed[-1] != t:
            header.append(f" (from t={probed[-1]})", style="dim")
        elif not probed:
            header.append(" (none yet)", style="dim")
    header.truncate(width, overflow="ellipsis")
    return header


def belief_lines(st: "StepperTrace", t: int, width: int) -> list[Text]:
    """The header, then the cells of ``st.view(t).beliefs`` row by row, as many per line as fit in `width`.

    The number of lines is fixed for a trace and width: one place for every
    key the example's beliefs hold (``st.beliefs.keys``), blank until known.
    """
    rows = st.view(t).beliefs
    cols = belief_columns(width)
    places = len(st.beliefs.keys) if st.beliefs is not None else len(rows)
    lines = [belief_header(st, t, width)]
    names = st.vocab_names
    for start in range(0, max(places, 1), cols):
        line = Text(no_wrap=True, end="")
        for j, row in enumerate(rows[start : start + cols]):
            if j:
                line.append(" " * GAP)
            line.append_text(_styled_cell(row, names))
        lines.append(line)
    return lines


def render_beliefs(st: "StepperTrace", t: int, width: int) -> Text:
    """The belief view at cursor t as one Text (see belief_lines)."""
    return Text("\n").join(belief_lines(st, t, width))


def parse_belief_cells(plain: str) -> list[str]:
    """The cells of a rendered belief view's plain text (header skipped), in order: for tests and tools."""
    cells = []
    for line in plain.splitlines()[1:]:
        for k in range(0, len(line), CELL + GAP):
            cell = line[k : k + CELL]
            if cell.strip():
                cells.append(cell.ljust(CELL))
    return cells


class BeliefView(TraceView):
    """What the model would answer about each key seen so far, at the cursor."""

    DEFAULT_CSS = "BeliefView { height: auto; width: 1fr; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_beliefs(st, t, width)

    def build_lines(self, st: "StepperTrace", t: int, width: int) -> list[Text]:
        return belief_lines(st, t, width)
