"""The runs table's listing: runs and sweeps under the runs directory, rescanned every second at the cost of a few stats per run.

forgetnet_core.runs.list_runs reads every run's config and status and
re-parses metrics that grew. The app scans every second, and a sweep folder
holds hundreds of runs, so RunLister keeps one MetricsTail per run with a
running summary, re-reads a JSON file only when its stat changes, and sums
each sweep into a SweepInfo (counts by state, best accuracy) for its group row.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from forgetnet_core.config import EvalSettings
from forgetnet_core.matrix import CACHE_FILE, cached_result
from forgetnet_core.runs import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    METRICS_JSONL,
    STATUS_FILE,
    MetricsTail,
    RunInfo,
    effective_state,
    is_run_dir,
    read_json,
    read_status,
)
from forgetnet_core.sweep import MANIFEST

# A sweep cell's states, in the order the group row counts them (sweep.cell_state's vocabulary).
SWEEP_STATES = ("running", "failed", "stopped", "stale", "pending", "finished", "evaluated")


class RunTail:
    """A MetricsTail that also notices metrics.jsonl being replaced, not only shrinking.

    Resuming a run rewrites the file without the lines after its checkpoint
    (os.replace: a new inode). If the trainer has already appended past the old
    size by the next read, MetricsTail alone would keep its old offset.
    `reset` is True after a read that started over.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.tail = MetricsTail(self.path)
        self.inode: int | None = None
        self.reset = False

    def read_new(self) -> tuple[list[dict[str, Any]], int]:
        try:
            inode: int | None = self.path.stat().st_ino
        except OSError:
            inode = None
        replaced = self.inode is not None and inode is not None and inode != self.inode
        if replaced:
            self.tail = MetricsTail(self.path)
        if inode is not None:
            self.inode = inode
        records, bad = self.tail.read_new()
        self.reset = replaced or self.tail.reset
        return records, bad

    @property
    def bad_lines(self) -> int:
        return self.tail.bad_lines


@dataclass
class MetricsSummary:
    """Latest training loss and best held-out accuracy, grown record by record."""

    last_loss: float | None = None
    best_eval_accuracy: float | None = None

    def add(self, records: list[dict[str, Any]]) -> None:
        for r in records:
            if r.get("kind") == "train" and _number(r.get("loss")):
                self.last_loss = float(r["loss"])
            elif r.get("kind") == "eval" and _number(r.get("eval_accuracy")):
                acc = float(r["eval_accuracy"])
                self.best_eval_accuracy = acc if self.best_eval_accuracy is None else max(self.best_eval_accuracy, acc)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def discover_runs(root: str | Path) -> list[tuple[Path, str | None]]:
    """(run directory, sweep folder name or None) for every run under root, as list_runs finds them."""
    root = Path(root)
    if not root.is_dir():
        return []
    out: list[tuple[Path, str | None]] = []
    try:
        children = list(root.iterdir())
    except OSError:
        return []
    for child in children:
        if not child.is_dir() or child.name.startswith("eval-"):
            continue
        if is_run_dir(child):
            out.append((child, None))
        elif (child / MANIFEST).exists():
            try:
                grandchildren = list(child.iterdir())
            except OSError:
                continue
            out.extend((g, child.name) for g in grandchildren if g.is_dir() and is_run_dir(g))
    return out


def newest_run(root: str | Path) -> Path | None:
    """The run the Train screen opens by default: the newest running one, else the newest; reads status files only."""
    best: tuple[bool, float, str] | None = None
    chosen: Path | None = None
    for path, _sweep in discover_runs(root):
        status = read_status(path) or {}
        key = (effective_state(status) == "running", float(status.get("started") or status.get("updated") or 0.0), path.name)
        if best is None or key > best:
            best, chosen = key, path
    return chosen


@dataclass
class SweepInfo:
    """One sweep folder as the runs table's group row shows it."""

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
    """One scan of the runs directory: plain runs and sweeps."""

    runs: list[RunInfo]
    sweeps: list[SweepInfo]

    def items(self) -> list[Union[RunInfo, SweepInfo]]:
        """Runs and sweeps together, newest first (a sweep by its newest start)."""
        both: list[Union[RunInfo, SweepInfo]] = [*self.runs, *self.sweeps]
        both.sort(key=lambda x: (x.sort_time if isinstance(x, SweepInfo) else (x.started or x.updated or 0.0), x.name), reverse=True)
        return both

    def all_runs(self) -> list[RunInfo]:
        """Every run, sweep members included, newest first (what list_runs returns)."""
        found = [*self.runs, *(m for s in self.sweeps for m in s.members)]
        found.sort(key=lambda r: (r.started or r.updated or 0.0, r.name), reverse=True)
        return found


_Stat = tuple[int, int, int]  # (inode, size, mtime_ns): a file unchanged since the last read has the same one


def _stat(path: Path) -> _Stat | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class RunLister:
    """Lists the runs and sweeps under `root` (one level, and one level inside each sweep folder). Thread-safe.

    Each scan costs a few stat() calls per run: config.json, status.json and
    sweep.json are parsed again only when their inode, size or mtime changed;
    metrics.jsonl is read from where the last scan stopped; a finished sweep
    cell's evaluation cache is checked again only when it or the checkpoint
    changed.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._tails: dict[Path, tuple[RunTail, MetricsSummary]] = {}
        self._json: dict[Path, tuple[_Stat, dict[str, Any]]] = {}
        self._evaluated: dict[Path, tuple[tuple[Any, ...], bool]] = {}
        self._settings: dict[Path, tuple[_Stat, EvalSettings | None]] = {}
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
            for cache in (self._tails, self._json, self._evaluated, self._settings):
                for path in [p for p in cache if p not in self._touched]:
                    del cache[path]  # type: ignore[attr-defined]
        runs.sort(key=lambda r: (r.started or r.updated or 0.0, r.name), reverse=True)
        return Listing(runs, sweeps)

    def list(self) -> list[RunInfo]:
        """Every run, sweep members included, newest first (like list_runs)."""
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
        self._touched.add(run_dir)
        tail, summary = self._tails.get(run_dir) or (RunTail(run_dir / METRICS_JSONL), MetricsSummary())
        self._tails[run_dir] = (tail, summary)
        records, _bad = tail.read_new()
        if tail.reset:  # the file was rewritten (a resume truncated it): start the summary again
            summary.last_loss = summary.best_eval_accuracy = None
        summary.add(records)
        if state == "finished" and settings is not None and self._is_evaluated(run_dir, settings):
            state = "evaluated"
        return RunInfo(
            path=run_dir,
            name=run_dir.name,
            model=str(config.get("model", "?")),
            task=str(config.get("task", "?")),
            state=state,
            step=int(status.get("step") or 0),
            total_steps=int(status.get("total_steps") or config.get("steps") or 0),
            last_loss=summary.last_loss,
            best_eval_accuracy=summary.best_eval_accuracy,
            updated=status.get("updated"),
            started=status.get("started"),
            error=status.get("error"),
            sweep=status.get("sweep") or config.get("sweep") or sweep,
            config=config,
        )

    def _is_evaluated(self, run_dir: Path, settings: EvalSettings) -> bool:
        """Whether the run's eval_cache.json holds a result for the sweep's settings and this checkpoint."""
        cache, checkpoint = _stat(run_dir / CACHE_FILE), _stat(run_dir / CHECKPOINT_FILE)
        if cache is None or checkpoint is None:
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
        manifest = self._read(folder / MANIFEST) or {}
        settings = self._sweep_settings(folder, manifest)
        cells = [c for c in manifest.get("cells") or [] if isinstance(c, dict) and c.get("run")]
        names = [str(c["run"]) for c in cells]
        counts: dict[str, int] = {}
        members: list[RunInfo] = []
        for name in names:
            run_dir = folder / name
            if _stat(run_dir / CONFIG_FILE) is None and _stat(run_dir / STATUS_FILE) is None:
                counts["pending"] = counts.get("pending", 0) + 1  # deleted, or not created yet
                continue
            info = self._info(run_dir, folder.name, settings)
            counts[info.state] = counts.get(info.state, 0) + 1
            members.append(info)
        # Run directories in the folder that are not cells (put there by hand) are shown, not counted.
        known = set(names)
        try:
            extra = sorted(e.name for e in os.scandir(folder) if e.name not in known and e.is_dir())
        except OSError:
            extra = []
        members.extend(self._info(folder / name, folder.name, settings) for name in extra if is_run_dir(folder / name))
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
        )

    def _sweep_settings(self, folder: Path, manifest: dict[str, Any]) -> EvalSettings | None:
        stat = _stat(folder / MANIFEST)
        self._touched.add(folder)
        hit = self._settings.get(folder)
        if hit is not None and hit[0] == stat:
            return hit[1]
        try:
            settings: EvalSettings | None = EvalSettings.from_dict(manifest["eval"])
        except (KeyError, TypeError, ValueError):
            settings = None  # an old or hand-edited manifest: cells show `finished`, never `evaluated`
        if stat is not None:
            self._settings[folder] = (stat, settings)
        return settings
