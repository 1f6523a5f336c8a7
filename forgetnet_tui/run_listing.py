"""The runs table's listing: forgetnet_core.runs.list_runs, but reading only the metrics appended since the last scan.

list_runs re-parses a run's whole metrics.jsonl whenever it grows, which for a
long run that is still training means megabytes every second. The app scans
every second, so it keeps one MetricsTail per run and a running summary.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from forgetnet_core.runs import (
    CONFIG_FILE,
    METRICS_JSONL,
    MetricsTail,
    RunInfo,
    effective_state,
    is_run_dir,
    read_json,
    read_status,
)


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
        elif (child / "sweep.json").exists():
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


class RunLister:
    """Lists the runs under `root` like list_runs (sweep folders included, newest first). Thread-safe."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._tails: dict[Path, tuple[RunTail, MetricsSummary]] = {}
        self._lock = threading.Lock()

    def list(self) -> list[RunInfo]:
        with self._lock:
            found = [self._info(path, sweep) for path, sweep in discover_runs(self.root)]
            alive = {info.path for info in found}
            for path in list(self._tails):
                if path not in alive:
                    del self._tails[path]
        found.sort(key=lambda r: (r.started or r.updated or 0.0, r.name), reverse=True)
        return found

    def _info(self, run_dir: Path, sweep: str | None) -> RunInfo:
        config = read_json(run_dir / CONFIG_FILE) or {}
        status = read_status(run_dir) or {}
        tail, summary = self._tails.get(run_dir) or (RunTail(run_dir / METRICS_JSONL), MetricsSummary())
        self._tails[run_dir] = (tail, summary)
        records, _bad = tail.read_new()
        if tail.reset:  # the file was rewritten (a resume truncated it): start the summary again
            summary.last_loss = summary.best_eval_accuracy = None
        summary.add(records)
        return RunInfo(
            path=run_dir,
            name=run_dir.name,
            model=str(config.get("model", "?")),
            task=str(config.get("task", "?")),
            state=effective_state(status),
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
