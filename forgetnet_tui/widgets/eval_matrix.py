"""The evaluation matrix table: a heatmap cell per task (accuracy and 95% interval), a progress bar per row."""

from __future__ import annotations

import textwrap
from typing import Any, Sequence

from rich.text import Text

from forgetnet_core.matrix import MatrixRow
from forgetnet_core.results import RowResult

from ..formatting import format_accuracy, format_interval
from .keyed_table import KeyedTable

# Short headers so five task columns fit beside the label at 120 columns.
TASK_HEADERS = {
    "associative_lookup": "assoc_lookup",
    "changing_facts": "changing_facts",
    "needle_recall": "needle_recall",
    "multi_hop": "multi_hop",
    "length_extrapolation": "length_extrap",
}
EXTRA_HEADERS = {"stale": "stale", "params": "params", "time": "eval s"}
LABEL_WIDTH = (16, 40)  # the label column fits the longest label within these bounds
STATUS_WIDTH = 13
TASK_WIDTH = 16  # '100.0% [100,100]'

BAR_WIDTH = 6

# Viridis at 0, 0.1, ..., 1 (the exported heatmap's colour map), so the screen and the figure agree.
_VIRIDIS = (
    (0x44, 0x01, 0x54), (0x48, 0x24, 0x75), (0x41, 0x44, 0x87), (0x35, 0x5F, 0x8D), (0x2A, 0x78, 0x8E),
    (0x21, 0x91, 0x8C), (0x22, 0xA8, 0x84), (0x44, 0xBF, 0x70), (0x7A, 0xD1, 0x51), (0xBD, 0xDF, 0x26),
    (0xFD, 0xE7, 0x25),
)


def heat_colour(value: float) -> str:
    """'#rrggbb' for an accuracy in [0, 1] on the viridis ramp."""
    x = min(1.0, max(0.0, float(value))) * (len(_VIRIDIS) - 1)
    i = min(int(x), len(_VIRIDIS) - 2)
    f = x - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(_VIRIDIS[i], _VIRIDIS[i + 1]))
    return f"#{r:02x}{g:02x}{b:02x}"


def accuracy_cell(task_result: dict[str, Any] | None) -> Text:
    """'61.3% [53,69]' (the 95% interval in points) on its heatmap colour; '-' when there is no value."""
    if not task_result or task_result.get("accuracy") is None:
        return Text("-", style="dim", justify="center")
    acc = float(task_result["accuracy"])
    text = format_accuracy(acc)
    interval = format_interval(task_result.get("ci_low"), task_result.get("ci_high"))
    if interval:
        text += f" {interval}"
    fg = "black" if acc >= 0.6 else "white"
    return Text(text, style=f"{fg} on {heat_colour(acc)}", justify="center")


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> Text:
    fraction = 0.0 if total <= 0 else min(1.0, done / total)
    filled = int(round(fraction * width))
    text = Text()
    text.append("━" * filled, style="green")
    text.append("━" * (width - filled), style="grey39")
    text.append(f" {fraction:4.0%}")
    return text


def status_cell(state: str, result: RowResult | None, progress: tuple[int, int] | None = None, detail: str = "") -> Text:
    """The status column: a progress bar while evaluating, else what the row holds."""
    if state == "running" and progress is not None:
        return progress_bar(*progress)
    if state == "running":
        return Text("loading…", style="yellow")
    if state == "queued":
        return Text("queued", style="dim")
    if result is not None and result.error:
        return Text("✗ error", style="bold red")
    if result is not None and result.ok:
        if detail:
            return Text(f"✓ {detail}", style="green")
        return Text("✓ cached", style="dim green") if result.cached else Text("✓ evaluated", style="green")
    if state == "cancelled":
        return Text("cancelled", style="yellow")
    if detail:
        return Text(detail, style="dim")
    return Text("not evaluated", style="dim")


def row_cells(row: MatrixRow, tasks: Sequence[str], status: Text) -> dict[str, Any]:
    result = row.result
    ok = result is not None and result.ok
    if row.kind == "group":
        label = Text(("▾ " if row.expanded else "▸ ") + row.label, style="bold")
    elif row.kind == "member":
        label = Text("  └ " + row.label, style="dim")
    else:
        label = Text(row.label)
    cells: dict[str, Any] = {"label": label, "status": status}
    for task in tasks:
        cells[task] = accuracy_cell(result.tasks.get(task) if ok else None)  # type: ignore[union-attr]
    if result is not None and result.error:
        # The error reads across the task columns (cut into column-wide pieces), so the row says what went wrong.
        pieces = _spread(result.error, len(tasks), TASK_WIDTH)
        for task, piece in zip(tasks, pieces):
            cells[task] = Text(piece, style="red")
    stale = result.stale_rate() if ok else None  # type: ignore[union-attr]
    cells["stale"] = Text(format_accuracy(stale), justify="right")  # a rate, written like the accuracies
    params = result.parameter_count if ok else None  # type: ignore[union-attr]
    cells["params"] = Text("-" if params is None else f"{params:,}", justify="right")
    wall = result.wall_time_seconds if ok else None  # type: ignore[union-attr]
    cells["time"] = Text("-" if wall is None else f"{wall:.1f}", justify="right")
    return cells


def _spread(message: str, columns: int, width: int) -> list[str]:
    """Wrap `message` at `width` and put one line in each of `columns` cells (the last ends in … if cut short)."""
    if columns <= 0:
        return []
    lines = textwrap.wrap(message, width, break_on_hyphens=False) or [""]
    if len(lines) > columns:
        lines = lines[:columns]
        lines[-1] = lines[-1][: width - 1] + "…"
    return lines + [""] * (columns - len(lines))


class EvalMatrix(KeyedTable):
    """Rows of the matrix; the screen owns the data and calls `show` / `set_status`. Row keys are MatrixRow keys."""

    DEFAULT_CSS = """
    EvalMatrix { height: 1fr; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self.fixed_columns = 2  # label and status stay put while the task columns scroll
        self.rows_by_key: dict[str, MatrixRow] = {}
        self._order: list[str] = []
        self._columns: tuple[str, ...] = ()
        self._header_state: tuple[Any, ...] = ()
        self._shown: dict[str, dict[str, str]] = {}

    def _set_columns(self, tasks: Sequence[str], sort_by: str | None, descending: bool, label_width: int) -> None:
        self.clear(columns=True)
        self._order = []
        self._shown = {}
        arrow = " ▼" if descending else " ▲"

        def header(key: str, text: str) -> Text:
            return Text(text + (arrow if key == sort_by else ""), style="bold" if key == sort_by else "")

        self.add_column(header("label", "model"), key="label", width=label_width)
        self.add_column(Text("status"), key="status", width=STATUS_WIDTH)
        for task in tasks:
            self.add_column(header(task, TASK_HEADERS.get(task, task)), key=task, width=TASK_WIDTH)
        for key, text in EXTRA_HEADERS.items():
            self.add_column(header(key, text), key=key)
        self._columns = ("label", "status", *tasks, *EXTRA_HEADERS)

    def show(
        self,
        rows: Sequence[MatrixRow],
        tasks: Sequence[str],
        statuses: dict[str, Text],
        sort_by: str | None = None,
        descending: bool = True,
    ) -> None:
        """Make the table match `rows`: cells update in place unless the rows or columns changed."""
        longest = max((len(row.label) + (4 if row.kind == "member" else 2) for row in rows), default=0)
        label_width = min(LABEL_WIDTH[1], max(LABEL_WIDTH[0], longest))
        header_state = (tuple(tasks), sort_by, descending, label_width)
        current = self.current_key
        if header_state != self._header_state:
            self._set_columns(tasks, sort_by, descending, label_width)
            self._header_state = header_state
        order = [row.key for row in rows]
        self.rows_by_key = {row.key: row for row in rows}
        if order == self._order:
            for row in rows:
                cells = row_cells(row, tasks, statuses.get(row.key, Text("")))
                shown = self._shown.get(row.key, {})
                for column, value in cells.items():
                    if shown.get(column) != _sig(value):
                        self.update_cell(row.key, column, value)
                self._shown[row.key] = {c: _sig(v) for c, v in cells.items()}
            return
        self.clear()
        self._shown = {}
        for row in rows:
            cells = row_cells(row, tasks, statuses.get(row.key, Text("")))
            self.add_row(*[cells[c] for c in self._columns], key=row.key)
            self._shown[row.key] = {c: _sig(v) for c, v in cells.items()}
        self._order = order
        if current in self.rows_by_key:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    def set_status(self, key: str, status: Text) -> None:
        """Redraw one row's status cell (the progress bar) without touching the rest."""
        if key in self.rows_by_key and key in self._shown:
            sig = _sig(status)
            if self._shown[key].get("status") != sig:
                self.update_cell(key, "status", status)
                self._shown[key]["status"] = sig

    @property
    def current_row(self) -> MatrixRow | None:
        key = self.current_key
        return self.rows_by_key.get(key) if key else None


def _sig(value: Any) -> str:
    if isinstance(value, Text):
        return f"{value.plain}|{value.style}|{[(s.start, s.end, str(s.style)) for s in value.spans]}"
    return str(value)
