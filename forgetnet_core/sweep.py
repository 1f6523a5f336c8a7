"""Sweeps: a models x tasks x seeds grid of ordinary run directories, N processes at a time, resumable."""

from __future__ import annotations

import itertools
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from . import runs
from .config import EvalSettings, TaskKnobs, TrainConfig
from .errors import one_line
from .launch import SignalStop

if TYPE_CHECKING:  # matrix imports nothing from here; the sweep builds its rows with it at call time
    from .matrix import RowSpec

MANIFEST = "sweep.json"
# Each finished run is evaluated into its eval_cache.json (results.CACHE_FILE), the
# same cache the Evaluate screen and `forgetnet plot` read.


@dataclass(frozen=True)
class SweepCell:
    """One point of the grid and the run directory that holds it."""

    model: str
    task: str
    seed: int
    run: str  # directory name inside the sweep folder
    knobs: dict[str, Any] = field(default_factory=dict)  # swept task knobs of this cell, e.g. {"records": 8}

    @staticmethod
    def name_for(model: str, task: str, seed: int, knobs: dict[str, Any] | None = None) -> str:
        """model-task[-records8...]-sSEED (None as 'auto')."""
        tags = "".join(f"-{name.replace('_', '')}{'auto' if value is None else value}" for name, value in (knobs or {}).items())
        return f"{model}-{task}{tags}-s{seed}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"model": self.model, "task": self.task, "seed": self.seed, "run": self.run}
        if self.knobs:
            data["knobs"] = dict(self.knobs)
        return data


def knob_points(grid: dict[str, list[Any]] | None) -> list[dict[str, Any]]:
    """Every combination of the swept knobs' values ({} once when nothing is swept)."""
    grid = {name: list(values) for name, values in (grid or {}).items() if values}
    return [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())] if grid else [{}]


def create_sweep(
    root: str | Path,
    base: TrainConfig,
    models: Iterable[str],
    tasks: Iterable[str],
    seeds: Iterable[int],
    name: str | None = None,
    eval_settings: dict[str, Any] | None = None,
    knobs: dict[str, list[Any]] | None = None,
) -> Path:
    """Write (or reopen) runs/<name>/sweep.json and each cell's config.json; return the sweep folder.

    `knobs` sweeps task difficulty too: {"records": [4, 8, 16]} makes every
    model x task x seed cell once per value (trained and evaluated at it).
    Re-creating a sweep with the same name and grid is a no-op, so a crashed
    or interrupted sweep is simply run again. A different grid under an
    existing name is refused.
    """
    cells = [
        SweepCell(m, t, int(s), SweepCell.name_for(m, t, int(s), k), k)
        for m, t, k, s in itertools.product(models, tasks, knob_points(knobs), seeds)
    ]
    if not cells:
        raise ValueError("the sweep grid is empty (give at least one model, task and seed)")
    configs = {c.run: base.replace(model=c.model, task=c.task, seed=c.seed, **c.knobs) for c in cells}
    for config in configs.values():
        config.check()
    folder = Path(root) / (name or f"sweep-{datetime.now():%Y%m%d-%H%M%S}")
    manifest = {
        "kind": "sweep",
        "name": folder.name,
        "base_config": base.to_dict(),
        "models": list(dict.fromkeys(c.model for c in cells)),
        "tasks": list(dict.fromkeys(c.task for c in cells)),
        "seeds": list(dict.fromkeys(c.seed for c in cells)),
        **({"knobs": {name: list(values) for name, values in knobs.items()}} if knobs else {}),
        "cells": [c.to_dict() for c in cells],
        "eval": eval_settings or default_eval_settings(base),
    }
    existing = runs.read_json(folder / MANIFEST)
    if existing is not None:
        same = existing.get("cells") == manifest["cells"] and existing.get("base_config") == manifest["base_config"]
        if not same:
            raise ValueError(f"sweep {folder} exists with a different grid or base config; choose another --name")
        manifest = existing
    else:
        runs.make_folder(folder)  # a file in the way, or a read-only parent: one line (runs.FolderError)
        manifest["created"] = time.time()
        runs.write_json_atomic(folder / MANIFEST, manifest)
    for cell in cells:
        run_dir = folder / cell.run
        run_dir.mkdir(exist_ok=True)
        if not (run_dir / runs.CONFIG_FILE).exists():
            runs.write_json_atomic(run_dir / runs.CONFIG_FILE, {**configs[cell.run].to_dict(), "sweep": folder.name})
    return folder


def default_eval_settings(base: TrainConfig, examples: int = 160) -> dict[str, Any]:
    """Every task, 160 examples (the original's 5 x 32), at the training length, eval seed 123."""
    from forgetnet_core.config import EvalSettings

    return EvalSettings(suite=base.suite, examples=examples, seq_len=base.seq_len).to_dict()


def cell_settings(manifest: dict[str, Any], cell: dict[str, Any]):
    """The EvalSettings a cell is scored with: the manifest's, and for a cell trained at non-default
    task knobs, those knobs on its own task only (other tasks may not be defined at those knobs)."""
    from forgetnet_core.config import EvalSettings

    settings = EvalSettings.from_dict(manifest["eval"])
    knobs = TaskKnobs.from_dict({**(manifest.get("base_config") or {}), **(cell.get("knobs") or {})})
    if knobs.is_default():
        return settings
    return replace(settings, knobs=knobs, tasks=(cell["task"],))


def _cell_of(run_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    for cell in manifest["cells"]:
        if cell.get("run") == run_dir.name:
            return cell
    raise ValueError(f"{run_dir.name} is not a cell of sweep {run_dir.parent.name}")


def read_manifest(folder: str | Path) -> dict[str, Any]:
    data = runs.read_json(Path(folder) / MANIFEST)
    if data is None:
        raise ValueError(f"not a sweep folder (no readable {MANIFEST}): {folder}")
    return data


def cell_state(run_dir: Path, settings: Any = None) -> str:
    """pending (never started), evaluated (finished, with a cached result for `settings`), or the run's state."""
    from forgetnet_core.results import cached_result

    status = runs.read_status(run_dir)
    if status is None:
        return "pending"
    state = runs.effective_state(status)
    if state == "finished" and settings is not None and cached_result(run_dir, settings) is not None:
        return "evaluated"
    return state


def sweep_progress(folder: str | Path) -> dict[str, int]:
    """Counts of cells by state, plus `total`."""
    manifest = read_manifest(folder)
    counts: dict[str, int] = {"total": len(manifest["cells"])}
    for cell in manifest["cells"]:
        state = cell_state(Path(folder) / cell["run"], cell_settings(manifest, cell))
        counts[state] = counts.get(state, 0) + 1
    return counts


def evaluate_run(run_dir: Path, settings: Any, device: Any = "cpu"):
    """Evaluate a finished run's checkpoint into its eval_cache.json; the matrix RowResult."""
    from .device import resolve_device
    from .matrix import RowSpec, evaluate_row

    return evaluate_row(RowSpec.for_run(run_dir), settings, device=resolve_device(device), use_cache=False)


Reporter = Callable[[str], None]


def pending_cells(folder: Path, manifest: dict[str, Any], say: Reporter, retry_failed: bool = False) -> list[Path]:
    """The cells still to do, in grid order: not evaluated, not running elsewhere, not failed (unless retried)."""
    todo: list[Path] = []
    for cell in manifest["cells"]:
        run_dir = folder / cell["run"]
        state = cell_state(run_dir, cell_settings(manifest, cell))
        if state == "evaluated":
            continue
        if state == "failed" and not retry_failed:
            say(f"skip {cell['run']}: failed ({(runs.read_status(run_dir) or {}).get('error')}); --retry-failed reruns it")
            continue
        if state == "running":
            say(f"skip {cell['run']}: running in another process")
            continue
        todo.append(run_dir)
    return todo


def record_placement(folder: Path, run: str, backend: str, status: dict[str, Any] | None) -> None:
    """Write into the manifest where a cell ran: {backend, host, device} (the sweep's one writer does this)."""
    manifest = read_manifest(folder)
    status = status or {}
    manifest.setdefault("placements", {})[run] = {
        "backend": backend, "host": status.get("host"), "device": status.get("device")}
    manifest["backend"] = backend
    runs.write_json_atomic(folder / MANIFEST, manifest)


def run_sweep(
    folder: str | Path,
    jobs: int = 1,
    report: Reporter | None = None,
    stop: threading.Event | None = None,
    retry_failed: bool = False,
    threads: int | None = None,
    devices: list[str] | None = None,
    per_device: int | None = None,
) -> dict[str, int]:
    """Train and then evaluate every unfinished cell as local processes: `jobs` at a time, or K per device.

    Each cell is one child process (`python -m forgetnet_core.sweep DIR`) that
    trains (or resumes) the run and, once it is finished, evaluates it into its
    eval_cache.json, so evaluation never holds up the scheduling of the next
    runs. Evaluated cells are skipped, finished ones only evaluated; stopped and
    stale ones resume from their checkpoint (or start over without one);
    failed ones are skipped unless `retry_failed`. With `devices` (e.g.
    ["cuda:0", "cuda:1"]) the cells are placed round-robin, `per_device` at a
    time on each (placement.Placer), and each cell trains on its device (its
    run directory says which); without, `jobs` cells run at once on their
    config's device. Setting `stop` (or SIGINT/SIGTERM in the main thread)
    asks the children to stop, which checkpoint and end `stopped`, so the next
    call picks up where this one left off (`stop.is_set()` afterwards says it
    was cut short). Each child uses `threads` CPU threads (device.run_threads:
    1 unless asked), so the runs share the cores instead of stalling on each
    other. The manifest records each cell's host and device. Returns sweep_progress().
    """
    from .placement import Placer

    folder = Path(folder)
    manifest = read_manifest(folder)
    say = report or (lambda line: None)
    stop = stop or threading.Event()
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    placer = Placer(list(devices), per_device or 1) if devices else Placer([None], jobs)
    settings_of = {folder / c["run"]: cell_settings(manifest, c) for c in manifest["cells"]}
    todo = pending_cells(folder, manifest, say, retry_failed)
    active: dict[Path, tuple[subprocess.Popen, str | None]] = {}
    with SignalStop(stop):
        queue = list(todo)
        while queue or active:
            while queue and placer.has_room() and not stop.is_set():
                run_dir = queue.pop(0)
                state = cell_state(run_dir, settings_of[run_dir])  # again: the TUI or another sweep may have got there first
                if state == "evaluated":
                    continue
                if state == "running":
                    say(f"skip {run_dir.name}: running in another process")
                    continue
                device = placer.acquire()
                active[run_dir] = (_start_cell(run_dir, threads, device), device)
                say(f"{cell_action(run_dir, state)} {run_dir.name}" + (f" on {device}" if device else ""))
            for run_dir, (proc, device) in list(active.items()):
                if proc.poll() is None:
                    continue
                del active[run_dir]
                placer.release(device)
                record_placement(folder, run_dir.name, "local", runs.read_status(run_dir))
                report_cell(run_dir, settings_of[run_dir], say)
            if stop.is_set():
                for proc, _ in active.values():
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
                for proc, _ in active.values():
                    proc.wait()
                for run_dir in list(active):
                    record_placement(folder, run_dir.name, "local", runs.read_status(run_dir))
                    say(f"{cell_state(run_dir, settings_of[run_dir])} {run_dir.name}")
                active.clear()
                break
            time.sleep(0.2)
    return sweep_progress(folder)


def report_cell(run_dir: Path, settings: Any, say: Reporter) -> None:
    """One line on how a cell's child process ended: evaluated (with accuracies), or its state."""
    from forgetnet_core.results import cached_result

    state = cell_state(run_dir, settings)
    if state == "evaluated":
        result = cached_result(run_dir, settings)
        accs = ", ".join(f"{t} {r['accuracy']:.2f}" for t, r in result.tasks.items()) if result else ""
        say(f"evaluated {run_dir.name}: {accs}")
    elif state == "finished":
        say(f"eval failed {run_dir.name}: see {run_dir / runs.OUTPUT_LOG}")
    else:
        say(f"{state} {run_dir.name}")


def cell_action(run_dir: Path, state: str) -> str:
    """What a cell's child will do, as run_cell decides it: evaluate a finished run, resume from a checkpoint, or start."""
    if state == "finished":
        return "evaluate"
    return "resume" if (run_dir / runs.CHECKPOINT_FILE).exists() else "start"


def _start_cell(run_dir: Path, threads: int | None = None, device: str | None = None) -> subprocess.Popen:
    from .device import thread_env
    from .launch import spawn_cli

    # The child reads its thread count from this environment (device.run_threads), for training and evaluation.
    args = [str(run_dir)] + (["--device", device] if device else [])
    return spawn_cli(args, run_dir, detach=False, env=thread_env(threads), module="forgetnet_core.sweep")


def run_cell(run_dir: str | Path, report: Reporter | None = None, device: str | None = None) -> int:
    """A cell's work, in its child process: train (resume, or start) unless finished, then evaluate into the cache.

    Calls the library (train, then the matrix's row evaluation), never the CLI; `report` gets one line at the end
    (the child prints it into the cell's output.log). `device` places it (the run's config.json then says so).
    Returns 0 when the cell ends evaluated, 1 when it stopped or failed (the sweep reports its state), 2 when
    its files cannot be used.
    """
    from .config import ConfigError, load_config
    from .device import DeviceError, use_threads
    from .train import TrainingFailed, train

    say = report or (lambda line: None)
    use_threads()  # OMP_NUM_THREADS from _start_cell; the evaluation below runs in this process too
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir.parent)
    settings = cell_settings(manifest, _cell_of(run_dir, manifest))
    if cell_state(run_dir, settings) != "finished":
        try:
            config = load_config(run_dir / runs.CONFIG_FILE)
            if device is not None:
                config = config.replace(device=device)
            train(config, run_dir=run_dir, resume=(run_dir / runs.CHECKPOINT_FILE).exists())
        except TrainingFailed as exc:
            say(f"failed: {one_line(exc)}")
            return 1
        except (runs.CheckpointError, ConfigError, DeviceError, OSError, ValueError) as exc:
            say(f"cannot train {run_dir.name}: {one_line(exc)}")
            return 2
        if cell_state(run_dir, settings) != "finished":
            say(f"{cell_state(run_dir, settings)} {run_dir.name}")
            return 1  # stopped (SIGINT/SIGTERM checkpointed it): the sweep resumes it next time
    result = evaluate_run(run_dir, settings, device or "cpu")
    if result.error:
        say(f"evaluation failed: {result.error}")
        return 1
    say("evaluated: " + ", ".join(f"{t} {r['accuracy']:.3f}" for t, r in result.tasks.items()))
    return 0


def sweep_specs(folder: str | Path) -> tuple[list["RowSpec"], EvalSettings]:
    """A sweep's rows (every cell whose run has a checkpoint, in grid order) and the settings it was evaluated with.

    The settings are the manifest's `eval`, so each finished cell's cached
    result (written by `forgetnet sweep`) is found without evaluating again.
    Cells not started yet have no checkpoint and no row; a running cell's row
    holds its latest checkpoint. ValueError when `folder` is not a sweep.
    """
    from .matrix import RowSpec

    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        settings = EvalSettings.from_dict(manifest.get("eval") or {})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sweep {folder.name}: unreadable eval settings in its manifest ({one_line(exc)})") from None
    specs = []
    for cell in manifest.get("cells") or []:
        run_dir = folder / str(cell.get("run", ""))
        if cell.get("run") and (run_dir / runs.CHECKPOINT_FILE).exists():
            specs.append(RowSpec.for_run(run_dir))
    return specs, settings


def sweep_rows(folder: str | Path) -> list[dict[str, Any]]:
    """The cached evaluation of every evaluated cell: {model, task (trained on), seed, run, [knobs], tasks}."""
    from forgetnet_core.results import cached_result

    folder = Path(folder)
    manifest = read_manifest(folder)
    rows = []
    for cell in manifest["cells"]:
        result = cached_result(folder / cell["run"], cell_settings(manifest, cell))
        if result is not None and result.ok:
            rows.append({**cell, "tasks": result.tasks})
    return rows


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    where = args[args.index("--device") + 1] if "--device" in args else None
    sys.exit(run_cell(args[0], report=lambda line: print(line, flush=True), device=where))
