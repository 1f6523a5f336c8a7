"""The one listing of runs and sweeps under a runs directory, kept up to date at the cost of a few stat() calls a run.

A run directory holds config.json and/or status.json (runs.py); a sweep folder
holds sweep.json and a run directory per cell (sweep.py). `RunLister(root)`
lists both, one level deep and one level inside each sweep folder, and is
meant to be kept: scanning again parses a JSON file only when its inode, size
or mtime changed, reads each metrics.jsonl from where the last scan stopped
(with `metrics=False` not at all: a picker needs names and states, not losses),
and checks a finished sweep cell's evaluation cache again only when the cache
or the checkpoint changed. A cell is `evaluated` when its cache holds a result
for the settings it is scored with (sweep.cell_settings: the manifest's, at the
cell's own task knobs). `list_runs(root)` is the same, once.

Imports no torch: the lab calls it from worker threads while it paints.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import EvalSettings
from .matrix import RowSpec
from .results import CACHE_FILE, cached_result
from .runs import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    HOST,
    METRICS_JSONL,
    STATUS_FILE,
    MetricsTail,
    effective_state,
    read_json,
)
from .sweep import MANIFEST, cell_settings

# A sweep cell's states, in the order a sweep's group row counts them (sweep.cell_state's vocabulary).
SWEEP_STATES = ("running", "failed", "stopped", "stale", "pending", "finished", "evaluated")


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_FILE).exists() or (path / STATUS_FILE).exists()


@dataclass
class RunInfo:
    """What a list of runs shows about one run directory."""

    path: Path
    name: str
    model: str
    task: str
    state: str  # runs.STATES, or `evaluated` for a sweep cell with a cached result
    step: int
    total_steps: int
    last_loss: float | None  # None also when listed with metrics=False
    best_eval_accuracy: float | None
    updated: float | None  # unix seconds of the last status write
    started: float | None
    error: str | None
    sweep: str | None = None  # the sweep folder's name, for a cell
    config: dict[str, Any] = field(default_factory=dict)
    has_checkpoint: bool = False
    host: str | None = None  # the machine it trains on (status.json), when it said
    device: str | None = None  # the device it trains on (status.json), when it said

    @property
    def where(self) -> str:
        """Its device, with the host when that is not this machine: 'cuda:1', 'gpu-box-2/cuda:0', or ''."""
        device = self.device or ""
        return f"{self.host}/{device}" if self.host and self.host != HOST else device

    @property
    def age(self) -> float | None:
        """Seconds since the run last wrote its status."""
        return None if self.updated is None else max(0.0, time.time() - self.updated)

    @property
    def sort_time(self) -> float:
        return self.started or self.updated or 0.0


@dataclass
class SweepInfo:
    """One sweep folder as a group row shows it."""

    path: Path
    name: str
    total: int  # cells in the manifest
    counts: dict[str, int]  # state (SWEEP_STATES) -> cells; a cell whose directory is missing counts as pending
    members: list[RunInfo]  # the runs that exist: newest started first, then the ones not started (grid order)
    models: list[str] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    seeds: list[Any] = field(default_factory=list)
    created: float | None = None
    base_config: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # why the manifest could not be read (then it has no cells)

    @property
    def done(self) -> int:
        """Cells that finished training (evaluated or not)."""
        return self.counts.get("finished", 0) + self.counts.get("evaluated", 0)

    @property
    def best(self) -> RunInfo | None:
        """The member with the best held-out accuracy so far (None before any evaluation)."""
        scored = [m for m in self.members if m.best_eval_accuracy is not None]
        return max(scored, key=lambda m: m.best_eval_accuracy) if scored else None  # type: ignore[arg-type, return-value]

    @property
    def best_eval_accuracy(self) -> float | None:
        best = self.best
        return None if best is None else best.best_eval_accuracy

    @property
    def updated(self) -> float | None:
        """The newest status write of any member."""
        times = [m.updated for m in self.members if m.updated is not None]
        return max(times) if times else None

    @property
    def age(self) -> float | None:
        """Seconds since any member last wrote its status."""
        ages = [m.age for m in self.members if m.age is not None]
        return min(ages) if ages else None

    @property
    def sort_time(self) -> float:
        """Where the sweep sits among runs (newest first): its creation, or the newest start of a member."""
        return max([self.created or 0.0, *(m.started or 0.0 for m in self.members)])


@dataclass
class Listing:
    """One scan of a runs directory: plain runs (newest first) and sweeps (by folder name)."""

    runs: list[RunInfo]
    sweeps: list[SweepInfo]

    @property
    def empty(self) -> bool:
        return not self.runs and not self.sweeps

    def items(self) -> list[RunInfo | SweepInfo]:
        """Runs and sweeps together, newest first (a sweep by its newest start)."""
        both: list[RunInfo | SweepInfo] = [*self.runs, *self.sweeps]
        both.sort(key=lambda x: (x.sort_time, x.name), reverse=True)
        return both

    def all_runs(self) -> list[RunInfo]:
        """Every run, sweep members included, newest first."""
        found = [*self.runs, *(m for s in self.sweeps for m in s.members)]
        found.sort(key=lambda r: (r.sort_time, r.name), reverse=True)
        return found

    def with_checkpoint(self) -> list[RunInfo]:
        """The runs (sweep members included) that have a checkpoint, newest first: what can be evaluated or stepped."""
        return [r for r in self.all_runs() if r.has_checkpoint]

    def sweeps_newest_first(self) -> list[SweepInfo]:
        """Sweeps by creation (an unreadable manifest last)."""
        return sorted(self.sweeps, key=lambda s: (s.error is None, s.created or 0.0, s.name), reverse=True)


_Stat = tuple[int, int, int]  # (inode, size, mtime_ns): a file unchanged since the last read has the same one


def _stat(path: Path) -> _Stat | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class _Summary:
    """Latest training loss and best held-out accuracy of one metrics.jsonl, grown from its tail."""

    def __init__(self, path: Path) -> None:
        self.tail = MetricsTail(path)
        self.last_loss: float | None = None
        self.best_eval_accuracy: float | None = None

    def update(self) -> None:
        records, _bad = self.tail.read_new()
        if self.tail.reset:  # the file was rewritten (a resume truncated it): start again
            self.last_loss = self.best_eval_accuracy = None
        for r in records:
            if r.get("kind") == "train" and _number(r.get("loss")):
                self.last_loss = float(r["loss"])
            elif r.get("kind") == "eval" and _number(r.get("eval_accuracy")):
                acc = float(r["eval_accuracy"])
                self.best_eval_accuracy = acc if self.best_eval_accuracy is None else max(self.best_eval_accuracy, acc)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class RunLister:
    """Lists the runs and sweeps under `root`; keep one and call scan() again to see changes cheaply. Thread-safe."""

    def __init__(self, root: str | Path, metrics: bool = True):
        self.root = Path(root)
        self.metrics = metrics  # read each run's metrics.jsonl (latest loss, best held-out accuracy)
        self._summaries: dict[Path, _Summary] = {}
        self._json: dict[Path, tuple[_Stat, dict[str, Any]]] = {}
        self._evaluated: dict[Path, tuple[tuple[Any, ...], bool]] = {}
        self._settings: dict[Path, tuple[_Stat | None, dict[str, EvalSettings | None]]] = {}
        self._touched: set[Path] = set()
        self._lock = threading.Lock()
        self.json_reads = 0  # files parsed (tests check that an unchanged run costs none)

    def scan(self) -> Listing:
        with self._lock:
            self._touched = set()
            runs: list[RunInfo] = []
            sweeps: list[SweepInfo] = []
            try:
                children = sorted(os.scandir(self.root), key=lambda e: e.name)
            except OSError:
                children = []
            for entry in children:
                if not entry.is_dir() or entry.name.startswith("eval-"):
                    continue
                child = Path(entry.path)
                if is_run_dir(child):
                    runs.append(self._info(child, None))
                elif (child / MANIFEST).exists():
                    sweeps.append(self._sweep(child))
            for cache in (self._summaries, self._json, self._evaluated, self._settings):
                for path in [p for p in cache if p not in self._touched]:
                    del cache[path]  # type: ignore[attr-defined]
        runs.sort(key=lambda r: (r.sort_time, r.name), reverse=True)
        return Listing(runs, sweeps)

    def list(self) -> list[RunInfo]:
        """Every run, sweep members included, newest first."""
        return self.scan().all_runs()

    # ------------------------------------------------------------------ files, read again only when changed

    def _read(self, path: Path) -> dict[str, Any] | None:
        self._touched.add(path)
        stat = _stat(path)
        if stat is None:
            return None
        hit = self._json.get(path)
        if hit is not None and hit[0] == stat:
            return hit[1]
        self.json_reads += 1
        data = read_json(path)
        if data is not None:  # an unreadable file (mid-write by an old tool) is read again next time
            self._json[path] = (stat, data)
        return data

    def _info(self, run_dir: Path, sweep: str | None, settings: EvalSettings | None = None) -> RunInfo:
        config = self._read(run_dir / CONFIG_FILE) or {}
        status = self._read(run_dir / STATUS_FILE)
        state = effective_state(status)
        status = status or {}
        checkpoint = _stat(run_dir / CHECKPOINT_FILE)
        last_loss = best = None
        if self.metrics:
            self._touched.add(run_dir)
            summary = self._summaries.get(run_dir)
            if summary is None:
                summary = self._summaries[run_dir] = _Summary(run_dir / METRICS_JSONL)
            summary.update()
            last_loss, best = summary.last_loss, summary.best_eval_accuracy
        if state == "finished" and settings is not None and checkpoint is not None and self._is_evaluated(run_dir, settings, checkpoint):
            state = "evaluated"
        return RunInfo(
            path=run_dir,
            name=run_dir.name,
            model=str(config.get("model", "?")),
            task=str(config.get("task", "?")),
            state=state,
            step=int(status.get("step") or 0),
            total_steps=int(status.get("total_steps") or config.get("steps") or 0),
            last_loss=last_loss,
            best_eval_accuracy=best,
            updated=status.get("updated"),
            started=status.get("started"),
            error=status.get("error"),
            sweep=status.get("sweep") or config.get("sweep") or sweep,
            config=config,
            has_checkpoint=checkpoint is not None,
            host=status.get("host"),
            device=status.get("device"),
        )

    def _is_evaluated(self, run_dir: Path, settings: EvalSettings, checkpoint: _Stat) -> bool:
        """Whether the run's eval_cache.json holds a result for `settings` and this checkpoint."""
        cache = _stat(run_dir / CACHE_FILE)
        if cache is None:
            return False
        self._touched.add(run_dir / CACHE_FILE)
        key = (settings.cache_key(), cache, checkpoint)
        hit = self._evaluated.get(run_dir / CACHE_FILE)
        if hit is not None and hit[0] == key:
            return hit[1]
        self.json_reads += 1
        value = cached_result(run_dir, settings) is not None
        self._evaluated[run_dir / CACHE_FILE] = (key, value)
        return value

    # ------------------------------------------------------------------ sweeps

    def _sweep(self, folder: Path) -> SweepInfo:
        manifest = self._read(folder / MANIFEST)
        error = None if manifest is not None else f"unreadable {MANIFEST}"
        manifest = manifest or {}
        settings = self._cell_settings(folder, manifest)
        cells = [c for c in manifest.get("cells") or [] if isinstance(c, dict) and c.get("run")]
        names = [str(c["run"]) for c in cells]
        counts: dict[str, int] = {}
        members: list[RunInfo] = []
        for name in names:
            run_dir = folder / name
            if _stat(run_dir / CONFIG_FILE) is None and _stat(run_dir / STATUS_FILE) is None:
                counts["pending"] = counts.get("pending", 0) + 1  # deleted, or not created yet
                continue
            info = self._info(run_dir, folder.name, settings.get(name))
            counts[info.state] = counts.get(info.state, 0) + 1
            members.append(info)
        # Run directories in the folder that are not cells (put there by hand) are shown, not counted.
        known = set(names)
        try:
            extra = sorted(e.name for e in os.scandir(folder) if e.name not in known and e.is_dir())
        except OSError:
            extra = []
        members.extend(self._info(folder / name, folder.name, settings.get("")) for name in extra if is_run_dir(folder / name))
        order = {m.path: i for i, m in enumerate(members)}
        members.sort(key=lambda m: (m.started is None, -(m.started or 0.0), order[m.path]))
        created = manifest.get("created")
        return SweepInfo(
            path=folder,
            name=folder.name,
            total=len(cells),
            counts=counts,
            members=members,
            models=list(manifest.get("models") or []),
            tasks=list(manifest.get("tasks") or []),
            seeds=list(manifest.get("seeds") or []),
            created=float(created) if isinstance(created, (int, float)) else None,
            base_config=dict(manifest.get("base_config") or {}),
            error=error,
        )

    def _cell_settings(self, folder: Path, manifest: dict[str, Any]) -> dict[str, EvalSettings | None]:
        """Cell run name -> the settings it is scored with ("" -> the manifest's own, for runs that are not cells).

        None where the manifest's `eval` is missing or unreadable (an old or hand-edited manifest): such cells
        show `finished`, never `evaluated`.
        """
        stat = _stat(folder / MANIFEST)
        self._touched.add(folder)
        hit = self._settings.get(folder)
        if hit is not None and hit[0] == stat:
            return hit[1]
        out: dict[str, EvalSettings | None] = {}
        try:
            out[""] = EvalSettings.from_dict(manifest["eval"])
        except (KeyError, TypeError, ValueError):
            out[""] = None
        for cell in manifest.get("cells") or []:
            if not isinstance(cell, dict) or not cell.get("run"):
                continue
            try:
                out[str(cell["run"])] = cell_settings(manifest, cell) if out[""] is not None else None
            except (KeyError, TypeError, ValueError):
                out[str(cell["run"])] = None
        if stat is not None:
            self._settings[folder] = (stat, out)
        return out


def list_runs(root: str | Path, metrics: bool = True) -> list[RunInfo]:
    """Every run under `root` (sweep cells included), newest first, listed once (keep a RunLister to list again)."""
    return RunLister(root, metrics).list()


def checkpoint_rows(runs_dir: str | Path) -> list[RowSpec]:
    """A row for every run under `runs_dir` that has a checkpoint, newest first."""
    return [RowSpec.for_run(info.path, info.config) for info in RunLister(runs_dir, metrics=False).scan().with_checkpoint()]


def newest_run(root: str | Path) -> Path | None:
    """The run to show first: the newest running one, else the newest. Reads no metrics."""
    runs = list_runs(root, metrics=False)
    running = next((r for r in runs if r.state == "running"), None)
    chosen = running or (runs[0] if runs else None)
    return None if chosen is None else chosen.path


__all__ = ["SWEEP_STATES", "Listing", "RunInfo", "RunLister", "SweepInfo", "is_run_dir", "list_runs", "newest_run"]
