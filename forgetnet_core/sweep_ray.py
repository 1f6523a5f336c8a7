"""Sweeps through Ray: the same grid as Ray tasks, on a local Ray instance or an existing cluster.

The run directories and the sweep manifest stay the single source of truth:
each task is `sweep.run_cell` on one cell's run directory (train or resume,
then evaluate into its eval_cache.json), so a re-run after a crash or Ctrl-C
skips evaluated cells and resumes stopped ones exactly as the local backend
does. On several machines the runs directory must be on a file system they
all share, at the same path, with this package installed on every node.

Safe by default: a local instance binds every Ray port to 127.0.0.1 and
starts no dashboard (a Ray head accepts jobs from anyone who can reach its
ports); `address` joins a cluster someone started, which should live on a
private network or behind SSH tunnels (README: Scale out).

Ray is optional (`pip install -e .[ray]`); without it, run_sweep_ray raises a
one-line RayMissing that says how to install it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from . import runs
from .errors import one_line
from .launch import SignalStop
from .sweep import (
    Reporter,
    cell_action,
    cell_settings,
    cell_state,
    pending_cells,
    read_manifest,
    record_placement,
    report_cell,
    sweep_progress,
)

INSTALL = "pip install -e .[ray]"
# Ray reads this when it is imported: "0" makes a local instance use 127.0.0.1 as its node address, so every
# server it starts (GCS, raylet, workers, object manager) listens on loopback only.
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


class RayMissing(ImportError):
    """--backend ray without Ray installed; str() is one line saying how to install it."""


def import_ray(local: bool) -> Any:
    """The ray module (for a local instance, set to bind to loopback before it is imported); RayMissing without it."""
    if local:
        for key, value in LOOPBACK_ONLY.items():
            os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError:
        raise RayMissing(f"--backend ray needs Ray, which is not installed here: {INSTALL}") from None
    if local:  # imported before the variable was set (a long-lived process): the same switch, read at init time
        constants = getattr(getattr(getattr(ray, "_private", None), "ray_constants", None), "__dict__", {})
        if constants.get("ENABLE_RAY_CLUSTER"):
            ray._private.ray_constants.ENABLE_RAY_CLUSTER = False
    return ray


def start_ray(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to `address` (auto or HOST:PORT), or start a local instance on loopback with no dashboard."""
    ray = import_ray(local=address is None)
    if ray.is_initialized():
        return ray
    if address is None:
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 object_store_memory=128 * 1024 * 1024)
    else:
        ray.init(address=address, log_to_driver=False)
    return ray


def cell_task(run_dir: str, threads: int | None = None, use_gpu: bool = False) -> dict[str, Any]:
    """One cell in a Ray worker: run_cell with the thread policy and the GPU Ray gave it; where it ran."""
    from .device import thread_env
    from .sweep import run_cell

    os.environ.update(thread_env(threads))
    lines: list[str] = []
    path = Path(run_dir)
    manifest = read_manifest(path.parent)
    cell = next(c for c in manifest["cells"] if c["run"] == path.name)
    if cell_state(path, cell_settings(manifest, cell)) == "running":
        return {"run": path.name, "code": 0, "lines": ["skipped: running in another process"], "skipped": True,
                "host": socket.gethostname()}
    # Ray sets CUDA_VISIBLE_DEVICES to the GPU(s) it granted: inside the task that is "cuda"; without one, the CPU.
    code = run_cell(path, report=lines.append, device="cuda" if use_gpu else "cpu")
    return {"run": path.name, "code": code, "lines": lines, "host": socket.gethostname()}


def run_sweep_ray(
    folder: str | Path,
    address: str | None = None,
    jobs: int = 2,
    cpus_per_cell: float = 1.0,
    gpus_per_cell: float = 0.0,
    report: Reporter | None = None,
    stop: threading.Event | None = None,
    retry_failed: bool = False,
    threads: int | None = None,
) -> dict[str, int]:
    """Run every unfinished cell of the sweep as a Ray task; returns sweep_progress().

    A local instance gets `jobs` CPUs (so `jobs` cells at once at one CPU a
    cell); on a cluster Ray places the tasks by their resources:
    `cpus_per_cell` and `gpus_per_cell` (fractional, e.g. 0.25: four cells share
    a GPU). A failed cell is reported and the others go on. Setting `stop` (or
    SIGINT/SIGTERM in the main thread) asks every running cell to stop through
    its run directory (runs.request_stop: it checkpoints and ends `stopped`,
    on any machine that shares the folder) and cancels the cells not started;
    the next call resumes them. The manifest records the backend and each
    cell's host and device.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    say = report or (lambda line: None)
    stop = stop or threading.Event()
    ray = start_ray(address, num_cpus=jobs if address is None else None)
    task = ray.remote(cell_task).options(num_cpus=cpus_per_cell, num_gpus=gpus_per_cell, max_retries=0)
    settings_of = {folder / c["run"]: cell_settings(manifest, c) for c in manifest["cells"]}
    pending: dict[Any, Path] = {}
    for run_dir in pending_cells(folder, manifest, say, retry_failed):
        pending[task.remote(str(run_dir), threads, gpus_per_cell > 0)] = run_dir
        say(f"{cell_action(run_dir, cell_state(run_dir, settings_of[run_dir]))} {run_dir.name} (ray)")
    stopping = False
    with SignalStop(stop):
        while pending:
            if stop.is_set() and not stopping:
                stopping = True
                for ref, run_dir in pending.items():
                    if not runs.request_stop(run_dir):  # not started yet: it never will be
                        ray.cancel(ref, force=False)
            done, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            for ref in done:
                run_dir = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - a cancelled or crashed task: its run directory says the rest
                    if not stopping:
                        say(f"failed {run_dir.name}: {one_line(exc)}")
                    continue
                if result.get("skipped"):
                    say(f"skip {run_dir.name}: running in another process")
                    continue
                record_placement(folder, run_dir.name, "ray", {**(runs.read_status(run_dir) or {}), "host": result["host"]})
                for line in result["lines"]:
                    if line.startswith(("failed", "cannot", "evaluation failed")):
                        say(f"{line} ({run_dir.name})")
                report_cell(run_dir, settings_of[run_dir], say)
            if stopping and not pending:
                break
            time.sleep(0.05)
    return sweep_progress(folder)


__all__ = ["INSTALL", "LOOPBACK_ONLY", "RayMissing", "cell_task", "import_ray", "run_sweep_ray", "start_ray"]
