"""Train the small forgetnet checkpoint the stepper ships with (forgetnet_core/assets/stepper_changing_facts.pt).

    .venv/bin/python scripts/train_stepper_checkpoint.py            # the shipped recipe (defaults below)
    .venv/bin/python scripts/train_stepper_checkpoint.py --minutes 6.5 --device cuda   # as many steps as fit
    .venv/bin/python scripts/train_stepper_checkpoint.py --steps 500 --out /tmp/x.pt

The shipped checkpoint came from the defaults (forgetnet, changing_facts v2,
seq_len 64, batch 512, AdamW lr 2e-3 with 200 warmup steps and cosine decay
to 10%, 4300 steps, seed 42) on one H200 GPU in 6.5 minutes, run as
`--minutes 6.5 --device cuda`, which timed the machine and picked 4300 steps.
On a 2-core CPU the same recipe takes hours; smaller batches (32-64) for
3000-5000 steps stayed near chance (0.03-0.06 held-out) in our tries.

It runs the ordinary trainer (a normal run directory under --runs-dir, with
metrics.jsonl you can tail) and, at every held-out evaluation that beats the
best so far, copies the model into the asset as a plain dict: model_state,
config and a few numbers (no optimizer state, no RNG state), so the file stays
small and loads with torch.load(weights_only=True) through
forgetnet_core.evaluate.load_model. The held-out set used for this selection
is the run's own eval stream (derived from --seed); the accuracy reported in
README.md is measured afterwards on a different set by
`forgetnet eval --checkpoint forgetnet_core/assets/stepper_changing_facts.pt --task changing_facts`
(eval seed 123, 160 examples), so the selection does not flatter it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from forgetnet_core.config import TrainConfig  # noqa: E402

DEFAULT_OUT = ROOT / "forgetnet_core" / "assets" / "stepper_changing_facts.pt"


def strip_checkpoint(run_checkpoint: Path, out: Path, eval_record: dict) -> int:
    """Copy a run checkpoint into `out` keeping only weights, config and plain values; return its size in bytes."""
    import torch

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


def probe_steps_per_sec(config: TrainConfig, steps: int = 12) -> float:
    """Training steps per second of `config` on this machine, timed on a throwaway model (after 3 warm-up steps)."""
    import time

    import torch

    from forgetnet_core.device import resolve_device
    from forgetnet_core.models import build_model
    from forgetnet_core.tasks import make_batch
    from forgetnet_core.train import compute_loss

    device = resolve_device(config.device)
    model = build_model(config.model, **config.model_overrides()).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    batch = make_batch(config.task, 1, config.seq_len, config.batch_size, config.suite)
    started = 0.0
    for i in range(steps + 3):
        if i == 3:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
        loss = compute_loss(model, batch, config.aux_weight, device).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=4300)
    parser.add_argument("--minutes", type=float, default=None,
                        help="instead of --steps: time a few steps, then train as many as fit in this many minutes")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--warmup-steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", default="forgetnet")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--eval-batches", type=int, default=5)
    parser.add_argument("--device", default="auto", help="cpu, cuda, ... (the shipped checkpoint: see README)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the default suits a shared 2-core box)")
    parser.add_argument("--runs-dir", default="runs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    import torch

    from forgetnet_core.train import train

    torch.set_num_threads(args.threads)
    config = TrainConfig(
        model=args.model,
        task="changing_facts",
        suite="v2",
        steps=args.steps,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        lr=args.lr,
        warmup_steps=args.warmup_steps,
        lr_decay="cosine",
        seed=args.seed,
        device=args.device,
        eval_every=args.eval_every,
        eval_batches=args.eval_batches,
        checkpoint_every=args.eval_every,
        log_every=10,
    ).check()
    if args.minutes:
        rate = probe_steps_per_sec(config)
        steps = max(2 * args.eval_every, int(rate * args.minutes * 60 * 0.85) // args.eval_every * args.eval_every)
        print(f"probe: {rate:.2f} steps/s -> {steps} steps for {args.minutes} min", flush=True)
        config = config.replace(steps=steps).check()
    state: dict = {"best": -1.0, "last_eval": None, "run_dir": None}

    def on_event(record: dict) -> None:
        kind = record.get("kind")
        if kind == "train" and record["step"] % 100 == 0:
            print(f"step {record['step']:>5}  loss {record['loss']:.3f}  acc {record['accuracy']:.2f}  "
                  f"{record['steps_per_sec']:.1f} it/s", flush=True)
        elif kind == "eval":
            state["last_eval"] = record
            print(f"step {record['step']:>5}  held-out {record['eval_accuracy']:.3f} "
                  f"[{record['eval_ci_low']:.2f}, {record['eval_ci_high']:.2f}]", flush=True)
        elif kind == "checkpoint":
            last = state["last_eval"]
            if last is not None and last["step"] == record["step"] and last["eval_accuracy"] > state["best"]:
                state["best"] = last["eval_accuracy"]
                run_ckpt = Path(state["run_dir"]) / "checkpoint.pt"
                size = strip_checkpoint(run_ckpt, args.out, last)
                print(f"  -> best so far, saved {args.out} ({size / 1024:.0f} KiB)", flush=True)

    from forgetnet_core import runs

    run_dir = runs.new_run_dir(args.runs_dir, config.model, config.task)
    state["run_dir"] = str(run_dir)
    print(f"run directory {run_dir}", flush=True)
    train(config, run_dir=run_dir, on_event=on_event)
    print(f"best held-out (selection set) {state['best']:.3f}; checkpoint {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
