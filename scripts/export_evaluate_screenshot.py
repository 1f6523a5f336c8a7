"""Make screenshots/evaluate.svg: the Evaluate screen with a filled matrix, driven through the real app.

    .venv/bin/python scripts/export_evaluate_screenshot.py                  # train small runs in a temp dir (~1 min on 2 cores)
    .venv/bin/python scripts/export_evaluate_screenshot.py --runs-dir runs  # use the runs you have
    .venv/bin/python scripts/export_evaluate_screenshot.py --size 80x24 --output /tmp/evaluate-80x24.svg  # a narrow look

Without --runs-dir it trains six small runs (d_model 32, 150 steps, suite v1)
so the matrix has something to show: three seeds of forgetnet on
changing_facts (one row, expandable), no_forget and local_transformer on
changing_facts, tiny_transformer on multi_hop, plus a fresh untrained
forgetnet. It evaluates them on v1 at seq_len 32 (160 examples per task), so
the picture shows v1's changing_facts leak: every trained model scores 1.00
there and stays near chance on the other tasks (SPEC section 2). The
screenshot is made with App.save_screenshot, as the harlequin project does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RUNS = (  # (model, task, seed)
    ("forgetnet", "changing_facts", 1),
    ("forgetnet", "changing_facts", 2),
    ("forgetnet", "changing_facts", 3),
    ("no_forget", "changing_facts", 1),
    ("local_transformer", "changing_facts", 1),
    ("tiny_transformer", "multi_hop", 1),
)


def train_runs(root: Path, steps: int) -> None:
    from forgetnet_core.config import TrainConfig
    from forgetnet_core.train import train

    for model, task, seed in RUNS:
        started = time.perf_counter()
        config = TrainConfig(
            model=model, task=task, suite="v1", seed=seed, steps=steps, batch_size=32, seq_len=32,
            d_model=32, memory_slots=8, lr=3e-3, eval_every=0, checkpoint_every=0, log_every=10, device="cpu",
        )
        run = train(config, runs_dir=root)
        print(f"trained {run.name} in {time.perf_counter() - started:.1f}s", flush=True)


async def shoot(runs_dir: Path, output: Path, size: tuple[int, int], suite: str, seq_len: int) -> None:
    from textual.widgets import Input, Select

    from forgetnet_tui.app import ForgetNetLab
    from forgetnet_tui.dialogs.fresh_model_picker import FreshModelPicker
    from forgetnet_tui.screens.evaluate import EvaluateScreen
    from forgetnet_tui.widgets.eval_matrix import EvalMatrix

    async def until(pilot, predicate, what: str, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            await pilot.pause(0.05)

    app = ForgetNetLab(runs_dir=runs_dir, screen="evaluate", resolve_device=False)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, EvaluateScreen) and app.screen.state.loaded, "the runs")
        screen: EvaluateScreen = app.screen  # type: ignore[assignment]
        screen.query_one("#setting-suite", Select).value = suite
        screen.query_one("#setting-seq_len", Input).value = str(seq_len)
        await until(pilot, lambda: screen.state.settings.suite == suite and screen.state.settings.seq_len == seq_len, "the settings")
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FreshModelPicker), "the fresh-model picker")
        await pilot.press("enter")  # forgetnet, untrained: the chance baseline
        await pilot.pause()
        started = time.perf_counter()
        await pilot.press("e")
        await until(pilot, lambda: not screen.state.evaluating and all(s.key in screen.state.results for s in screen.state.specs), "the evaluation")
        print(f"evaluated {len(screen.state.specs)} rows in {time.perf_counter() - started:.1f}s", flush=True)
        for _ in range(3):  # sort by changing_facts (off -> model -> assoc_lookup -> changing_facts)
            await pilot.press("s")
        table = screen.query_one(EvalMatrix)
        group = next((row for row in screen.state.rows if row.kind == "group"), None)
        if group is not None:
            table.move_cursor(row=table.get_row_index(group.key))
            await pilot.press("enter")  # expand to the individual seeds
        await pilot.pause(0.3)
        app.clear_notifications()
        await pilot.pause(0.3)
        output.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(filename=output.name, path=str(output.parent))
    print(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-dir", type=Path, help="use these runs instead of training new ones")
    parser.add_argument("--output", type=Path, default=ROOT / "screenshots" / "evaluate.svg")
    parser.add_argument("--size", default="176x36", help="terminal columns x rows (176 shows every column)")
    parser.add_argument("--steps", type=int, default=150, help="training steps of each new run")
    parser.add_argument("--suite", default="v1", help="evaluation suite shown")
    parser.add_argument("--seq-len", type=int, default=32, help="evaluation seq_len shown")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    width, height = (int(x) for x in args.size.lower().split("x"))
    if args.runs_dir is not None:
        asyncio.run(shoot(args.runs_dir, args.output.resolve(), (width, height), args.suite, args.seq_len))
        return 0
    with tempfile.TemporaryDirectory(prefix="forgetnet-screenshot-") as tmp:
        runs_dir = Path(tmp) / "runs"
        train_runs(runs_dir, args.steps)
        asyncio.run(shoot(runs_dir, args.output.resolve(), (width, height), args.suite, args.seq_len))
    return 0


if __name__ == "__main__":
    sys.exit(main())
