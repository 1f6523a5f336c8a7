"""Recipe search: train several configurations side by side under a wall-clock budget and print held-out curves.

Each candidate is an ordinary run directory (so the lab can show it), trained
by `forgetnet train` in its own process with one thread. After `--minutes`
every run still going is stopped gracefully (SIGTERM: checkpoint, `stopped`).
The held-out accuracy here comes from the run's own validation stream (the
eval stream at the run's seed), never from the final evaluation seed 123.

    python benchmarks/recipe_search.py --minutes 6 --jobs 14 --output runs/recipes
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forgetnet_core import runs  # noqa: E402
from forgetnet_core.config import TrainConfig  # noqa: E402

# name -> TrainConfig overrides of each candidate; the grid crosses them with models and tasks.
RECIPES = {
    "orig": {"lr": 3e-4},
    "lr1e-3": {"lr": 1e-3, "warmup_steps": 100, "lr_decay": "cosine"},
    "lr3e-3": {"lr": 3e-3, "warmup_steps": 200, "lr_decay": "cosine"},
    "lr1e-3-b128": {"lr": 1e-3, "batch_size": 128, "warmup_steps": 100, "lr_decay": "cosine"},
    "lr3e-3-b128": {"lr": 3e-3, "batch_size": 128, "warmup_steps": 200, "lr_decay": "cosine"},
    "lr1e-2-b64": {"lr": 1e-2, "batch_size": 64, "warmup_steps": 300, "lr_decay": "cosine"},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--steps", type=int, default=6000, help="nominal steps (sets the cosine schedule)")
    parser.add_argument("--models", default="forgetnet,tiny_transformer")
    parser.add_argument("--tasks", default="changing_facts,associative_lookup")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--output", default="runs/recipes")
    parser.add_argument("--json", default=None, help="write the curves here (default OUTPUT/recipes.json)")
    args = parser.parse_args()

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    cells = list(itertools.product(args.recipes.split(","), args.models.split(","), args.tasks.split(",")))
    if len(cells) > args.jobs:
        print(f"note: {len(cells)} candidates > {args.jobs} jobs; the extra ones wait for a free slot", flush=True)
    deadline = time.time() + args.minutes * 60
    procs: dict[str, tuple[subprocess.Popen, Path]] = {}
    queue = list(cells)
    started_at: dict[str, float] = {}
    while queue or procs:
        while queue and len(procs) < args.jobs and time.time() < deadline:
            recipe, model, task = queue.pop(0)
            name = f"{recipe}-{model}-{task}"
            run_dir = out / name
            run_dir.mkdir(parents=True, exist_ok=True)
            config = TrainConfig(model=model, task=task, steps=args.steps, eval_every=100, checkpoint_every=0,
                                 device=args.device, **RECIPES[recipe]).check()
            runs.write_json_atomic(run_dir / runs.CONFIG_FILE, config.to_dict())
            cmd = [sys.executable, "-m", "forgetnet_core.cli", "train", "--run-dir", str(run_dir), "--quiet"]
            env = {**os.environ, "OMP_NUM_THREADS": "1"}
            log = open(run_dir / "search.log", "w")
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
            procs[name] = (proc, run_dir)
            started_at[name] = time.time()
        for name, (proc, _) in list(procs.items()):
            if proc.poll() is not None:
                del procs[name]
        if time.time() >= deadline:
            for proc, _ in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc, _ in procs.values():
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
            procs.clear()
            queue.clear()
        time.sleep(0.5)

    results = collect(out)
    path = Path(args.json) if args.json else out / "recipes.json"
    path.write_text(json.dumps(results, indent=2))
    for r in sorted(results, key=lambda r: (r["task"], r["model"], -(r["best_eval_accuracy"] or 0))):
        curve = " ".join(f"{s}:{a:.2f}" for s, a in r["curve"][-8:])
        print(f"{r['recipe']:<14} {r['model']:<17} {r['task']:<19} steps {r['steps']:>5} "
              f"{r['steps_per_sec']:>5.1f}/s best {r['best_eval_accuracy'] or 0:.3f} | {curve}", flush=True)
    print(path)
    return 0


def collect(out: Path) -> list[dict]:
    """One record per run directory under `out`: recipe, model, task, steps reached, held-out curve."""
    results = []
    for run_dir in sorted(p for p in out.iterdir() if p.is_dir()):
        config = runs.read_json(run_dir / runs.CONFIG_FILE)
        if not config:
            continue
        records, _ = runs.read_metrics(run_dir)
        train = [r for r in records if r.get("kind") == "train"]
        evals = [(r["step"], r["eval_accuracy"]) for r in records if r.get("kind") == "eval"]
        recipe = next((k for k in RECIPES if run_dir.name.startswith(k + "-")), "?")
        results.append({
            "run": run_dir.name,
            "recipe": recipe,
            "model": config["model"],
            "task": config["task"],
            "config": config,
            "steps": train[-1]["step"] if train else 0,
            "steps_per_sec": (train[-1]["step"] / train[-1]["elapsed"]) if train and train[-1].get("elapsed") else 0.0,
            "best_eval_accuracy": max((a for _, a in evals), default=None),
            "curve": evals,
        })
    return results


if __name__ == "__main__":
    sys.exit(main())
