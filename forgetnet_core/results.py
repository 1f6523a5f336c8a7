"""Evaluation results: RowResult (one row's results under one EvalSettings), the per-run cache, seed aggregation.

A checkpoint's results are cached in its run directory (`eval_cache.json`)
keyed by the checkpoint's fingerprint (size, mtime, SHA-256) and the
evaluation settings, and reused until either changes. `aggregate` folds
several seeds' results into one: the mean and a 95% Student-t interval across
distinct seeds (stats.py). Torch-free.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from . import runs
from .config import TASK_NAMES, EvalSettings
from .stats import mean_interval, seed_units

CACHE_FILE = "eval_cache.json"
CACHE_VERSION = 1


@dataclass
class RowResult:
    """One row's results under one EvalSettings, or the error that stopped it."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> evaluate_model() result
    parameter_count: int | None = None
    wall_time_seconds: float | None = None  # evaluation time, all tasks
    settings: dict[str, Any] = field(default_factory=dict)
    evaluated_at: float | None = None  # unix seconds
    checkpoint_step: int | None = None
    cached: bool = False  # read from eval_cache.json rather than computed now
    error: str | None = None  # one line; when set, `tasks` is empty
    n_seeds: int = 1  # > 1 for a group's aggregate: the DISTINCT seeds its interval is across
    n_runs: int = 1  # runs behind it; > n_seeds when runs sharing a seed were folded (averaged per seed first)
    device: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.tasks)

    def stale_rate(self) -> float | None:
        value = (self.tasks.get("changing_facts") or {}).get("stale_rate")
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "parameter_count": self.parameter_count,
            "wall_time_seconds": self.wall_time_seconds,
            "settings": self.settings,
            "evaluated_at": self.evaluated_at,
            "checkpoint_step": self.checkpoint_step,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], cached: bool = False) -> "RowResult":
        return cls(
            tasks={t: r for t, r in (data.get("tasks") or {}).items() if isinstance(r, dict)},
            parameter_count=data.get("parameter_count"),
            wall_time_seconds=data.get("wall_time_seconds"),
            settings=data.get("settings") or {},
            evaluated_at=data.get("evaluated_at"),
            checkpoint_step=data.get("checkpoint_step"),
            device=data.get("device"),
            cached=cached,
        )


# --------------------------------------------------------------------------- the cache


def checkpoint_fingerprint(path: str | Path, digest: bool = True) -> dict[str, Any]:
    """{size, mtime_ns, sha256}: what a cached result is valid for. OSError if the file is missing."""
    path = Path(path)
    st = path.stat()
    fp: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if digest:
        sha = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
        fp["sha256"] = sha.hexdigest()
    return fp


def same_checkpoint(cached: dict[str, Any], path: Path) -> bool:
    """Size and mtime equal: trust it. Same size, other mtime (copied, touched): compare the hash."""
    try:
        now = checkpoint_fingerprint(path, digest=False)
    except OSError:
        return False
    if cached.get("size") != now["size"]:
        return False
    if cached.get("mtime_ns") == now["mtime_ns"]:
        return True
    try:
        return cached.get("sha256") == checkpoint_fingerprint(path)["sha256"]
    except OSError:
        return False


def read_cache(run_dir: str | Path) -> dict[str, Any] | None:
    data = runs.read_json(Path(run_dir) / CACHE_FILE)
    if not data or data.get("version") != CACHE_VERSION or not isinstance(data.get("entries"), dict):
        return None
    return data


def cached_result(run_dir: str | Path, settings: EvalSettings) -> RowResult | None:
    """The cached result for these settings, if the checkpoint is the one it was computed from."""
    run_dir = Path(run_dir)
    data = read_cache(run_dir)
    if data is None:
        return None
    entry = data["entries"].get(settings.cache_key())
    if not isinstance(entry, dict):
        return None
    if not same_checkpoint(data.get("checkpoint") or {}, run_dir / runs.CHECKPOINT_FILE):
        return None
    return RowResult.from_dict(entry, cached=True)


def write_cache(run_dir: str | Path, settings: EvalSettings, result: RowResult, fingerprint: dict[str, Any]) -> None:
    """Add one complete result to the run's cache (atomically); entries for another checkpoint are dropped."""
    run_dir = Path(run_dir)
    data = read_cache(run_dir)
    if data is None or (data.get("checkpoint") or {}).get("sha256") != fingerprint.get("sha256"):
        data = {"version": CACHE_VERSION, "entries": {}}
    data["checkpoint"] = fingerprint
    data["entries"][settings.cache_key()] = result.to_dict()
    runs.write_json_atomic(run_dir / CACHE_FILE, data)


def clear_cache(run_dir: str | Path) -> bool:
    try:
        (Path(run_dir) / CACHE_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


# --------------------------------------------------------------------------- seeds


def aggregate(results: Sequence[RowResult], seeds: Sequence[int | None] | None = None) -> RowResult:
    """One result from several seeds' results: per task the mean accuracy and its 95% t-interval across seeds.

    `seeds` gives each result's training seed. Results that share a seed (the
    same config trained twice, e.g. two sweeps with the same seeds) are
    averaged into that seed's value first, and the mean and interval are
    across the distinct seeds: runs of one seed are not independent samples.
    A None seed counts as a seed of its own; without `seeds` every result does.

    Each task keeps `seed_accuracies` (one per distinct seed, in first-seen
    order), `n_seeds` (distinct), `n_runs`, `interval: "t"`, and when a seed
    had several runs `runs_per_seed` ({seed: runs}). Stale rate, loss and
    memory statistics are means over seeds; `examples` is the total over all
    runs; parameter count is the first one's; wall time is the mean per run.
    """
    units = seed_units(list(seeds) if seeds is not None else [None] * len(results))
    if len(units) != len(results):
        raise ValueError(f"{len(results)} results but {len(units)} seeds")
    good = [(u, r) for u, r in zip(units, results) if r.ok]
    if not good:
        errors = [r.error for r in results if r.error]
        return RowResult(error=errors[0] if errors else "no results", n_seeds=len(set(units)), n_runs=len(results))
    tasks: dict[str, dict[str, Any]] = {}
    for task in [t for t in TASK_NAMES if any(t in r.tasks for _, r in good)] + sorted(
        {t for _, r in good for t in r.tasks} - set(TASK_NAMES)
    ):
        by_unit: dict[Any, list[dict[str, Any]]] = {}
        for unit, r in good:
            if task in r.tasks and r.tasks[task].get("accuracy") is not None:
                by_unit.setdefault(unit, []).append(r.tasks[task])
        if not by_unit:
            continue
        rows = [row for group in by_unit.values() for row in group]

        def per_seed(key: str) -> list[float]:
            means = []
            for group in by_unit.values():
                values = [float(r[key]) for r in group if isinstance(r.get(key), (int, float))]
                if values:
                    means.append(sum(values) / len(values))
            return means

        accs = per_seed("accuracy")
        mean, low, high = mean_interval(accs)
        merged: dict[str, Any] = {
            "accuracy": mean,
            "ci_low": low,
            "ci_high": high,
            "interval": "t" if len(accs) > 1 else rows[0].get("interval", "wilson"),
            "n_seeds": len(accs),
            "n_runs": len(rows),
            "seed_accuracies": accs,
            "examples": sum(int(r.get("examples") or 0) for r in rows),
            "seq_len": rows[0].get("seq_len"),
            "suite": rows[0].get("suite"),
            "seed": rows[0].get("seed"),
        }
        if len(accs) == 1:
            # One seed: no spread across seeds to give an interval from; keep its own interval over the
            # held-out examples (averaged over its runs), not a zero-width [mean, mean].
            lows, highs = per_seed("ci_low"), per_seed("ci_high")
            if lows and highs:
                merged["ci_low"], merged["ci_high"] = lows[0], highs[0]
        if len(rows) > len(accs):
            merged["runs_per_seed"] = {str(u[1]) if u[0] == "seed" else "?": len(g) for u, g in by_unit.items() if len(g) > 1}
        for key in ("stale_rate", "loss", "write_strength", "write_frequency", "surprise", "wall_time_seconds"):
            values = per_seed(key)
            merged[key] = sum(values) / len(values) if values else None
        merged["parameter_count"] = rows[0].get("parameter_count")
        tasks[task] = merged
    walls = [r.wall_time_seconds for _, r in good if r.wall_time_seconds is not None]
    return RowResult(
        tasks=tasks,
        parameter_count=good[0][1].parameter_count,
        wall_time_seconds=sum(walls) / len(walls) if walls else None,
        settings=good[0][1].settings,
        evaluated_at=max((r.evaluated_at or 0.0) for _, r in good) or None,
        cached=all(r.cached for _, r in good),
        n_seeds=len({u for u, _ in good}),
        n_runs=len(good),
        device=good[0][1].device,
    )



__all__ = ["CACHE_FILE", "CACHE_VERSION", "RowResult", "aggregate", "cached_result", "checkpoint_fingerprint",
           "clear_cache", "read_cache", "same_checkpoint", "write_cache"]
