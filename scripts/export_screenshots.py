"""Make screenshots/runs.svg and screenshots/train.svg from real runs (README images; never drawn by hand).

Trains a small sweep (forgetnet and no_forget, two seeds, one cell left
pending), one small ForgetNet run to the end, starts a second one (a local
transformer) in this process, and photographs the app while it trains, with
the sweep expanded under its group row:

    python scripts/export_screenshots.py            # one to two minutes on 2 CPU cores
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

from forgetnet_core.config import (
    EvalSettings,  # noqa: E402
    TrainConfig,  # noqa: E402
)
from forgetnet_core.runs import read_status  # noqa: E402
from forgetnet_core.sweep import create_sweep, evaluate_run, read_manifest  # noqa: E402
from forgetnet_core.train import train  # noqa: E402
from forgetnet_tui.app import ForgetNetLab  # noqa: E402
from forgetnet_tui.launchers import InProcessLauncher  # noqa: E402
from forgetnet_tui.screens.train import TrainScreen  # noqa: E402
from forgetnet_tui.widgets.runs_table import RunsTable  # noqa: E402

SMALL = dict(batch_size=16, seq_len=32, d_model=32, memory_slots=8, eval_every=25, eval_batches=2, checkpoint_every=0)


async def wait_until(pilot, predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await pilot.pause(0.1)


def train_sweep(runs_dir: Path) -> Path:
    """runs/grid-v2: 2 models x changing_facts x 2 seeds, three cells trained and evaluated as `forgetnet sweep` does, one pending."""
    base = TrainConfig(steps=150, **SMALL)
    folder = create_sweep(runs_dir, base, ["forgetnet", "no_forget"], ["changing_facts"], [1, 2], name="grid-v2")
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
        await wait_until(pilot, lambda: (read_status(running) or {}).get("step", 0) >= 120, 120, "the running run to reach step 120")
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
        print("training a small sweep (3 of its 4 runs, 150 steps each) and evaluating it...", flush=True)
        sweep = train_sweep(runs_dir)
        print("training forgetnet on changing_facts (300 steps)...", flush=True)
        finished = train(TrainConfig(model="forgetnet", steps=300, seed=1, **SMALL), runs_dir=runs_dir)
        running = launcher.launch(TrainConfig(model="local_transformer", steps=3000, seed=1, **SMALL), runs_dir)
        print("photographing the app while local_transformer trains...", flush=True)
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
