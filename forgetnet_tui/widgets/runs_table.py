"""The runs table: one row per run directory, updated in place so the cursor stays put while runs train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from forgetnet_core.runs import RunInfo

from ..series import format_age, format_number

STATE_STYLES = {
    "running": "bold green",
    "finished": "cyan",
    "stopped": "yellow",
    "failed": "bold red",
    "stale": "magenta",
}

# (key, label). Most telling first, so an 80-column terminal shows what matters; name last (it repeats model and task).
COLUMNS = (
    ("mark", " "),
    ("state", "state"),
    ("step", "step/total"),
    ("loss", "loss"),
    ("best", "best acc"),
    ("age", "age"),
    ("model", "model"),
    ("task", "task"),
    ("name", "name"),
)


def row_cells(info: RunInfo, marked: bool) -> dict[str, Any]:
    total = f"{info.step}/{info.total_steps}" if info.total_steps else str(info.step)
    return {
        "mark": Text("●", style="bold") if marked else "",
        "state": Text(info.state, style=STATE_STYLES.get(info.state, "")),
        "step": Text(total, justify="right"),
        "loss": Text(format_number(info.last_loss), justify="right"),
        "best": Text(format_number(info.best_eval_accuracy, 2), justify="right"),
        "age": Text(format_age(info.age), justify="right"),
        "model": info.model,
        "task": info.task,
        "name": info.name,
    }


class RunsTable(DataTable):
    """Runs, newest first. Space marks runs to overlay; the app reads `current_run` and `marked_paths`."""

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    """
    BINDINGS = [Binding("enter", "select_cursor", "Open run")]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.infos: dict[str, RunInfo] = {}
        self.marked: set[str] = set()
        self._order: list[str] = []
        self._shown: dict[str, dict[str, Any]] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show_runs(self, infos: list[RunInfo]) -> None:
        """Make the table match `infos`: update changed cells in place, rebuild only when the set of runs changed."""
        new_order = [str(info.path) for info in infos]
        self.infos = {str(info.path): info for info in infos}
        self.marked &= set(new_order)
        if new_order == self._order:
            for key in new_order:
                cells = row_cells(self.infos[key], key in self.marked)
                shown = self._shown.get(key, {})
                for column, value in cells.items():
                    if str(shown.get(column)) != str(value):
                        self.update_cell(key, column, value)
                self._shown[key] = cells
            return
        current = self.current_key
        self.clear()
        self._shown = {}
        for key in new_order:
            cells = row_cells(self.infos[key], key in self.marked)
            self.add_row(*[cells[c] for c, _ in COLUMNS], key=key)
            self._shown[key] = cells
        self._order = new_order
        if current in self.infos:
            self.move_cursor(row=self.get_row_index(current), animate=False)

    @property
    def current_key(self) -> str | None:
        if not self._order or not 0 <= self.cursor_row < len(self._order):
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def current_run(self) -> RunInfo | None:
        key = self.current_key
        return self.infos.get(key) if key else None

    @property
    def marked_paths(self) -> list[Path]:
        return [self.infos[k].path for k in self._order if k in self.marked]

    def toggle_mark(self) -> None:
        key = self.current_key
        if key is None:
            return
        self.marked ^= {key}
        self.update_cell(key, "mark", Text("●", style="bold") if key in self.marked else "")
        self._shown[key]["mark"] = self.get_cell(key, "mark")

    def select_path(self, path: Path) -> None:
        key = str(path)
        if key in self.infos:
            self.move_cursor(row=self.get_row_index(key), animate=False)
