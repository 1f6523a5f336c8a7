"""Wall time of one small grid through each sweep backend: local child processes against Ray tasks, same machine.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sweep_backends.py [--steps 200] [--jobs 2] [--json out.json]

The grid: delta_net and conv_transformer x associative_lookup and changing_facts x seeds 1, 2 (8 cells) under
the recall recipe, `--steps` steps each, evaluated on 160 examples per task; each backend gets a fresh copy in a
temporary folder and `--jobs` cells at a time. Ray's time includes starting its local instance (127.0.0.1, no
dashboard). Both must give the same accuracies (the runs are deterministic): the script checks and says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forgetnet_core.config import recipe_config  # noqa: E402
from forgetnet_core.results import cached_result  # noqa: E402
from forgetnet_core.sweep import (  # noqa: E402
    cell_settings,
    create_sweep,
    default_eval_settings,
    read_manifest,
    run_sweep,
)

MODELS = ["delta_net", "conv_transformer"]
TASKS = ["associative_lookup", "changing_facts"]
SEEDS = [1, 2]


def accuracies(folder: Path) -> dict[str, float | None]:
    manifest = read_manifest(folder)
    out = {}
    for cell in manifest["cells"]:
        result = cached_result(folder / cell["run"], cell_settings(manifest, cell))
        out[cell["run"]] = None if result is None else result.tasks[cell["task"]]["accuracy"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    base = recipe_config("recall", steps=args.steps, device="cpu", eval_every=0, checkpoint_every=0)
    settings = default_eval_settings(base)
    times: dict[str, float] = {}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("local", "ray"):
            folder = create_sweep(Path(tmp) / backend, base, MODELS, TASKS, SEEDS, "grid", settings)
            started = time.perf_counter()
            if backend == "local":
                counts = run_sweep(folder, jobs=args.jobs)
            else:
                from forgetnet_core.sweep_ray import run_sweep_ray

                counts = run_sweep_ray(folder, jobs=args.jobs)
            times[backend] = time.perf_counter() - started
            results[backend] = accuracies(folder)
            print(f"{backend:<6} {times[backend]:7.1f} s  {counts}", flush=True)
    same = results["local"] == results["ray"]
    print(f"ray / local: {times['ray'] / times['local']:.2f}x; same accuracies: {same}")
    if args.json:
        args.json.write_text(json.dumps({"cells": len(MODELS) * len(TASKS) * len(SEEDS), "steps": args.steps,
                                         "jobs": args.jobs, "seconds": times, "same_accuracies": same}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
