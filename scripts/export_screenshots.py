"""Make screenshots/runs.svg and screenshots/train.svg from real runs (README images; never drawn by hand).

Everything under the recall recipe: trains a short sweep (forgetnet_delta
and its no_surprise ablation, two seeds, one cell left pending), one
gated_delta_net run on changing_facts to the end (it learns: about 0.96),
starts a conv_transformer run on the same task in this process and
photographs the app once it is climbing, the finished run overlaid and the
sweep expanded under its group row:

    python scripts/export_screenshots.py            # four to six minutes on 2 CPU cores
    python scripts/export_screenshots.py --out screenshots --size 120x36
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forgetnet_core.config import EvalSettings, recipe_config
from forgetnet_core.runs import read_metrics
from forgetnet_core.sweep import create_sweep, evaluate_run, read_manifest
from forgetnet_core.train import train
from forgetnet_tui.app import ForgetNetLab
from forgetnet_tui.launchers import InProcessLauncher
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.runs_table import RunsTable

RECALL = {"task": "changing_facts", "checkpoint_every": 0, "eval_every": 50}
CLIMBING = 0.5  # photograph the running run once its held-out accuracy passes this


async def wait_until(pilot, predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await pilot.pause(0.1)


def last_eval(run_dir: Path) -> float:
    """The newest held-out accuracy in a run's metrics.jsonl (0 before its first evaluation)."""
    records, _ = read_metrics(run_dir)
    evals = [r["eval_accuracy"] for r in records if r.get("kind") == "eval"]
    return evals[-1] if evals else 0.0


def train_sweep(runs_dir: Path) -> Path:
    """runs/grid-recall: 2 models x changing_facts x 2 seeds, three cells trained and evaluated as `forgetnet sweep` does, one pending."""
    base = recipe_config("recall", steps=300, **RECALL)
    folder = create_sweep(runs_dir, base, ["forgetnet_delta", "forgetnet_delta_no_surprise"], ["changing_facts"], [1, 2],
                          name="grid-recall")
    settings = EvalSettings.from_dict(read_manifest(folder)["eval"])
    for cell in read_manifest(folder)["cells"][:3]:
        run_dir = folder / cell["run"]
        train(base.replace(model=cell["model"], seed=cell["seed"]), run_dir=run_dir)
        evaluate_run(run_dir, settings)
    return folder


async def shoot(runs_dir: Path, out: Path, size: tuple[int, int], finished: Path, launcher: InProcessLauncher, running: Path, sweep: Path) -> None:
    app = ForgetNetLab(runs_dir=runs_dir, launcher=launcher)
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_until(pilot, lambda: table.row_count == 3 and app.device_label is not None, 60, "the runs table and device")
        await wait_until(pilot, lambda: last_eval(running) >= CLIMBING, 600, f"the running run to pass {CLIMBING:.0%} held-out")
        table.select_path(sweep)
        await pilot.press("enter")  # expand the sweep's row into its runs
        table.select_path(finished)
        await pilot.press("space")  # mark the finished run to overlay
        table.select_path(running)
        await pilot.pause(1.2)  # one more table refresh
        app.save_screenshot("runs.svg", path=str(out))
        await pilot.press("enter")  # the running run on the Train screen, the finished one overlaid
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        await pilot.press("s")  # smoothed curves read better in a still image
        await wait_until(pilot, lambda: screen.query_one("#chart-loss").border_title.startswith("loss · smoothed"), 30, "charts")
        await pilot.pause(1.0)
        app.save_screenshot("train.svg", path=str(out))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "screenshots"))
    parser.add_argument("--size", default="120x36", help="COLSxROWS")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="forgetnet-screens-"))
    os.chdir(scratch)  # the app shows its runs directory: make it read "runs", as for a user
    runs_dir = Path("runs")
    launcher = InProcessLauncher()
    try:
        print("training a short sweep (3 of its 4 runs, 300 steps each) and evaluating it...", flush=True)
        sweep = train_sweep(runs_dir)
        print("training gated_delta_net on changing_facts (recall recipe, 1000 steps)...", flush=True)
        finished = train(recipe_config("recall", model="gated_delta_net", seed=1, **RECALL), runs_dir=runs_dir)
        running = launcher.launch(recipe_config("recall", model="conv_transformer", seed=1, **RECALL), runs_dir)
        print(f"photographing the app once conv_transformer passes {CLIMBING:.0%} held-out...", flush=True)
        asyncio.run(shoot(runs_dir, out, (cols, rows), finished, launcher, running, sweep))
    finally:
        launcher.shutdown()
        os.chdir(REPO)
        shutil.rmtree(scratch, ignore_errors=True)
    for name in ("runs.svg", "train.svg"):
        print(f"wrote {out / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
