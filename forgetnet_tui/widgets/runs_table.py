"""The runs table: one row per run, one collapsible row per sweep, updated in place so the cursor stays put while runs train."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.binding import Binding

from forgetnet_core.listing import Listing, RunInfo, SweepInfo

from ..formatting import format_accuracy, format_age, format_number
from .keyed_table import KeyedTable

STATE_STYLES = {
    "running": "bold green",
    "finished": "cyan",
    "evaluated": "bold cyan",
    "stopped": "yellow",
    "failed": "bold red",
    "stale": "magenta",
    "pending": "dim",
}
SWEEP_KEY = "sweep:"  # row key of a sweep's group row: SWEEP_KEY + the folder's path

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
    ("where", "where"),  # device, and host when another machine trains it (sweeps through Ray)
    ("name", "name"),
)


def row_cells(info: RunInfo, marked: bool, branch: str = "") -> dict[str, Any]:
    """A run's cells; `branch` ("├ " or "└ ") draws it as a member under its sweep's row."""
    total = f"{info.step}/{info.total_steps}" if info.total_steps else str(info.step)
    state = Text(branch, style="dim") + Text(info.state, style=STATE_STYLES.get(info.state, ""))
    return {
        "mark": Text("●", style="bold") if marked else "",
        "state": state,
        "step": Text(total, justify="right"),
        "loss": Text(format_number(info.last_loss), justify="right"),
        "best": Text(format_accuracy(info.best_eval_accuracy), justify="right"),
        "age": Text(format_age(info.age), justify="right"),
        "model": info.model,
        "task": info.task,
        "where": Text(info.where, style="dim"),
        "name": info.name,
    }


def sweep_counts(sweep: SweepInfo) -> str:
    """'2 running · 0 failed', then any stopped or stale cells (they need a resume)."""
    parts = [f"{sweep.counts.get('running', 0)} running", f"{sweep.counts.get('failed', 0)} failed"]
    parts += [f"{sweep.counts[s]} {s}" for s in ("stopped", "stale") if sweep.counts.get(s)]
    return " · ".join(parts)


def sweep_cells(sweep: SweepInfo, expanded: bool) -> dict[str, Any]:
    """The group row: ▸ sweep, cells done/total, best held-out accuracy of any run, its name, counts by state."""
    running, failed = sweep.counts.get("running", 0), sweep.counts.get("failed", 0)
    style = "bold green" if running else ("bold red" if failed else ("bold cyan" if sweep.done == sweep.total else "bold"))
    grid = " × ".join(f"{len(v)} {what}" for v, what in ((sweep.models, "models"), (sweep.tasks, "tasks"), (sweep.seeds, "seeds")) if v)
    rest = [f"{sweep.counts[s]} {s}" for s in ("evaluated", "finished", "pending") if sweep.counts.get(s)]
    return {
        "mark": "",
        "state": Text(f"{'▾' if expanded else '▸'} sweep", style=style),
        "step": Text(f"{sweep.done}/{sweep.total}", justify="right", style="bold"),
        "loss": "",
        "best": Text(format_accuracy(sweep.best_eval_accuracy), justify="right"),
        "age": Text(format_age(sweep.age), justify="right"),
        "model": Text(sweep.name, style="bold"),
        "task": sweep_counts(sweep),
        "where": "",
        "name": " · ".join([f"{sweep.total} runs" + (f": {grid}" if grid else ""), *rest]),
    }


def _same(a: Any, b: Any) -> bool:
    return str(a) == str(b) and getattr(a, "style", None) == getattr(b, "style", None) and getattr(a, "spans", None) == getattr(b, "spans", None)


class RunsTable(KeyedTable):
    """Runs and sweeps, newest first; a sweep is one row until expanded. Space marks runs to overlay.

    The screen reads `current_run` (None on a sweep's row), `current_sweep`
    (the sweep of the row: its group row or one of its runs) and `marked_paths`.
    """

    DEFAULT_CSS = """
    RunsTable { height: 1fr; }
    """
    # Enter opens a run, or expands/collapses a sweep; the key bar shows the one that applies (check_action).
    BINDINGS = [
        Binding("enter", "select_cursor", "Open run", tooltip="Open the run on the Train screen (marked runs overlaid)"),
        Binding("enter", "expand_sweep", "Expand sweep", tooltip="Expand a sweep's row into its runs"),
        Binding("enter", "collapse_sweep", "Collapse sweep", tooltip="Collapse a sweep back into one row"),
    ]
    HELP_WHERE = "in the runs table"
    HELP_KEYS = (("↑ / ↓", "choose a run"),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.infos: dict[str, RunInfo] = {}  # every run, shown or inside a collapsed sweep
        self.sweeps: dict[str, SweepInfo] = {}  # group row key -> sweep
        self.sweep_of: dict[str, str] = {}  # member run key -> its group row key
        self.expanded: set[str] = set()  # group row keys
        self.marked: set[str] = set()
        self._listing = Listing([], [])
        self._order: list[str] = []
        self._shown: dict[str, dict[str, Any]] = {}

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    # ------------------------------------------------------------------ contents

    def show_listing(self, listing: Listing) -> None:
        """Make the table match `listing`: update changed cells in place, rebuild only when the rows shown changed."""
        self._listing = listing
        self.infos = {str(info.path): info for info in listing.all_runs()}
        self.sweeps = {SWEEP_KEY + str(s.path): s for s in listing.sweeps}
        self.sweep_of = {str(m.path): key for key, s in self.sweeps.items() for m in s.members}
        self.expanded &= set(self.sweeps)
        self.marked &= set(self.infos)
        self._draw()

    def _rows(self) -> list[tuple[str, dict[str, Any]]]:
        rows: list[tuple[str, dict[str, Any]]] = []
        for item in self._listing.items():
            if isinstance(item, SweepInfo):
                key = SWEEP_KEY + str(item.path)
                is_open = key in self.expanded
                rows.append((key, sweep_cells(item, is_open)))
                if is_open:
                    last = len(item.members) - 1
                    for i, member in enumerate(item.members):
                        m_key = str(member.path)
                        rows.append((m_key, row_cells(member, m_key in self.marked, "└ " if i == last else "├ ")))
            else:
                key = str(item.path)
                rows.append((key, row_cells(item, key in self.marked)))
        return rows

    def _draw(self) -> None:
        rows = self._rows()
        new_order = [key for key, _cells in rows]
        if new_order == self._order:
            for key, cells in rows:
                shown = self._shown.get(key, {})
                for column, value in cells.items():
                    before = shown.get(column)
                    if not _same(before, value):
                        # A longer value (running -> finished) widens its column rather than being cut.
                        self.update_cell(key, column, value, update_width=len(str(value)) > len(str(before or "")))
                self._shown[key] = cells
            return
        current = self.current_key
        scroll_y = self.scroll_y
        self.clear()
        self._shown = {}
        for key, cells in rows:
            self.add_row(*[cells[c] for c, _ in COLUMNS], key=key)
            self._shown[key] = cells
        self._order = new_order
        if current is not None and current not in self._shown:
            current = self.sweep_of.get(current)  # its sweep was collapsed: stay on the sweep
        if current in self._shown:
            self.scroll_to(y=scroll_y, animate=False, immediate=True)
            self.move_cursor(row=self.get_row_index(current), animate=False)

    # ------------------------------------------------------------------ what the cursor is on

    @property
    def current_run(self) -> RunInfo | None:
        """The highlighted run (a sweep's member included); None on a sweep's row."""
        key = self.current_key
        return self.infos.get(key) if key else None

    @property
    def current_sweep(self) -> SweepInfo | None:
        """The sweep of the highlighted row: its group row, or one of its runs while expanded."""
        key = self.current_key
        if key is None:
            return None
        return self.sweeps.get(key) or self.sweeps.get(self.sweep_of.get(key, ""))

    @property
    def on_sweep_row(self) -> bool:
        return (self.current_key or "") in self.sweeps

    @property
    def marked_paths(self) -> list[Path]:
        return [info.path for key, info in self.infos.items() if key in self.marked]

    # ------------------------------------------------------------------ marks, sweeps, cursor

    def toggle_mark(self) -> None:
        key = self.current_key
        if key is None or key not in self.infos:
            return
        self.marked ^= {key}
        self.update_cell(key, "mark", Text("●", style="bold") if key in self.marked else "")
        self._shown[key]["mark"] = self.get_cell(key, "mark")

    def toggle_sweep(self) -> bool | None:
        """Expand the highlighted sweep, or collapse it (from its row or any of its runs). Its new state, None if no sweep."""
        key = self.current_key
        group = key if key in self.sweeps else self.sweep_of.get(key or "")
        if group is None:
            return None
        self.expanded ^= {group}
        if key != group:
            self.move_cursor(row=self.get_row_index(group), animate=False)  # collapsing from a member: land on the sweep
        self._draw()
        self.refresh_bindings()
        return group in self.expanded

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        key = self.current_key
        if action == "select_cursor":
            return key not in self.sweeps
        if action == "expand_sweep":
            return key in self.sweeps and key not in self.expanded
        if action == "collapse_sweep":
            return key in self.sweeps and key in self.expanded
        return True

    def action_expand_sweep(self) -> None:
        self.toggle_sweep()

    def action_collapse_sweep(self) -> None:
        self.toggle_sweep()

    def select_path(self, path: Path) -> None:
        """Put the cursor on a run (expanding its sweep if it is inside a collapsed one) or on a sweep's row."""
        key = str(path)
        if SWEEP_KEY + key in self.sweeps:
            key = SWEEP_KEY + key
        elif key in self.sweep_of and self.sweep_of[key] not in self.expanded:
            self.expanded.add(self.sweep_of[key])
            self._draw()
        if key in self._shown:
            self.move_cursor(row=self.get_row_index(key), animate=False)
            self.refresh_bindings()
