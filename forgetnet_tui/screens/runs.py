"""Runs screen: the config form that launches runs, and the live table of every run in the runs directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Label
from textual.worker import get_current_worker

from forgetnet_core.config import TrainConfig
from forgetnet_core.runs import RunInfo

from ..run_listing import RunLister
from ..widgets.config_form import ConfigForm
from ..widgets.header import LabHeader
from ..widgets.keybar import KeyBar
from ..widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from ..app import ForgetNetLab


class RunsScreen(Screen):
    """Configure and launch runs; watch, stop, resume and delete them."""

    TITLE = "forgetnet-lab · Runs"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("enter", "open_run", "Open"),
        Binding("space", "mark", "Mark"),
        Binding("x", "stop_run", "Stop"),
        Binding("r", "resume_run", "Resume"),
        Binding("d", "delete_run", "Delete"),
        Binding("l", "launch", "Launch"),
        Binding("c", "copy_config", "Copy config", show=False),
        Binding("n", "focus_form", "Edit form", show=False),
        Binding("escape", "focus_table", "Back to table", show=False),
    ]

    # (title, help, action) offered in the command palette while this screen is shown
    PALETTE_ACTIONS = (
        ("Run: launch from the form", "Start a run with the form's settings (l)", "launch"),
        ("Run: open on the Train screen", "Watch the highlighted run, with marked runs overlaid (enter)", "open_run"),
        ("Run: stop", "Stop the highlighted run: checkpoint, then `stopped` (x)", "stop_run"),
        ("Run: resume", "Continue the highlighted stopped run from its checkpoint (r)", "resume_run"),
        ("Run: delete", "Delete the highlighted run after confirmation (d)", "delete_run"),
        ("Run: mark to overlay", "Mark or unmark the highlighted run (space)", "mark"),
        ("Run: copy config to the form", "Fill the form from the highlighted run (c)", "copy_config"),
    )

    class RunsScanned(Message):
        """A fresh listing of the runs directory, made in a worker thread."""

        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    def __init__(self, runs_dir: Path, poll_interval: float = 1.0) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.poll_interval = poll_interval
        self.lister = RunLister(self.runs_dir)
        self._scan_timer: Timer | None = None
        self.scans = 0

    @property
    def lab(self) -> "ForgetNetLab":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield LabHeader("runs")
        with Vertical(id="table-pane"):
            yield Label(f"Runs in {self.runs_dir}", classes="pane-title", id="runs-title")
            yield RunsTable(id="runs-table")
            yield Label("No runs yet: fill in the form and press Launch (or l).", id="runs-empty")
        with Vertical(id="form-pane"):
            yield Label("New run", classes="pane-title")
            yield ConfigForm(id="config-form")
        yield KeyBar()

    def on_mount(self) -> None:
        self._scan_timer = self.set_interval(self.poll_interval, self.scan, name="runs-scan")
        self.query_one(RunsTable).focus()
        self.scan()

    def on_screen_suspend(self) -> None:
        if self._scan_timer:
            self._scan_timer.pause()

    def on_screen_resume(self) -> None:
        if self._scan_timer:
            self._scan_timer.resume()
            self.scan()

    # ------------------------------------------------------------------ the listing

    def scan(self) -> None:
        """List the runs directory off the UI thread; the table updates when the listing arrives."""
        self._scan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-scan")
    def _scan(self) -> None:
        runs = self.lister.list()
        if not get_current_worker().is_cancelled:
            self.post_message(self.RunsScanned(runs))

    def on_runs_screen_runs_scanned(self, message: RunsScanned) -> None:
        self.scans += 1
        table = self.query_one(RunsTable)
        before = (table.current_key, table.current_run.state if table.current_run else None)
        table.show_runs(message.runs)
        self.query_one("#runs-empty", Label).display = not message.runs
        if (table.current_key, table.current_run.state if table.current_run else None) != before:
            self.refresh_bindings()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out run actions that do not apply to the highlighted run."""
        if action not in ("open_run", "mark", "stop_run", "resume_run", "delete_run", "copy_config"):
            return True
        try:
            run = self.table.current_run
        except Exception:  # noqa: BLE001 - before compose
            return None
        if run is None:
            return False  # no runs: keep the footer for the keys that work
        if action == "stop_run":
            return True if run.state == "running" else None
        if action == "resume_run":
            return True if run.state in ("stopped", "stale") else None
        if action == "delete_run":
            return True if run.state != "running" else None
        return True

    # ------------------------------------------------------------------ actions

    def action_open_run(self) -> None:
        run = self.table.current_run
        if run is None:
            return
        overlays = [p for p in self.table.marked_paths if p != run.path]
        self.lab.open_runs(run.path, overlays)

    def action_mark(self) -> None:
        self.table.toggle_mark()
        count = len(self.table.marked)
        self.notify(f"{count} run{'s' if count != 1 else ''} marked to overlay (Enter opens them)", timeout=2)

    def action_stop_run(self) -> None:
        run = self.table.current_run
        if run is not None:
            self.lab.stop_run(run.path)

    def action_resume_run(self) -> None:
        run = self.table.current_run
        if run is not None:
            self.lab.resume_run(run.path)

    def action_delete_run(self) -> None:
        run = self.table.current_run
        if run is not None:
            self.lab.delete_run(run.path, run.state)

    def action_launch(self) -> None:
        self.query_one(ConfigForm).request_launch()

    def action_copy_config(self) -> None:
        run = self.table.current_run
        if run is None or not run.config:
            return
        self.query_one(ConfigForm).load(TrainConfig.from_dict(run.config))
        self.notify(f"Form filled from {run.name}", timeout=2)

    def action_focus_form(self) -> None:
        self.query_one("#field-model").focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    @on(ConfigForm.LaunchRequested)
    def _launch(self, message: ConfigForm.LaunchRequested) -> None:
        self.lab.launch_run(message.config)
