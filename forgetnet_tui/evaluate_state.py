"""The Evaluate screen's state as a plain object: rows, results, progress, expansion, sort and settings.

The screen composes widgets and routes messages; everything it decides goes
through EvaluateState, which imports no Textual (its tests drive it directly).
Worker results arrive as method calls (`rows_loaded`, `row_evaluated`, ...);
`rows` is rebuilt by `rebuild()` and `status(row)` says what a row's status
cell shows. `bundled_specs` makes the first run's rows: the checkpoints that
ship with the package.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from forgetnet_core.checkpoints import bundled_checkpoints
from forgetnet_core.config import EvalSettings
from forgetnet_core.matrix import SORTABLE, MatrixRow, RowSpec, build_rows, folded_note
from forgetnet_core.results import RowResult
from forgetnet_core.runs import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    read_json,
    write_json_atomic,
)

BUSY = ("queued", "running")  # row states while an evaluation holds them


class RowStatus(NamedTuple):
    """What a row's status cell shows (widgets.eval_matrix.status_cell draws it)."""

    state: str  # "", queued, running or cancelled
    result: RowResult | None
    progress: tuple[int, int] | None = None  # (done, total) while running
    detail: str = ""  # a group's "3 seeds", "2/3 runs"


@dataclass(frozen=True)
class Description:
    """The detail line under the matrix for the highlighted row: what it is, where its result came from."""

    text: str
    error: str | None = None


class EvaluateState:
    """Rows (RowSpecs, grouped by seed into MatrixRows), their results under `settings`, and evaluation progress."""

    def __init__(self, settings: EvalSettings | None = None) -> None:
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
        self.loaded = False  # the first rows arrived
        self.sweep: str | None = None  # the sweep whose runs are the rows (w)
        self.bundled = False  # the rows are the bundled checkpoints (the runs directory had none)
        self._fresh_seeds: dict[str, int] = {}
        self._folds_told: set[str] = set()

    # ------------------------------------------------------------------ rows

    def rebuild(self) -> list[MatrixRow]:
        """The display rows from the specs and results (grouped, expanded and sorted as asked)."""
        self.rows = build_rows(self.specs, self.results, self.group_seeds, self.expanded, self.sort_by, self.descending)
        return self.rows

    @property
    def settings_key(self) -> str:
        return self.settings.cache_key()

    @property
    def specs_by_key(self) -> dict[str, RowSpec]:
        return {s.key: s for s in self.specs}

    def checkpoint_specs(self, keys: Iterable[str] | None = None) -> list[RowSpec]:
        """The rows that read a cache (checkpoint rows), all or those with `keys`."""
        wanted = None if keys is None else set(keys)
        return [s for s in self.specs if s.run_dir is not None and (wanted is None or s.key in wanted)]

    def rows_loaded(self, specs: list[RowSpec], results: dict[str, RowResult], settings_key: str, bundled: bool = False) -> bool:
        """The first rows arrived; False when they are stale (a sweep was loaded meanwhile)."""
        if self.sweep is not None:
            return False
        self.loaded = True
        self.specs = list(specs)
        self.bundled = bundled
        if settings_key == self.settings_key:
            self.results.update(results)
        return True

    def caches_read(self, results: dict[str, RowResult], settings_key: str, keys: list[str]) -> bool:
        """Cached results of `keys` for `settings_key`; False when they no longer apply (other settings, evaluating)."""
        if settings_key != self.settings_key or self.evaluating:
            return False
        for key in keys:
            hit, shown = results.get(key), self.results.get(key)
            if hit is None:
                self.results.pop(key, None)  # the checkpoint changed (or was never evaluated with these settings)
            elif shown is None or shown.evaluated_at != hit.evaluated_at:
                self.results[key] = hit  # else: the same result, keep saying "evaluated" rather than "cached"
        return True

    def sweep_loaded(self, name: str, specs: list[RowSpec], settings: EvalSettings, results: dict[str, RowResult]) -> None:
        """A sweep's runs replace the rows, under the settings it was evaluated with, grouped by seed."""
        self.loaded = True
        self.sweep = name
        self.bundled = False
        self.settings = settings
        self.specs = list(specs)
        self.results = dict(results)
        self.row_state.clear()
        self.progress.clear()
        self.group_seeds = True
        self.expanded.clear()

    def apply_checkpoints(self, paths: list[Path], known: dict[str, RowSpec] | None = None) -> list[str]:
        """The checkpoint rows become the run directories `paths` (fresh rows and rows being evaluated stay).

        `known` maps a run directory to its spec (the bundled rows, which carry their own labels). Returns the
        keys of the rows added (their caches are to be read).
        """
        keep = {str(p) for p in paths}
        running = {k for k, state in self.row_state.items() if state in BUSY}
        current = {s.key for s in self.specs}
        specs = [s for s in self.specs if s.fresh or s.key in keep or s.key in running]
        added = [(known or {}).get(str(p)) or RowSpec.for_run(p) for p in paths if str(p) not in current]
        if added or len(specs) != len(self.specs):
            self.sweep = None  # rows chosen by hand: no longer "the sweep"
            self.bundled = False
        self.specs = specs + added
        return [s.key for s in added]

    def add_fresh(self, model: str) -> RowSpec:
        """A fresh (untrained) row of `model`, with the next init seed not yet in the rows."""
        seed = self._fresh_seeds.get(model, 0)
        keys = {s.key for s in self.specs}
        while f"fresh:{model}:{seed}" in keys:
            seed += 1
        self._fresh_seeds[model] = seed + 1
        spec = RowSpec.for_fresh(model, seed)
        self.specs.append(spec)
        hit = self.fresh_results.get((spec.key, self.settings_key))
        if hit is not None:
            self.results[spec.key] = hit
        return spec

    def remove(self, row: MatrixRow) -> None:
        gone = set(row.members)
        self.specs = [s for s in self.specs if s.key not in gone]
        for key in gone:
            self.results.pop(key, None)

    def toggle_group(self, row: MatrixRow | None) -> str | None:
        """Expand a seed group, or collapse it (from the group or one of its members); the group's key, or None."""
        if row is None:
            return None
        target = row.parent if row.kind == "member" else (row.key if row.kind == "group" else None)
        if target is not None:
            self.expanded ^= {target}
        return target

    def toggle_grouping(self) -> bool:
        self.group_seeds = not self.group_seeds
        return self.group_seeds

    # ------------------------------------------------------------------ sorting

    def sort_next(self) -> None:
        """Off, then label, then each task and extra column in turn."""
        order = [None, *SORTABLE]
        self.sort_by = order[(order.index(self.sort_by) + 1) % len(order)]
        self.descending = self.sort_by != "label"

    def sort_reverse(self) -> None:
        if self.sort_by is None:
            self.sort_by = self.settings.tasks[0]
        self.descending = not self.descending

    def sort_by_column(self, column: str) -> bool:
        """A header was clicked: sort by it (again: reverse). False for a column that does not sort."""
        if column not in SORTABLE:
            return False
        if column == self.sort_by:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = column, column != "label"
        return True

    # ------------------------------------------------------------------ settings

    def set_settings(self, settings: EvalSettings) -> bool:
        """Show results under `settings`: fresh rows from this session's memory, checkpoint rows from their caches
        (read again by the caller). False when nothing changed."""
        if settings == self.settings:
            return False
        self.settings = settings
        key = self.settings_key
        self.results = {s.key: self.fresh_results[(s.key, key)] for s in self.specs if (s.key, key) in self.fresh_results}
        self.row_state.clear()
        self.progress.clear()
        return True

    # ------------------------------------------------------------------ evaluation

    def missing(self) -> list[RowSpec]:
        """Rows without a result (or with an error) under the current settings: what `e` evaluates."""
        return [s for s in self.specs if s.key not in self.results or self.results[s.key].error]

    def specs_of(self, row: MatrixRow | None) -> list[RowSpec]:
        return [] if row is None else [s for s in self.specs if s.key in row.members]

    def start(self, todo: list[RowSpec], use_cache: bool) -> list[RowSpec]:
        """Queue `todo` and mark the evaluation started; the rows left for the worker (none: nothing to start).

        With `use_cache`, fresh rows already evaluated this session under these settings are taken from memory.
        """
        if self.evaluating or not todo:
            return []
        key = self.settings_key
        if use_cache:
            for spec in todo:
                hit = self.fresh_results.get((spec.key, key))
                if spec.fresh and hit is not None:
                    self.results[spec.key] = hit
            todo = [s for s in todo if not (s.fresh and (s.key, key) in self.fresh_results)]
        for spec in todo:
            self.row_state[spec.key] = "queued"
            self.progress.pop(spec.key, None)
            if not use_cache:
                self.results.pop(spec.key, None)
        self.evaluating = bool(todo)
        return todo

    def row_started(self, key: str) -> None:
        self.row_state[key] = "running"

    def row_progressed(self, key: str, done: int, total: int) -> bool:
        """False when the row is no longer running (a late message)."""
        if self.row_state.get(key) != "running":
            return False
        self.progress[key] = (done, total)
        return True

    def row_evaluated(self, key: str, result: RowResult, settings_key: str) -> None:
        self.row_state.pop(key, None)
        self.progress.pop(key, None)
        spec = self.specs_by_key.get(key)
        if spec is not None and spec.fresh and result.ok:
            self.fresh_results[(spec.key, settings_key)] = result
        if settings_key == self.settings_key and spec is not None:
            self.results[key] = result

    def evaluation_ended(self) -> None:
        """The worker is done (finished or cancelled): rows it did not reach say `cancelled`."""
        self.evaluating = False
        for key, state in list(self.row_state.items()):
            if state in BUSY:
                self.row_state[key] = "cancelled"
        self.progress.clear()

    def rows_with(self, key: str) -> list[MatrixRow]:
        """The display rows whose status shows spec `key` (its own line and its group's)."""
        return [row for row in self.rows if key in row.members and (row.kind == "group" or row.key == key)]

    def status(self, row: MatrixRow) -> RowStatus:
        if row.kind != "group":
            key = row.members[0]
            return RowStatus(self.row_state.get(key, ""), row.result, self.progress.get(key))
        states = [self.row_state.get(k, "") for k in row.members]
        have = sum(1 for k in row.members if k in self.results)
        if any(state in BUSY for state in states):
            partial = 0.0
            for key, state in zip(row.members, states):
                done, total = self.progress.get(key, (0, 0))
                if state == "running" and total:
                    partial += done / total
            return RowStatus("running", None, (round((have + partial) * 100), 100 * len(row.members)))
        if row.result is not None:
            failed = sum(1 for k in row.members if (r := self.results.get(k)) is not None and r.error)
            return RowStatus("", row.result, detail=f"{row.result.n_seeds}/{row.n_seeds} seeds" if failed else f"{row.n_seeds} seeds")
        return RowStatus("cancelled" if "cancelled" in states else "", None, detail=f"{have}/{len(row.members)} runs" if have else "")

    # ------------------------------------------------------------------ words

    def title(self) -> str:
        """'sweep grid · 4 rows · v2 · 160 ex/task · len 64/192 · seed 123 · seeds grouped'."""
        n = len(self.rows)
        st = self.settings
        seed = "v1 seeds" if st.suite == "v1" else f"seed {st.seed}"
        parts = [f"sweep {self.sweep}"] if self.sweep else (["bundled checkpoints"] if self.bundled else [])
        parts += [f"{n} row{'s' if n != 1 else ''}", st.suite, f"{st.examples} ex/task", f"len {st.seq_len}/{st.extrapolation_length}", seed]
        if self.sort_by:
            parts.append(f"sorted by {self.sort_by} {'▼' if self.descending else '▲'}")
        parts.append("seeds grouped" if self.group_seeds else "seeds apart")
        return " · ".join(parts)

    def describe(self, row: MatrixRow) -> Description:
        """Two lines: what the row is, then where its result came from (or its error, or that it has none)."""
        spec = self.specs_by_key.get(row.members[0]) if row.kind != "group" else None
        result = row.result
        if row.kind == "group":
            folded = row.folded()
            if folded:
                what = f"{folded} differing only in seed: " + (
                    "the runs of one seed are averaged first, then mean and 95% t-interval across the "
                    f"{row.n_seeds} distinct seeds" if result is not None else "evaluate every run to see the mean")
            else:
                seeds = ", ".join(str(s) for s in row.seeds)
                what = f"{len(row.members)} runs differing only in seed ({seeds}): " + (
                    "mean and 95% t-interval across seeds" if result is not None else "evaluate every seed to see the mean")
            what += " · enter " + ("collapses" if row.expanded else "expands")
        elif spec is not None and spec.run_dir is not None:
            bundled = spec.config.get("bundled")
            what = f"{bundled} (ships with forgetnet-lab; trained on {spec.config.get('task', '?')})" if bundled else str(spec.run_dir)
            if result is not None and result.checkpoint_step is not None:
                what += f" · step {result.checkpoint_step}"
        elif spec is not None:
            what = f"fresh {spec.model}, init seed {spec.seed}, default sizes (untrained: the chance baseline)"
        else:
            what = ""
        if result is not None and result.error:
            return Description(what, result.error)
        if result is not None and result.evaluated_at:
            when = datetime.fromtimestamp(result.evaluated_at).strftime("%Y-%m-%d %H:%M")
            source = "from eval_cache.json" if result.cached else "evaluated now"
            interval = "t across seeds" if result.n_seeds > 1 else "Wilson over examples"
            return Description(f"{what}\n{source}, {when} · 95% interval: {interval}")
        if result is None:
            return Description(f"{what}\nnot evaluated with these settings: e evaluates")
        return Description(what)

    def folds_to_tell(self) -> str | None:
        """Once per group, a note when some seed has several runs in it (e.g. two sweeps of one config)."""
        fresh = [row for row in self.rows if row.folded() and f"{row.key}|{row.folded()}" not in self._folds_told]
        if not fresh:
            return None
        self._folds_told |= {f"{row.key}|{row.folded()}" for row in fresh}
        return folded_note(fresh)


def bundled_specs(folder: Path) -> list[RowSpec]:
    """A row for each checkpoint that ships with the package (checkpoints.bundled_checkpoints()).

    A matrix row evaluates a run directory, so each gets one under `folder`
    (e.g. results/bundled/gated_delta_net-changing_facts/) holding a link to
    the shipped file and a config.json naming it; its evaluations are cached
    there like any run's. A folder that cannot be written leaves its row out.
    """
    specs = []
    for bundled in bundled_checkpoints():
        run_dir = folder / f"{bundled.model}-{bundled.task}"
        config = {"model": bundled.model, "task": bundled.task, "suite": "v2", "bundled": str(bundled.path)}
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            _link(run_dir / CHECKPOINT_FILE, bundled.path)
            if read_json(run_dir / CONFIG_FILE) != config:
                write_json_atomic(run_dir / CONFIG_FILE, config)
        except OSError:
            continue
        specs.append(replace(RowSpec.for_run(run_dir, config), label=f"{bundled.model} · bundled"))
    return specs


def _link(link: Path, target: Path) -> None:
    """`link` -> `target` (a symlink, or a copy where links are not allowed), left alone when already so."""
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return
    if link.exists() and not link.is_symlink() and link.stat().st_size == target.stat().st_size:
        return  # an earlier copy
    if link.exists() or link.is_symlink():
        link.unlink()
    try:
        link.symlink_to(target)
    except OSError:
        shutil.copyfile(target, link)
