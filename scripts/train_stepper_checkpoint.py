"""Train a checkpoint the stepper ships with: a model on changing_facts v2 under the recall recipe, kept small.

    .venv/bin/python scripts/train_stepper_checkpoint.py --model gated_delta_net            # the stepper's default
    .venv/bin/python scripts/train_stepper_checkpoint.py --model forgetnet --steps 3000     # the slot-memory contrast
    .venv/bin/python scripts/train_stepper_checkpoint.py --model delta_net --out /tmp/x.pt  # anything else

It runs the ordinary trainer (`--recipe recall`: batch 64, lr 3e-3, warmup,
cosine, dense lookup loss, conv 4; a normal run directory under --runs-dir
whose metrics.jsonl you can tail) and, at every held-out evaluation that
beats the best so far, copies the model into the asset as a plain dict:
model_state, config and a few numbers (no optimizer or RNG state), so the file
stays small and loads with torch.load(weights_only=True). The held-out set
used for this selection is the run's own eval stream (derived from --seed);
at the end the asset is measured on a different set, the one
`forgetnet eval --checkpoint ASSET --task changing_facts` uses (eval seed 123,
160 examples), and the script prints that accuracy and stale-answer rate:
the numbers README.md states and tests/core/test_bundled.py checks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forgetnet_core.checkpoints import ASSETS, bundled_path  # noqa: E402
from forgetnet_core.config import MODEL_NAMES, recipe_config  # noqa: E402


def strip_checkpoint(run_checkpoint: Path, out: Path, eval_record: dict) -> int:
    """Copy a run checkpoint into `out` keeping only weights, config and plain values; return its size in bytes."""
    from forgetnet_core import runs

    data = runs.load_checkpoint(run_checkpoint)
    payload = {
        "config": data["config"],
        "model": data["config"]["model"],
        "step": int(data["step"]),
        "model_state": {k: v.detach().clone().contiguous() for k, v in data["model_state"].items()},
        "parameter_count": int(data.get("parameter_count", 0)),
        "selection_eval_accuracy": float(eval_record["eval_accuracy"]),
        "selection_eval_examples": int(eval_record["eval_examples"]),
        "source": "scripts/train_stepper_checkpoint.py",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    runs.save_checkpoint(out, payload)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="gated_delta_net", choices=MODEL_NAMES)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--runs-dir", default="runs/stepper-assets")
    parser.add_argument("--out", type=Path, help=f"default: {ASSETS}/stepper_<model>_changing_facts.pt")
    args = parser.parse_args(argv)

    import torch

    from forgetnet_core import runs
    from forgetnet_core.checkpoints import load_model
    from forgetnet_core.evaluate import evaluate_model
    from forgetnet_core.train import train

    torch.set_num_threads(1)
    out = args.out or bundled_path(args.model, "changing_facts")
    config = recipe_config("recall", model=args.model, task="changing_facts", steps=args.steps, seed=args.seed,
                           device=args.device, checkpoint_every=100, eval_every=100, log_every=10).check()
    state: dict = {"best": -1.0, "last_eval": None}

    def on_event(record: dict) -> None:
        kind = record.get("kind")
        if kind == "train" and record["step"] % 100 == 0:
            print(f"step {record['step']:>5}  loss {record['loss']:.3f}  acc {record['accuracy']:.2f}", flush=True)
        elif kind == "eval":
            state["last_eval"] = record
            print(f"step {record['step']:>5}  held-out (selection) {record['eval_accuracy']:.3f}", flush=True)
        elif kind == "checkpoint":
            last = state["last_eval"]
            if last is not None and last["step"] == record["step"] and last["eval_accuracy"] > state["best"]:
                state["best"] = last["eval_accuracy"]
                size = strip_checkpoint(run_dir / runs.CHECKPOINT_FILE, out, last)
                print(f"  -> best so far, saved {out} ({size / 1024:.0f} KiB)", flush=True)

    run_dir = runs.new_run_dir(args.runs_dir, config.model, config.task)
    print(f"run directory {run_dir}", flush=True)
    train(config, run_dir=run_dir, on_event=on_event)
    model, data = load_model(out)
    result = evaluate_model(model, ["changing_facts"], "v2", seed=123, examples=160)["changing_facts"]
    print(f"{out} (step {data['step']}, {out.stat().st_size / 1024:.0f} KiB): changing_facts accuracy "
          f"{result['accuracy']:.3f} ({result['correct']}/{result['examples']}, 95% CI {result['ci_low']:.2f}-"
          f"{result['ci_high']:.2f}), stale answers {result['stale_rate']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
