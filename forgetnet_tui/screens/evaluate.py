"""Evaluate screen: the evaluation matrix of checkpoints and fresh models x tasks, cached, grouped by seed, exported; a sweep in one step."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Label, Static

from forgetnet_core.config import EvalSettings
from forgetnet_core.listing import RunLister
from forgetnet_core.matrix import (
    SORTABLE,
    MatrixRow,
    RowSpec,
    build_rows,
    export_folder_name,
    export_rows,
    folded_note,
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

# evaluate_row's signature: (spec, settings, device, stop, on_progress, use_cache) -> RowResult.
RowEvaluator = Callable[..., RowResult]
SETTINGS_SHOWN_FROM = 190  # terminal columns from which the settings pane is open at first (o toggles it)
PROGRESS_INTERVAL = 0.1  # seconds between progress messages from the worker (throttled at the source)


def _default_evaluator(*args: Any, **kwargs: Any) -> RowResult:
    from forgetnet_core.matrix import evaluate_row

    return evaluate_row(*args, **kwargs)


class EvaluateScreen(Screen):
    """Rows: checkpoints picked from the runs directory and fresh models. Columns: tasks. Cells: heatmap of accuracy."""

    TITLE = "forgetnet-lab · Evaluate"
    CSS_PATH = "evaluate.tcss"
    BINDINGS = [
        Binding("e", "evaluate", "Evaluate"),
        Binding("c", "cancel", "Cancel"),
        Binding("a", "pick_checkpoints", "Checkpoints"),
        Binding("w", "load_sweep", "Load sweep"),
        Binding("f", "add_fresh", "Add fresh"),
        Binding("x", "export", "Export"),
        Binding("d", "difficulty", "Difficulty"),
        Binding("s", "sort_next", "Sort"),
        Binding("S", "sort_reverse", "Reverse sort", show=False),
        Binding("g", "toggle_grouping", "Group seeds", show=False),
        Binding("o", "toggle_settings", "Settings"),
        Binding("r", "reevaluate", "Re-evaluate row", show=False),
        Binding("R", "reevaluate_all", "Re-evaluate all", show=False),
        Binding("delete,backspace", "remove_row", "Remove row", show=False),
        Binding("space", "toggle_group", "Expand/collapse seeds", show=False),
        Binding("escape", "focus_matrix", "Back to the matrix", show=False),
    ]
    PALETTE_ACTIONS = (
        ("Evaluate: run missing rows", "Evaluate every row without a result for these settings (e)", "evaluate"),
        ("Evaluate: load a sweep", "Its runs as the rows, grouped by seed, with the settings the sweep evaluated them with (w)", "load_sweep"),
        ("Evaluate: re-evaluate all", "Ignore the caches and evaluate every row again (R)", "reevaluate_all"),
        ("Evaluate: export", "Figures, tables and a screenshot into results/ (x)", "export"),
        ("Evaluate: accuracy against a task knob", "Score the rows at several records / keys / ... values and draw where each breaks (d)", "difficulty"),
        ("Evaluate: group seeds on/off", "One row per experiment, or one per run (g)", "toggle_grouping"),
    )

    # ------------------------------------------------------------------ set-up

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
        self.settings = settings or EvalSettings()
        self.specs: list[RowSpec] = []
        self.results: dict[str, RowResult] = {}  # spec key -> result under self.settings
        self.fresh_results: dict[tuple[str, str], RowResult] = {}  # (spec key, settings key) -> result, this session
        self.row_state: dict[str, str] = {}  # spec key -> queued | running | cancelled
        self.progress: dict[str, tuple[int, int]] = {}
        self.group_seeds = True
        self.expanded: set[str] = set()
        self.sort_by: str | None = None
        self.descending = True
        self.rows: list[MatrixRow] = []
        self.evaluating = False
        self.loaded = False
        self.sweep: str | None = None  # the sweep whose runs are the rows (w), for the title
        self.last_export: list[Path] = []
        self._stop: threading.Event | None = None
        self._fresh_seeds: dict[str, int] = {}
        self._folds_told: set[str] = set()  # groups whose repeated seeds the user has been told about

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="eval-body"):
            with Vertical(id="eval-settings-pane"):
                yield Label("Evaluation settings", classes="pane-title")
                yield EvalSettingsForm(self.settings, id="eval-settings")
            with Vertical(id="eval-main"):
                yield Label("", id="eval-title")
                yield EvalMatrix(id="eval-matrix")
                yield Label("", id="eval-empty")
                yield Static("", id="eval-detail")
        yield Footer()

    def on_mount(self) -> None:
        if self.app.size.width < SETTINGS_SHOWN_FROM:
            self.query_one("#eval-settings-pane").add_class("-hidden")
        self.query_one("#eval-title", Label).update(f"Reading the checkpoints in {self.runs_dir}…")
        self.matrix.focus()
        self._load_rows(self.settings)

    def on_screen_resume(self) -> None:
        if self.loaded and not self.evaluating:
            self._read_caches()  # a run may have finished (new checkpoint) while another screen was shown

    def on_unmount(self) -> None:
        if self._stop is not None:
            self._stop.set()

    @property
    def matrix(self) -> EvalMatrix:
        return self.query_one(EvalMatrix)

    # ------------------------------------------------------------------ loading rows and caches (worker threads)

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-load")
    def _load_rows(self, settings: EvalSettings) -> None:
        specs = [RowSpec.for_run(info.path, info.config) for info in RunLister(self.runs_dir, metrics=False).scan().with_checkpoint()]
        results = {}
        for spec in specs:
            hit = cached_result(spec.run_dir, settings)  # type: ignore[arg-type]
            if hit is not None:
                results[spec.key] = hit
        self.post_message(RowsLoaded(specs, results, settings.cache_key()))

    def on_rows_loaded(self, message: RowsLoaded) -> None:
        if self.sweep is not None:
            return  # a sweep was loaded before the runs directory's listing arrived: it wins
        self.loaded = True
        self.specs = message.specs
        if message.settings_key == self.settings.cache_key():
            self.results.update(message.results)
        self.refresh_matrix()
        if self.app.focused is None:
            self.matrix.focus()

    def _read_caches(self, keys: list[str] | None = None) -> None:
        specs = [s for s in self.specs if s.run_dir is not None and (keys is None or s.key in keys)]
        self._read_caches_worker(specs, self.settings)

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-cache")
    def _read_caches_worker(self, specs: list[RowSpec], settings: EvalSettings) -> None:
        results = {}
        for spec in specs:
            hit = cached_result(spec.run_dir, settings)  # type: ignore[arg-type]
            if hit is not None:
                results[spec.key] = hit
        self.post_message(CachesRead(results, settings.cache_key(), [s.key for s in specs]))

    def on_caches_read(self, message: CachesRead) -> None:
        if message.settings_key != self.settings.cache_key() or self.evaluating:
            return
        for key in message.keys:
            hit, shown = message.results.get(key), self.results.get(key)
            if hit is None:
                self.results.pop(key, None)  # the checkpoint changed (or was never evaluated with these settings)
            elif shown is None or shown.evaluated_at != hit.evaluated_at:
                self.results[key] = hit  # else: the same result, keep saying "evaluated" rather than "cached"
        self.refresh_matrix()

    # ------------------------------------------------------------------ drawing

    def refresh_matrix(self) -> None:
        """Rebuild the display rows from the specs and results, and redraw the table, title and detail line."""
        self.rows = build_rows(self.specs, self.results, self.group_seeds, self.expanded, self.sort_by, self.descending)
        statuses = {row.key: self._status(row) for row in self.rows}
        self.matrix.show(self.rows, list(self.settings.tasks), statuses, self.sort_by, self.descending)
        empty = self.query_one("#eval-empty", Label)
        empty.display = not self.specs
        empty.update(
            f"No checkpoints in {self.runs_dir} yet.\n"
            "a: pick checkpoints · w: load a sweep · f: add a fresh (untrained) model · train runs on the Runs screen"
        )
        self.matrix.display = bool(self.specs)
        self._update_title()
        self._update_detail()
        self.refresh_bindings()
        self._tell_folds()

    def _tell_folds(self) -> None:
        """Say once per group when some seed has several runs in it (e.g. two sweeps of one config): they are folded."""
        fresh = [row for row in self.rows if row.folded() and f"{row.key}|{row.folded()}" not in self._folds_told]
        if not fresh:
            return
        self._folds_told |= {f"{row.key}|{row.folded()}" for row in fresh}
        self.notify(folded_note(fresh) or "", title="Repeated seeds", timeout=8, markup=False)

    def _status(self, row: MatrixRow) -> Text:
        if row.kind != "group":
            key = row.members[0]
            state = self.row_state.get(key, "")
            return status_cell(state, row.result, self.progress.get(key))
        states = [self.row_state.get(k, "") for k in row.members]
        have = sum(1 for k in row.members if k in self.results)
        if "running" in states or "queued" in states:
            partial = 0.0
            for key, state in zip(row.members, states):
                done, total = self.progress.get(key, (0, 0))
                if state == "running" and total:
                    partial += done / total
            return status_cell("running", None, (round((have + partial) * 100), 100 * len(row.members)))
        if row.result is not None:
            failed = sum(1 for k in row.members if (r := self.results.get(k)) is not None and r.error)
            detail = f"{row.result.n_seeds}/{row.n_seeds} seeds" if failed else f"{row.n_seeds} seeds"
            return status_cell("", row.result, detail=detail)
        return status_cell("cancelled" if "cancelled" in states else "", None, detail=f"{have}/{len(row.members)} runs" if have else "")

    def _update_title(self) -> None:
        n = len(self.rows)
        st = self.settings
        seed = "v1 seeds" if st.suite == "v1" else f"seed {st.seed}"
        parts = [f"sweep {self.sweep}"] if self.sweep else []
        parts += [f"{n} row{'s' if n != 1 else ''}", st.suite, f"{st.examples} ex/task", f"len {st.seq_len}/{st.extrapolation_length}", seed]
        if self.sort_by:
            parts.append(f"sorted by {self.sort_by} {'▼' if self.descending else '▲'}")
        parts.append("seeds grouped" if self.group_seeds else "seeds apart")
        self.query_one("#eval-title", Label).update(Text(" · ".join(parts), style="bold"))

    def _update_detail(self) -> None:
        detail = self.query_one("#eval-detail", Static)
        row = self.matrix.current_row if self.rows else None
        if row is None:
            detail.update("e evaluates · a picks checkpoints · w loads a sweep · f adds a fresh model · x exports · o settings")
            return
        detail.update(self._describe(row))

    def _describe(self, row: MatrixRow) -> Text:
        specs = {s.key: s for s in self.specs}
        text = Text()
        result = row.result
        if row.kind == "group":
            folded = row.folded()
            if folded:
                text.append(f"{folded} differing only in seed: ")
                text.append("the runs of one seed are averaged first, then mean and 95% t-interval across the "
                            f"{row.n_seeds} distinct seeds" if result is not None else "evaluate every run to see the mean")
            else:
                seeds = ", ".join(str(s) for s in row.seeds)
                text.append(f"{len(row.members)} runs differing only in seed ({seeds}): ")
                text.append("mean and 95% t-interval across seeds" if result is not None else "evaluate every seed to see the mean")
            text.append(" · enter " + ("collapses" if row.expanded else "expands"))
        else:
            spec = specs.get(row.members[0])
            if spec is not None and spec.run_dir is not None:
                text.append(str(spec.run_dir))
                if result is not None and result.checkpoint_step is not None:
                    text.append(f" · step {result.checkpoint_step}")
            elif spec is not None:
                text.append(f"fresh {spec.model}, init seed {spec.seed}, default sizes (untrained: the chance baseline)")
        if result is not None and result.error:
            text.append("\n✗ " + result.error, style="red")
        elif result is not None and result.evaluated_at:
            when = datetime.fromtimestamp(result.evaluated_at).strftime("%Y-%m-%d %H:%M")
            source = "from eval_cache.json" if result.cached else "evaluated now"
            text.append(f"\n{source}, {when} · 95% interval: " + ("t across seeds" if result.n_seeds > 1 else "Wilson over examples"))
        elif result is None:
            text.append("\nnot evaluated with these settings: e evaluates")
        return text

    @on(DataTable.RowHighlighted, "#eval-matrix")
    def _highlighted(self) -> None:
        self._update_detail()
        self.refresh_bindings()

    # ------------------------------------------------------------------ settings

    @on(SettingsEdited)
    def _settings_changed(self, message: SettingsEdited) -> None:
        if message.settings is None or message.settings == self.settings:
            return
        self.settings = message.settings
        key = self.settings.cache_key()
        # Fresh rows come back from this session's memory; checkpoint rows from their caches (read below, off-thread).
        self.results = {s.key: self.fresh_results[(s.key, key)] for s in self.specs if (s.key, key) in self.fresh_results}
        self.row_state.clear()
        self.progress.clear()
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
        # Cancel and Load sweep take turns in the footer: one applies while evaluating, the other otherwise.
        if action == "cancel":
            return True if self.evaluating else False
        if action == "load_sweep":
            return False if self.evaluating else True
        if action in ("evaluate", "reevaluate", "reevaluate_all", "remove_row"):
            if self.evaluating or not self.specs:
                return None
        if action == "export" and not self.rows:
            return None
        return True

    def action_evaluate(self) -> None:
        """Evaluate every row without a result under the current settings (cached results are reused)."""
        todo = [s for s in self.specs if s.key not in self.results or self.results[s.key].error]
        if not todo:
            self.notify("Every row is evaluated with these settings (r re-evaluates a row, R all of them)", timeout=3)
            return
        self._start(todo, use_cache=True)

    def action_reevaluate(self) -> None:
        row = self.matrix.current_row
        if row is None:
            return
        todo = [s for s in self.specs if s.key in row.members]
        self._start(todo, use_cache=False)

    def action_reevaluate_all(self) -> None:
        self._start(list(self.specs), use_cache=False)

    def _start(self, todo: list[RowSpec], use_cache: bool) -> None:
        if self.evaluating or not todo:
            return
        settings_key = self.settings.cache_key()
        if use_cache:
            # Fresh rows evaluated earlier this session with these settings need no second pass.
            for spec in todo:
                hit = self.fresh_results.get((spec.key, settings_key))
                if spec.fresh and hit is not None:
                    self.results[spec.key] = hit
            todo = [s for s in todo if not (s.fresh and (s.key, settings_key) in self.fresh_results)]
        if not todo:
            self.refresh_matrix()
            return
        for spec in todo:
            self.row_state[spec.key] = "queued"
            self.progress.pop(spec.key, None)
            if not use_cache:
                self.results.pop(spec.key, None)
        self.evaluating = True
        self._stop = threading.Event()
        self.query_one(EvalSettingsForm).disabled = True
        self.refresh_matrix()
        self._evaluate(todo, self.settings, use_cache, self._stop)

    @work(thread=True, exclusive=True, exit_on_error=False, group="evaluate")
    def _evaluate(self, todo: list[RowSpec], settings: EvalSettings, use_cache: bool, stop: threading.Event) -> None:
        from forgetnet_core.evaluate import EvaluationCancelled

        started = time.perf_counter()
        settings_key = settings.cache_key()
        errors = rows = 0
        try:
            from forgetnet_core.device import (
                run_device as resolve_device,  # sets the CPU threads too (1 a run)
            )

            device: Any = resolve_device(self.device)
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
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                result = RowResult(settings=settings.to_dict(), error=text[:300], evaluated_at=time.time())
            rows += 1
            errors += bool(result.error)
            self.post_message(RowEvaluated(spec.key, result, settings_key))
        self.post_message(EvaluationEnded(stop.is_set(), rows, errors, time.perf_counter() - started))

    def on_row_started(self, message: RowStarted) -> None:
        self.row_state[message.key] = "running"
        self._redraw_status(message.key)

    def on_row_progressed(self, message: RowProgressed) -> None:
        if self.row_state.get(message.key) != "running":
            return
        self.progress[message.key] = (message.done, message.total)
        self._redraw_status(message.key)

    def _redraw_status(self, key: str) -> None:
        for row in self.rows:
            if key in row.members and (row.kind == "group" or row.key == key):
                self.matrix.set_status(row.key, self._status(row))

    def on_row_evaluated(self, message: RowEvaluated) -> None:
        self.row_state.pop(message.key, None)
        self.progress.pop(message.key, None)
        spec = next((s for s in self.specs if s.key == message.key), None)
        if spec is not None and spec.fresh and message.result.ok:
            self.fresh_results[(spec.key, message.settings_key)] = message.result
        if message.settings_key == self.settings.cache_key() and spec is not None:
            self.results[message.key] = message.result
        self.refresh_matrix()

    def on_evaluation_ended(self, message: EvaluationEnded) -> None:
        self.evaluating = False
        self._stop = None
        self.query_one(EvalSettingsForm).disabled = False
        left = [k for k, state in self.row_state.items() if state in ("queued", "running")]
        for key in left:
            self.row_state[key] = "cancelled"
        self.progress.clear()
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
        chosen = [s.run_dir for s in self.specs if s.run_dir is not None]

        def apply(paths: list[Path] | None) -> None:
            if paths is None:
                return
            keep = {str(p) for p in paths}
            running = {k for k, state in self.row_state.items() if state in ("queued", "running")}
            current = {s.key for s in self.specs}
            specs = [s for s in self.specs if s.fresh or s.key in keep or s.key in running]
            added = [RowSpec.for_run(p) for p in paths if str(p) not in current]
            if added or len(specs) != len(self.specs):
                self.sweep = None  # rows chosen by hand: no longer "the sweep"
            self.specs = specs + added
            self.refresh_matrix()
            if added:
                self._read_caches([s.key for s in added])

        self.app.push_screen(CheckpointPicker(self.runs_dir, chosen), apply)  # type: ignore[arg-type]

    def action_load_sweep(self) -> None:
        """Pick a sweep folder; its runs replace the rows, grouped by seed, under the settings it was evaluated with."""
        if self.evaluating:
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
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.post_message(SweepLoaded(folder, [], None, {}, text[:300]))
            return
        results = {}
        for spec in specs:
            hit = cached_result(spec.run_dir, settings)  # type: ignore[arg-type]
            if hit is not None:
                results[spec.key] = hit
        self.post_message(SweepLoaded(folder, specs, settings, results))

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        if message.error is not None or message.settings is None:
            self._update_title()
            self.notify(f"Cannot load sweep {message.folder.name}: {message.error}", severity="error", timeout=6, markup=False)
            return
        if self.evaluating:
            self.notify("An evaluation started meanwhile: the sweep was not loaded", severity="warning", timeout=3)
            return
        self.loaded = True
        self.sweep = message.folder.name
        self.settings = message.settings
        self.query_one(EvalSettingsForm).show_settings(message.settings)  # its Changed posts equal settings: ignored
        self.specs = message.specs
        self.results = dict(message.results)
        self.row_state.clear()
        self.progress.clear()
        self.group_seeds = True
        self.expanded.clear()
        self.refresh_matrix()
        if self.rows:
            self.matrix.move_cursor(row=0, animate=False)
        missing = len(self.specs) - len(self.results)
        todo = f"; {missing} without a result (e evaluates them)" if missing else ""
        self.notify(
            f"Sweep {self.sweep}: {len(self.specs)} runs with a checkpoint, {len(self.results)} results from its caches{todo}",
            timeout=4,
            markup=False,
        )

    def action_add_fresh(self) -> None:
        def add(name: str | None) -> None:
            if not name:
                return
            seed = self._fresh_seeds.get(name, 0)
            keys = {s.key for s in self.specs}
            while f"fresh:{name}:{seed}" in keys:
                seed += 1
            self._fresh_seeds[name] = seed + 1
            spec = RowSpec.for_fresh(name, seed)
            self.specs.append(spec)
            hit = self.fresh_results.get((spec.key, self.settings.cache_key()))
            if hit is not None:
                self.results[spec.key] = hit
            self.refresh_matrix()
            self.notify(f"Added {spec.label}: e evaluates it", timeout=2)

        self.app.push_screen(FreshModelPicker(), add)  # type: ignore[arg-type]

    def action_remove_row(self) -> None:
        row = self.matrix.current_row
        if row is None:
            return
        gone = set(row.members)
        self.specs = [s for s in self.specs if s.key not in gone]
        for key in gone:
            self.results.pop(key, None)
        self.refresh_matrix()

    @on(DataTable.RowSelected, "#eval-matrix")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle_group()

    def action_toggle_group(self) -> None:
        """Expand a seed group into its runs, or collapse it (from the group or any of its members)."""
        row = self.matrix.current_row
        target = row.parent if row is not None and row.kind == "member" else (row.key if row is not None and row.kind == "group" else None)
        if target is None:
            return
        self.expanded ^= {target}
        self.refresh_matrix()
        if target in self.matrix.rows_by_key:
            self.matrix.move_cursor(row=self.matrix.get_row_index(target), animate=False)

    def action_toggle_grouping(self) -> None:
        self.group_seeds = not self.group_seeds
        self.refresh_matrix()
        self.notify("Seeds grouped: one row per experiment" if self.group_seeds else "Seeds apart: one row per run", timeout=2)

    # ------------------------------------------------------------------ sorting

    def action_sort_next(self) -> None:
        order = [None, *SORTABLE]
        self.sort_by = order[(order.index(self.sort_by) + 1) % len(order)]
        self.descending = self.sort_by != "label"
        self.refresh_matrix()

    def action_sort_reverse(self) -> None:
        if self.sort_by is None:
            self.sort_by = self.settings.tasks[0]
        self.descending = not self.descending
        self.refresh_matrix()

    @on(DataTable.HeaderSelected, "#eval-matrix")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = event.column_key.value
        if column not in SORTABLE:
            return
        if column == self.sort_by:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = column, column != "label"
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

        lines = lines_from_rows(self.rows, {s.key: s for s in self.specs})
        if not lines:
            self.notify("No rows yet: add checkpoints (a) or fresh models (f) first", severity="warning", timeout=4)
            return
        self.app.push_screen(DifficultyDialog(lines, self.settings, self.row_evaluator, self.export_root(), self.device))

    def action_export(self) -> None:
        specs = {s.key: s for s in self.specs}
        rows = export_rows(self.rows, specs)
        if not rows:
            self.notify("Nothing to export yet: evaluate some rows first (e)", severity="warning", timeout=3)
            return
        name = export_folder_name(rows, self.settings)

        def chosen(formats: list[str] | None) -> None:
            if formats:
                # After the dialog has gone, so the screenshot shows the matrix, not the dialog.
                self.call_after_refresh(self.start_export, formats, name)

        self.app.push_screen(ExportDialog(str(self.export_root() / name) + "/"), chosen)  # type: ignore[arg-type]

    def start_export(self, formats: list[str], name: str | None = None) -> None:
        """Export what the matrix shows in `formats` (export.FORMATS plus "screenshot") into results/<name>/."""
        specs = {s.key: s for s in self.specs}
        rows = export_rows(self.rows, specs)
        if not rows:
            return
        name = name or export_folder_name(rows, self.settings)
        screenshot = self.app.export_screenshot(title="forgetnet-lab · Evaluate") if "screenshot" in formats else None
        figures = [f for f in formats if f != "screenshot"]
        self.notify(f"Exporting {', '.join(formats)}…", timeout=2)
        self._export(rows, self.export_root(), name, figures, screenshot, self.settings.describe())

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
            self.post_message(MatrixExported(folder, [], str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
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
        if any(row.folded() for row in self.rows):
            note += "\nRepeated seeds were averaged per seed first (results.md says which)"
        self.notify(
            f"Exported {len(message.paths)} files to\n{message.folder}/\n{names}{note}",
            title="Export",
            timeout=12,
            markup=False,
        )
