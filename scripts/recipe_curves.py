"""The curves behind the recall recipe: held-out accuracy against step, with each of its ingredients taken away.

    .venv/bin/python scripts/recipe_curves.py --train      # trains the variants below into runs/recipe-curves/ (CPU, one thread)
    .venv/bin/python scripts/recipe_curves.py --plot       # results/recipe/curves.png (+ curves.csv) from their metrics.jsonl

Each variant is `forgetnet train --recipe recall` with one change, on
associative_lookup and changing_facts (v2, seq_len 64, seed 42, 1000 steps),
for a delta-rule memory (gated_delta_net) and the attention baseline
(conv_transformer): the recipe itself; without the dense lookup loss
(--recall-loss-weight 0); without the convolution (--conv 0); the original
recipe's optimiser settings (lr 3e-4, batch 32, no warmup or decay) with the
rest of the recipe. Plus the position-offset check behind `--position-offsets
auto`: forgetnet on associative_lookup at seq_len 20 with offsets only where
needed (auto) against random offsets on every task (random), 2,000 steps.
A variant whose run directory already finished is not trained again.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = ROOT / "runs" / "recipe-curves"
OUT = ROOT / "results" / "recipe"
MODELS = ("gated_delta_net", "conv_transformer")
TASKS = ("associative_lookup", "changing_facts")
VARIANTS: dict[str, dict] = {
    "recall": {},
    "no dense loss": {"recall_loss_weight": 0.0},
    "no conv": {"conv": 0},
    "original optimiser": {"lr": 3e-4, "batch_size": 32, "warmup_steps": 0, "lr_decay": "none"},
}
OFFSET_CHECK = {"model": "forgetnet", "task": "associative_lookup", "seq_len": 20, "steps": 2000}


def planned() -> list[tuple[str, dict]]:
    """(run name, recipe overrides) for every curve."""
    out = []
    for model in MODELS:
        for task in TASKS:
            for variant, changes in VARIANTS.items():
                name = f"{model}-{task}-{variant.replace(' ', '_')}"
                out.append((name, {"model": model, "task": task, "steps": 1000, **changes}))
    for policy in ("auto", "random"):
        out.append((f"forgetnet-associative_lookup-len20-offsets_{policy}", {**OFFSET_CHECK, "position_offsets": policy}))
    return out


def train_all() -> None:
    import torch

    from forgetnet_core import runs
    from forgetnet_core.config import recipe_config
    from forgetnet_core.train import train

    torch.set_num_threads(1)
    for name, changes in planned():
        run_dir = RUNS / name
        if (runs.read_status(run_dir) or {}).get("state") == "finished":
            print(f"done already: {name}", flush=True)
            continue
        config = recipe_config("recall", seed=42, device="cpu", eval_every=50, checkpoint_every=0, **changes).check()
        resume = (run_dir / runs.CHECKPOINT_FILE).exists()
        print(f"{'resume' if resume else 'train'} {name}", flush=True)
        train(config, run_dir=run_dir, resume=resume)


def curve(run_dir: Path) -> list[tuple[int, float]]:
    from forgetnet_core import runs

    records, _ = runs.read_metrics(run_dir)
    return [(r["step"], r["eval_accuracy"]) for r in records if r.get("kind") == "eval"]


def plot_all() -> list[Path]:
    from matplotlib.figure import Figure

    from forgetnet_core.export import save_figure

    OUT.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(13, 8.5), layout="constrained")
    axes = fig.subplots(2, 3)
    colours = {"recall": "#1a9850", "no dense loss": "#d73027", "no conv": "#4575b4", "original optimiser": "#984ea3"}
    rows = []
    for i, model in enumerate(MODELS):
        for j, task in enumerate(TASKS):
            ax = axes[i][j]
            for variant in VARIANTS:
                points = curve(RUNS / f"{model}-{task}-{variant.replace(' ', '_')}")
                rows += [(model, task, variant, s, a) for s, a in points]
                if points:
                    ax.plot(*zip(*points), label=variant, color=colours[variant], linewidth=1.6)
            ax.set_title(f"{model} · {task}", fontsize=10)
            ax.set_ylim(-0.02, 1.02)
            ax.axhline(1 / 48, color="0.5", linestyle="--", linewidth=0.8)
            ax.grid(True, alpha=0.3)
            ax.set_xlabel("step (batch 64; 32 for the original optimiser)")
            ax.set_ylabel("held-out accuracy")
        axes[i][0].legend(fontsize=8, loc="center right")
    ax = axes[0][2]
    for policy, colour in (("auto", "#1a9850"), ("random", "#d73027")):
        points = curve(RUNS / f"forgetnet-associative_lookup-len20-offsets_{policy}")
        rows += [("forgetnet", "associative_lookup@20", f"offsets {policy}", s, a) for s, a in points]
        if points:
            ax.plot(*zip(*points), color=colour, linewidth=1.6, label=f"--position-offsets {policy}")
    ax.set_title("forgetnet · associative_lookup, seq_len 20", fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.axhline(1 / 48, color="0.5", linestyle="--", linewidth=0.8)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("step")
    ax.legend(fontsize=8, loc="upper left")
    note = axes[1][2]
    note.axis("off")
    note.text(0.0, 0.95, "recall = --recipe recall: batch 64, lr 3e-3,\nwarmup 200, cosine to 10%, dense lookup\n"
              "loss 1.0, conv 4, offsets auto, 1000 steps.\n\nEach curve changes one setting.\n"
              "Held-out: the run's own validation stream\n(4 x 64), never the headline's evaluation\nstream (eval seed 123).", va="top", fontsize=9, family="monospace")
    fig.suptitle("The recall recipe, one ingredient removed at a time (held-out accuracy, v2, seed 42; dashed: chance)",
                 fontsize=11)
    png = save_figure(fig, OUT / "curves.png")
    with open(OUT / "curves.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "task", "variant", "step", "eval_accuracy"])
        writer.writerows(rows)
    return [png, OUT / "curves.csv"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args(argv)
    if not (args.train or args.plot):
        parser.error("say --train, --plot or both")
    if args.train:
        train_all()
    if args.plot:
        for path in plot_all():
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
