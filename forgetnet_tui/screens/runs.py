"""Runs screen: the config form that launches runs, and the live table of every run and sweep in the runs directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Label, Static
from textual.worker import get_current_worker

from forgetnet_core.config import TrainConfig
from forgetnet_core.listing import RunLister

from ..messages import LaunchRequested, RunsScanned
from ..widgets.config_form import ConfigForm
from ..widgets.header import LabHeader
from ..widgets.keybar import KeyBar
from ..widgets.runs_table import RunsTable, sweep_counts

if TYPE_CHECKING:
    from ..app import ForgetNetLab


def first_steps(runs_dir: Path) -> Text:
    """What to do in an empty runs directory: the form and l, or the same from a shell."""
    text = Text()
    text.append("No runs yet. ", style="bold")
    text.append("Fill in the form and press l to launch one, or from a shell: ")
    command = "forgetnet train --recipe recall" + ("" if str(runs_dir) == "runs" else f" --output-dir {runs_dir}")
    text.append(command, style="bold")
    text.append(". Meanwhile 3 and 4 show the bundled checkpoints.")
    return text


class RunsScreen(Screen):
    """Configure and launch runs; watch, stop, resume and delete them; expand a sweep into its runs."""

    TITLE = "forgetnet-lab · Runs"
    CSS_PATH = "runs.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("enter", "open_run", "Open", tooltip="Open the run on the Train screen (marked runs overlaid); on a sweep, expand or collapse it"),
        Binding("l", "launch", "Launch", tooltip="Launch the form's config as its own process (output in <run>/output.log)"),
        Binding("x", "stop_run", "Stop", tooltip="Stop the run gracefully: it checkpoints, then ends `stopped`"),
        Binding("r", "resume_run", "Resume", tooltip="Resume a stopped or stale run from its checkpoint"),
        Binding("space", "mark", "Mark", tooltip="Mark or unmark a run to overlay on the Train screen"),
        Binding("d", "delete_run", "Delete", tooltip="Delete a run that is not running (asks y / n)"),
        Binding("e", "toggle_sweep", "Expand/collapse sweep", show=False, tooltip="Expand or collapse the sweep of the highlighted row"),
        Binding("c", "copy_config", "Copy config", show=False, tooltip="Copy the run's config (or a sweep's base config) into the form"),
        Binding("n", "focus_form", "Edit form", show=False, tooltip="Jump to the form"),
        Binding("escape", "focus_table", "Table", tooltip="Back to the runs table"),
    ]

    # (title, help, action) offered in the command palette while this screen is shown
    PALETTE_ACTIONS = (
        ("Run: launch from the form", "Start a run with the form's settings (l)", "launch"),
        ("Run: open on the Train screen", "Watch the highlighted run, with marked runs overlaid (enter)", "open_run"),
        ("Run: stop", "Stop the highlighted run: checkpoint, then `stopped` (x)", "stop_run"),
        ("Run: resume", "Continue the highlighted stopped run from its checkpoint (r)", "resume_run"),
        ("Run: delete", "Delete the highlighted run after confirmation (d)", "delete_run"),
        ("Run: mark to overlay", "Mark or unmark the highlighted run (space)", "mark"),
        ("Run: copy config to the form", "Fill the form from the highlighted run, or a sweep's base config (c)", "copy_config"),
        ("Sweep: expand or collapse", "Show the highlighted sweep's runs, or fold them back into one row (e, or enter on the sweep)", "toggle_sweep"),
    )

    def __init__(self, runs_dir: Path, poll_interval: float = 1.0) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.poll_interval = poll_interval
        self.lister = RunLister(self.runs_dir)
        self._scan_timer: Timer | None = None
        self._title: Text | None = None
        self.scans = 0

    @property
    def lab(self) -> "ForgetNetLab":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield LabHeader("runs")
        with Vertical(id="table-pane"):
            yield Label(f"Runs in {self.runs_dir}", classes="pane-title", id="runs-title")
            yield RunsTable(id="runs-table")
            yield Static(first_steps(self.runs_dir), id="runs-empty")
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
        listing = self.lister.scan()
        if not get_current_worker().is_cancelled:
            self.post_message(RunsScanned(listing))

    def on_runs_scanned(self, message: RunsScanned) -> None:
        self.scans += 1
        table = self.query_one(RunsTable)
        before = (table.current_key, table.current_run.state if table.current_run else None)
        table.show_listing(message.listing)
        self.query_one("#runs-empty").display = message.listing.empty
        if (table.current_key, table.current_run.state if table.current_run else None) != before:
            self.refresh_bindings()
        self._update_title()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self.refresh_bindings()
        self._update_title()

    def _update_title(self) -> None:
        """The pane title says where the cursor is: the runs directory, or a sweep with its progress.

        The group row's counts sit in columns an 80-column terminal cuts off, so
        the title repeats them (and names the highlighted run) inside a sweep.
        """
        table = self.table
        sweep = table.current_sweep
        if sweep is None:
            title = Text(f"Runs in {self.runs_dir}")
        else:
            title = Text("Sweep ") + Text(sweep.name, style="bold")
            run = table.current_run
            if run is not None:
                title += Text(f" › {run.name}")
            title += Text(f" · {sweep.done}/{sweep.total} done · {sweep_counts(sweep)}", style="not bold")
            pending = sweep.counts.get("pending", 0)
            if pending and run is None:
                title += Text(f" · {pending} pending", style="not bold")
        title.no_wrap, title.overflow = True, "ellipsis"
        if title != self._title:
            self._title = title
            self.query_one("#runs-title", Label).update(title)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_run()  # a click on a sweep's row expands or collapses it

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out run actions that do not apply to the highlighted row (a run, or a sweep's row)."""
        if action == "focus_table":  # esc: only from the form
            tables = self.query(RunsTable)
            return not (tables and tables.first().has_focus)
        if action not in ("open_run", "mark", "stop_run", "resume_run", "delete_run", "copy_config", "toggle_sweep"):
            return True
        try:
            table = self.table
            run = table.current_run
        except Exception:  # noqa: BLE001 - before compose
            return None
        if action == "toggle_sweep":
            return True if table.current_sweep is not None else None
        if table.on_sweep_row:
            # A sweep's row opens (expands) and copies its base config; run actions wait for one of its runs.
            return True if action in ("open_run", "copy_config") else None
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
        if self.table.on_sweep_row:
            self.action_toggle_sweep()
            return
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

    def action_toggle_sweep(self) -> None:
        """Expand the highlighted sweep into its runs, or collapse it (from its row or any of its runs)."""
        if self.table.toggle_sweep() is None:
            self.notify("Not a sweep: e expands or collapses a sweep's row (made by `forgetnet sweep`)", timeout=2)
        self.refresh_bindings()

    def action_launch(self) -> None:
        self.query_one(ConfigForm).request_launch()

    def action_copy_config(self) -> None:
        table = self.table
        sweep = table.current_sweep if table.on_sweep_row else None
        run = table.current_run
        config, name = (sweep.base_config, f"sweep {sweep.name}'s base config") if sweep else ((run.config, run.name) if run else ({}, ""))
        if not config:
            return
        self.query_one(ConfigForm).load(TrainConfig.from_dict(config))
        self.notify(f"Form filled from {name}", timeout=2)

    def action_focus_form(self) -> None:
        self.query_one("#field-model").focus()

    def action_focus_table(self) -> None:
        self.table.focus()

    @on(LaunchRequested)
    def _launch(self, message: LaunchRequested) -> None:
        self.lab.launch_run(message.config)
