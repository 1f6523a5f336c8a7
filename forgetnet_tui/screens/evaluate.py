"""Evaluate screen: the evaluation matrix of checkpoints and fresh models x tasks, cached, grouped by seed, exported; a sweep in one step.

The screen composes the matrix, the settings form and the dialogs, runs the
blocking work in workers and routes their messages; what it shows lives in
an EvaluateState (forgetnet_tui/evaluate_state.py). With no checkpoint in the
runs directory the rows are the bundled checkpoints, ready for `e`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Label, Static

from forgetnet_core.config import EvalSettings
from forgetnet_core.errors import one_line
from forgetnet_core.listing import checkpoint_rows
from forgetnet_core.matrix import (
    RowSpec,
    export_folder_name,
    export_rows,
    results_root,
    where_files_are,
)
from forgetnet_core.results import RowResult, cached_result
from forgetnet_core.runs import unique_dir
from forgetnet_core.sweep import sweep_specs

from ..dialogs.checkpoint_picker import CheckpointPicker
from ..dialogs.export_dialog import ExportDialog
from ..dialogs.fresh_model_picker import FreshModelPicker
from ..dialogs.sweep_picker import SweepPicker
from ..evaluate_state import EvaluateState, bundled_specs
from ..messages import (
    CachesRead,
    EvaluationEnded,
    MatrixExported,
    RowEvaluated,
    RowProgressed,
    RowsLoaded,
    RowStarted,
    SettingsEdited,
    SweepLoaded,
)
from ..widgets.eval_matrix import EvalMatrix, status_cell
from ..widgets.eval_settings import EvalSettingsForm
from ..widgets.header import LabHeader
from ..widgets.keybar import KeyBar

# evaluate_row's signature: (spec, settings, device, stop, on_progress, use_cache) -> RowResult.
RowEvaluator = Callable[..., RowResult]
SETTINGS_SHOWN_FROM = 190  # terminal columns from which the settings pane is open at first (o toggles it)
PROGRESS_INTERVAL = 0.1  # seconds between progress messages from the worker (throttled at the source)
BUNDLED_FOLDER = "bundled"  # under the results folder: the run directories of the bundled checkpoints' rows


def _default_evaluator(*args: Any, **kwargs: Any) -> RowResult:
    from forgetnet_core.matrix import evaluate_row

    return evaluate_row(*args, **kwargs)


def _cached(specs: list[RowSpec], settings: EvalSettings) -> dict[str, RowResult]:
    """The cached results of checkpoint rows under `settings` (reads files: call from a worker)."""
    found = {}
    for spec in specs:
        hit = cached_result(spec.run_dir, settings) if spec.run_dir is not None else None
        if hit is not None:
            found[spec.key] = hit
    return found


class EvaluateScreen(Screen):
    """Rows: checkpoints picked from the runs directory and fresh models. Columns: tasks. Cells: heatmap of accuracy."""

    TITLE = "forgetnet-lab · Evaluate"
    CSS_PATH = "evaluate.tcss"
    # In the key bar's order; a narrow bar keeps the first ones (then ? Keys) and drops the rest.
    BINDINGS = [
        Binding("e", "evaluate", "Evaluate", tooltip="Evaluate rows with no result for these settings (cached results are reused)"),
        Binding("c", "cancel", "Cancel", tooltip="Cancel the evaluation (nothing partial is cached)"),
        Binding("x", "export", "Export", tooltip="Export figures, tables and a screenshot into a new folder under results/"),
        Binding("a", "pick_checkpoints", "Checkpoints", tooltip="Choose which checkpoints are rows"),
        Binding("w", "load_sweep", "Sweep", tooltip="Load a sweep: its runs grouped by seed, its settings, its cached results"),
        Binding("f", "add_fresh", "Fresh", tooltip="Add a fresh (untrained) model as a row"),
        Binding("o", "toggle_settings", "Settings", tooltip="Show or hide the settings: suite, examples, lengths, eval seed"),
        Binding("d", "difficulty", "Difficulty", tooltip="Accuracy against a task knob (records, keys, ...): where each memory breaks"),
        Binding("s", "sort_next", "Sort", tooltip="Sort by the next column (a header click sorts by that column)"),
        Binding("S", "sort_reverse", "Reverse sort", show=False, tooltip="Reverse the sort"),
        Binding("g", "toggle_grouping", "Group seeds", show=False, tooltip="Group runs that differ only in seed, or show them apart"),
        Binding("r", "reevaluate", "Re-evaluate row", show=False, tooltip="Re-evaluate the highlighted row or group, ignoring the cache"),
        Binding("R", "reevaluate_all", "Re-evaluate all", show=False, tooltip="Re-evaluate every row, ignoring the caches"),
        Binding("delete,backspace", "remove_row", "Remove row", show=False, key_display="del", tooltip="Remove the highlighted row"),
        Binding("space", "toggle_group", "Expand seeds", show=False, tooltip="Expand or collapse a seed group (enter too)"),
        Binding("escape", "focus_matrix", "Matrix", tooltip="Back to the matrix from the settings"),
    ]
    PALETTE_ACTIONS = (
        ("Evaluate: run missing rows", "Evaluate every row without a result for these settings (e)", "evaluate"),
        ("Evaluate: load a sweep", "Its runs as the rows, grouped by seed, with the settings the sweep evaluated them with (w)", "load_sweep"),
        ("Evaluate: re-evaluate all", "Ignore the caches and evaluate every row again (R)", "reevaluate_all"),
        ("Evaluate: export", "Figures, tables and a screenshot into results/ (x)", "export"),
        ("Evaluate: accuracy against a task knob", "Score the rows at several records / keys / ... values and draw where each breaks (d)", "difficulty"),
        ("Evaluate: group seeds on/off", "One row per experiment, or one per run (g)", "toggle_grouping"),
    )

    def __init__(
        self,
        runs_dir: Path,
        results_dir: Path | None = None,
        row_evaluator: RowEvaluator | None = None,
        device: str = "auto",
        settings: EvalSettings | None = None,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.results_dir = results_dir  # None: the app's --results-dir, else results/ beside the runs directory
        self.row_evaluator = row_evaluator or _default_evaluator
        self.device = device
        self.state = EvaluateState(settings)
        self.last_export: list[Path] = []
        self._stop: threading.Event | None = None

    def compose(self) -> ComposeResult:
        yield LabHeader("evaluate")
        with Horizontal(id="eval-body"):
            with Vertical(id="eval-settings-pane"):
                yield Label("Evaluation settings", classes="pane-title")
                yield EvalSettingsForm(self.state.settings, id="eval-settings")
            with Vertical(id="eval-main"):
                yield Label("", id="eval-title")
                yield EvalMatrix(id="eval-matrix")
                yield Label("", id="eval-empty")
                yield Static("", id="eval-detail")
        yield KeyBar()

    def on_mount(self) -> None:
        if self.app.size.width < SETTINGS_SHOWN_FROM:
            self.query_one("#eval-settings-pane").add_class("-hidden")
        self.query_one("#eval-title", Label).update(f"Reading the checkpoints in {self.runs_dir}…")
        self.matrix.focus()
        self._load_rows(self.state.settings, self.export_root() / BUNDLED_FOLDER)

    def on_screen_resume(self) -> None:
        if self.state.loaded and not self.state.evaluating:
            self._read_caches()  # a run may have finished (new checkpoint) while another screen was shown

    def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()

    @property
    def matrix(self) -> EvalMatrix:
        return self.query_one(EvalMatrix)

    # ------------------------------------------------------------------ loading rows and caches (workers)

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-load")
    def _load_rows(self, settings: EvalSettings, bundled_folder: Path) -> None:
        """The runs directory's checkpoints, newest first; with none, the bundled checkpoints (the first run)."""
        specs = checkpoint_rows(self.runs_dir)
        bundled = not specs
        if bundled:
            specs = bundled_specs(bundled_folder)
        self.post_message(RowsLoaded(specs, _cached(specs, settings), settings.cache_key(), bundled and bool(specs)))

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        if not self.state.rows_loaded(message.specs, message.results, message.settings_key, message.bundled):
            return  # a sweep was loaded before the runs directory's listing arrived: it wins
        self.refresh_matrix()
        if self.app.focused is None:
            self.matrix.focus()

    def _read_caches(self, keys: list[str] | None = None) -> None:
        self._read_caches_worker(self.state.checkpoint_specs(keys), self.state.settings)

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-cache")
    def _read_caches_worker(self, specs: list[RowSpec], settings: EvalSettings) -> None:
        self.post_message(CachesRead(_cached(specs, settings), settings.cache_key(), [s.key for s in specs]))

    def on_caches_read(self, message: CachesRead) -> None:
        if self.state.caches_read(message.results, message.settings_key, message.keys):
            self.refresh_matrix()

    # ------------------------------------------------------------------ drawing

    def refresh_matrix(self) -> None:
        """Rebuild the display rows from the state, and redraw the table, title and detail line."""
        state = self.state
        rows = state.rebuild()
        statuses = {row.key: status_cell(*state.status(row)) for row in rows}
        self.matrix.show(rows, list(state.settings.tasks), statuses, state.sort_by, state.descending)
        empty = self.query_one("#eval-empty", Label)
        empty.display = not state.specs
        empty.update(
            f"No checkpoints in {self.runs_dir} yet.\n"
            "a: pick checkpoints · w: load a sweep · f: add a fresh (untrained) model · train runs on the Runs screen"
        )
        self.matrix.display = bool(state.specs)
        self.query_one("#eval-title", Label).update(Text(state.title(), style="bold"))
        self._update_detail()
        self.refresh_bindings()
        note = state.folds_to_tell()
        if note:
            self.notify(note, title="Repeated seeds", timeout=8, markup=False)

    def _redraw_status(self, key: str) -> None:
        for row in self.state.rows_with(key):
            self.matrix.set_status(row.key, status_cell(*self.state.status(row)))

    def _update_detail(self) -> None:
        detail = self.query_one("#eval-detail", Static)
        row = self.matrix.current_row if self.state.rows else None
        if row is None:
            detail.update("e evaluates · a picks checkpoints · w loads a sweep · f adds a fresh model · x exports · o settings")
            return
        description = self.state.describe(row)
        text = Text(description.text)
        if description.error:
            text.append("\n✗ " + description.error, style="red")
        detail.update(text)

    @on(DataTable.RowHighlighted, "#eval-matrix")
    def _highlighted(self) -> None:
        self._update_detail()
        self.refresh_bindings()

    # ------------------------------------------------------------------ settings

    @on(SettingsEdited)
    def _settings_changed(self, message: SettingsEdited) -> None:
        if message.settings is not None and self.state.set_settings(message.settings):
            self.refresh_matrix()
            self._read_caches()

    def action_focus_matrix(self) -> None:
        self.matrix.focus()

    def action_toggle_settings(self) -> None:
        pane = self.query_one("#eval-settings-pane")
        pane.toggle_class("-hidden")
        if not pane.has_class("-hidden"):
            self.query_one("#setting-examples").focus()
        else:
            self.matrix.focus()

    # ------------------------------------------------------------------ evaluation

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Cancel and Sweep take turns in the key bar: one applies while evaluating, the other otherwise.
        evaluating = self.state.evaluating
        if action == "cancel":
            return evaluating
        if action == "load_sweep":
            return not evaluating
        if action in ("evaluate", "reevaluate", "reevaluate_all", "remove_row") and (evaluating or not self.state.specs):
            return None
        if action == "export" and not self.state.rows:
            return None
        if action == "focus_matrix":
            matrices = self.query(EvalMatrix)
            return not (matrices and matrices.first().has_focus)
        return True

    def action_evaluate(self) -> None:
        """Evaluate every row without a result under the current settings (cached results are reused)."""
        todo = self.state.missing()
        if not todo:
            self.notify("Every row is evaluated with these settings (r re-evaluates a row, R all of them)", timeout=3)
            return
        self._start(todo, use_cache=True)

    def action_reevaluate(self) -> None:
        self._start(self.state.specs_of(self.matrix.current_row), use_cache=False)

    def action_reevaluate_all(self) -> None:
        self._start(list(self.state.specs), use_cache=False)

    def _start(self, todo: list[RowSpec], use_cache: bool) -> None:
        todo = self.state.start(todo, use_cache)
        if todo:
            self._stop = threading.Event()
            self.query_one(EvalSettingsForm).disabled = True
            self._evaluate(todo, self.state.settings, use_cache, self._stop)
        self.refresh_matrix()

    @work(thread=True, exclusive=True, exit_on_error=False, group="evaluate")
    def _evaluate(self, todo: list[RowSpec], settings: EvalSettings, use_cache: bool, stop: threading.Event) -> None:
        from forgetnet_core.evaluate import EvaluationCancelled

        started = time.perf_counter()
        settings_key = settings.cache_key()
        errors = rows = 0
        try:
            from forgetnet_core.device import (
                run_device,  # the device, and the CPU threads (one a run)
            )

            device: Any = run_device(self.device)
        except Exception:  # noqa: BLE001 - an unavailable device falls back to the CPU
            device = "cpu"
        for spec in todo:
            if stop.is_set():
                break
            self.post_message(RowStarted(spec.key))
            last = 0.0

            def progress(done: int, total: int, key: str = spec.key) -> None:
                nonlocal last
                now = time.monotonic()
                if done == total or now - last >= PROGRESS_INTERVAL:
                    last = now
                    self.post_message(RowProgressed(key, done, total))

            try:
                result = self.row_evaluator(spec, settings, device, stop, progress, use_cache)
            except EvaluationCancelled:
                break
            except Exception as exc:  # noqa: BLE001 - one broken row must not end the others
                result = RowResult(settings=settings.to_dict(), error=one_line(exc), evaluated_at=time.time())
            rows += 1
            errors += bool(result.error)
            self.post_message(RowEvaluated(spec.key, result, settings_key))
        self.post_message(EvaluationEnded(stop.is_set(), rows, errors, time.perf_counter() - started))

    def on_row_started(self, message: RowStarted) -> None:
        self.state.row_started(message.key)
        self._redraw_status(message.key)

    def on_row_progressed(self, message: RowProgressed) -> None:
        if self.state.row_progressed(message.key, message.done, message.total):
            self._redraw_status(message.key)

    def on_row_evaluated(self, message: RowEvaluated) -> None:
        self.state.row_evaluated(message.key, message.result, message.settings_key)
        self.refresh_matrix()

    def on_evaluation_ended(self, message: EvaluationEnded) -> None:
        self.state.evaluation_ended()
        self._stop = None
        self.query_one(EvalSettingsForm).disabled = False
        self.refresh_matrix()
        if message.cancelled:
            self.notify(
                f"Evaluation cancelled after {message.rows} row(s); the cancelled row left no partial cache",
                severity="warning",
                timeout=4,
            )
        else:
            errors = f", {message.errors} error(s)" if message.errors else ""
            self.notify(f"Evaluated {message.rows} row(s) in {message.seconds:.1f} s{errors}", timeout=3)

    def action_cancel(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self.notify("Cancelling…", timeout=2)

    # ------------------------------------------------------------------ rows

    def action_pick_checkpoints(self) -> None:
        chosen = [s.run_dir for s in self.state.specs if s.run_dir is not None]
        bundled = {str(s.run_dir): s for s in bundled_specs(self.export_root() / BUNDLED_FOLDER)}

        def apply(paths: list[Path] | None) -> None:
            if paths is None:
                return
            added = self.state.apply_checkpoints(paths, bundled)
            self.refresh_matrix()
            if added:
                self._read_caches(added)

        extra = [(s.run_dir, f"{s.label} · trained on {s.config.get('task')}") for s in bundled.values() if s.run_dir is not None]
        self.app.push_screen(CheckpointPicker(self.runs_dir, chosen, extra), apply)  # type: ignore[arg-type]

    def action_load_sweep(self) -> None:
        """Pick a sweep folder; its runs replace the rows, grouped by seed, under the settings it was evaluated with."""
        if self.state.evaluating:
            self.notify("Cancel the evaluation (c) before loading a sweep", severity="warning", timeout=3)
            return

        def chosen(folder: Path | None) -> None:
            if folder is not None:
                self.query_one("#eval-title", Label).update(f"Loading sweep {folder.name}…")
                self._load_sweep(folder)

        self.app.push_screen(SweepPicker(self.runs_dir), chosen)  # type: ignore[arg-type]

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-sweep")
    def _load_sweep(self, folder: Path) -> None:
        try:
            specs, settings = sweep_specs(folder)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            self.post_message(SweepLoaded(folder, [], None, {}, one_line(exc)))
            return
        self.post_message(SweepLoaded(folder, specs, settings, _cached(specs, settings)))

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        if message.error is not None or message.settings is None:
            self.query_one("#eval-title", Label).update(Text(self.state.title(), style="bold"))
            self.notify(f"Cannot load sweep {message.folder.name}: {message.error}", severity="error", timeout=6, markup=False)
            return
        if self.state.evaluating:
            self.notify("An evaluation started meanwhile: the sweep was not loaded", severity="warning", timeout=3)
            return
        self.state.sweep_loaded(message.folder.name, message.specs, message.settings, message.results)
        self.query_one(EvalSettingsForm).show_settings(message.settings)  # the edit it posts carries equal settings: ignored
        self.refresh_matrix()
        if self.state.rows:
            self.matrix.move_cursor(row=0, animate=False)
        state = self.state
        missing = len(state.specs) - len(state.results)
        todo = f"; {missing} without a result (e evaluates them)" if missing else ""
        self.notify(
            f"Sweep {state.sweep}: {len(state.specs)} runs with a checkpoint, {len(state.results)} results from its caches{todo}",
            timeout=4,
            markup=False,
        )

    def action_add_fresh(self) -> None:
        def add(name: str | None) -> None:
            if name:
                spec = self.state.add_fresh(name)
                self.refresh_matrix()
                self.notify(f"Added {spec.label}: e evaluates it", timeout=2)

        self.app.push_screen(FreshModelPicker(), add)  # type: ignore[arg-type]

    def action_remove_row(self) -> None:
        row = self.matrix.current_row
        if row is not None:
            self.state.remove(row)
            self.refresh_matrix()

    @on(DataTable.RowSelected, "#eval-matrix")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle_group()

    def action_toggle_group(self) -> None:
        """Expand a seed group into its runs, or collapse it (from the group or any of its members)."""
        target = self.state.toggle_group(self.matrix.current_row)
        if target is None:
            return
        self.refresh_matrix()
        if target in self.matrix.rows_by_key:
            self.matrix.move_cursor(row=self.matrix.get_row_index(target), animate=False)

    def action_toggle_grouping(self) -> None:
        grouped = self.state.toggle_grouping()
        self.refresh_matrix()
        self.notify("Seeds grouped: one row per experiment" if grouped else "Seeds apart: one row per run", timeout=2)

    # ------------------------------------------------------------------ sorting

    def action_sort_next(self) -> None:
        self.state.sort_next()
        self.refresh_matrix()

    def action_sort_reverse(self) -> None:
        self.state.sort_reverse()
        self.refresh_matrix()

    @on(DataTable.HeaderSelected, "#eval-matrix")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        if self.state.sort_by_column(event.column_key.value or ""):
            self.refresh_matrix()

    # ------------------------------------------------------------------ export

    def export_root(self) -> Path:
        """This screen's results_dir, the app's --results-dir, else results/ beside the runs directory (never the
        current directory by accident)."""
        folder = self.results_dir
        if folder is None:
            try:
                folder = getattr(self.app, "results_dir", None)
            except Exception:  # noqa: BLE001 - not mounted in an app (tests, scripts)
                folder = None
        return Path(folder).resolve() if folder is not None else results_root(self.runs_dir)

    def action_difficulty(self) -> None:
        """Score the rows at several values of one task knob and draw accuracy against it (dialogs/difficulty.py)."""
        from ..dialogs.difficulty import DifficultyDialog, lines_from_rows

        lines = lines_from_rows(self.state.rows, self.state.specs_by_key)
        if not lines:
            self.notify("No rows yet: add checkpoints (a) or fresh models (f) first", severity="warning", timeout=4)
            return
        self.app.push_screen(DifficultyDialog(lines, self.state.settings, self.row_evaluator, self.export_root(), self.device))

    def action_export(self) -> None:
        rows = export_rows(self.state.rows, self.state.specs_by_key)
        if not rows:
            self.notify("Nothing to export yet: evaluate some rows first (e)", severity="warning", timeout=3)
            return
        name = export_folder_name(rows, self.state.settings)

        def chosen(formats: list[str] | None) -> None:
            if formats:
                # After the dialog has gone, so the screenshot shows the matrix, not the dialog.
                self.call_after_refresh(self.start_export, formats, name)

        self.app.push_screen(ExportDialog(str(self.export_root() / name) + "/"), chosen)  # type: ignore[arg-type]

    def start_export(self, formats: list[str], name: str | None = None) -> None:
        """Export what the matrix shows in `formats` (export.FORMATS plus "screenshot") into results/<name>/."""
        rows = export_rows(self.state.rows, self.state.specs_by_key)
        if not rows:
            return
        name = name or export_folder_name(rows, self.state.settings)
        screenshot = self.app.export_screenshot(title="forgetnet-lab · Evaluate") if "screenshot" in formats else None
        figures = [f for f in formats if f != "screenshot"]
        self.notify(f"Exporting {', '.join(formats)}…", timeout=2)
        self._export(rows, self.export_root(), name, figures, screenshot, self.state.settings.describe())

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-export")
    def _export(self, rows: list, root: Path, name: str, formats: list[str], screenshot: str | None, subtitle: str) -> None:
        from forgetnet_core.export import export_all

        folder: Path | None = None
        try:
            folder = unique_dir(root, name)
            paths = export_all(rows, folder, formats, subtitle=subtitle) if formats else []
            if screenshot is not None:
                shot = folder / "evaluate_screen.svg"
                shot.write_text(screenshot)
                paths.append(shot)
        except Exception as exc:  # noqa: BLE001 - a full disk or a read-only folder is a notification, not a crash
            self.post_message(MatrixExported(folder, [], one_line(exc)))
            return
        self.post_message(MatrixExported(folder, paths, None))

    def on_matrix_exported(self, message: MatrixExported) -> None:
        if message.error:
            self.notify(f"Export failed: {message.error}", severity="error", timeout=8, markup=False)
            return
        self.last_export = message.paths
        names = "\n".join(f"  {p.name}" for p in message.paths)
        where = where_files_are()
        note = f"\n{where}" if where else ""
        if any(row.folded() for row in self.state.rows):
            note += "\nRepeated seeds were averaged per seed first (results.md says which)"
        self.notify(
            f"Exported {len(message.paths)} files to\n{message.folder}/\n{names}{note}",
            title="Export",
            timeout=12,
            markup=False,
        )
