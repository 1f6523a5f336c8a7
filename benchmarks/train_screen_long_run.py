"""How fast the Train screen opens a long run and answers keys: a 300,000-step metrics.jsonl (what `--log-every 1` gives a long GPU run).

Writes a synthetic run directory (config.json, status.json, and a
metrics.jsonl of about 79 MB: a training line every step with every field the
trainer logs, values rounded to 4 decimals, a held-out line every 1,000
steps, an aux-loss spike at step 1, a loss spike every 7,919 steps) into a
temporary folder, opens forgetnet-lab on the Train screen with Textual's
`app.run_test`, and prints:

- time to first charts: from starting the app to the first charts drawn with data;
- time to full charts: until the loss chart's x axis reaches the last step
  (its "300k" tick), i.e. every line of the file is on the charts;
- per-key latency: from a key press until its effect is in the widgets, which
  the next frame paints (s/g: the charts redrawn with the new option; o: the
  overlay picker mounted; escape: back on the Train screen), median and max
  over repeats, and one `s` pressed while the file may still be loading. Keys
  are posted as the terminal driver posts them (App.simulate_key): Pilot.press
  also waits for the whole process to go idle, which is not the user's wait.

The temporary folder is removed at the end.

    OMP_NUM_THREADS=1 python benchmarks/train_screen_long_run.py
    OMP_NUM_THREADS=1 python benchmarks/train_screen_long_run.py --steps 100000 --repeats 5 --size 80x24
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forgetnet_tui.app import ForgetNetLab  # noqa: E402
from forgetnet_tui.screens.train import TrainScreen  # noqa: E402
from forgetnet_tui.widgets.charts import step_label  # noqa: E402


def write_long_run(root: Path, steps: int, eval_every: int = 1000) -> Path:
    """A run directory as the trainer leaves it mid-run, with `steps` training lines (about 260 bytes each)."""
    run = root / "forgetnet-changing_facts-20260101-000000"
    run.mkdir(parents=True)
    config = {"model": "forgetnet", "task": "changing_facts", "suite": "v2", "steps": steps * 2, "batch_size": 64, "lr": 3e-4, "seed": 0, "device": "auto", "log_every": 1}
    (run / "config.json").write_text(json.dumps(config))
    now = time.time()
    status = {"state": "running", "pid": os.getpid(), "step": steps, "total_steps": steps * 2, "started": now - steps / 95.0, "updated": now, "device": "cuda:0"}
    (run / "status.json").write_text(json.dumps(status))
    rnd = random.Random(0)
    r4 = lambda v: round(v, 4)  # noqa: E731 - the trainer writes full floats: its file would be larger still
    with open(run / "metrics.jsonl", "w") as fh:
        for step in range(1, steps + 1):
            answer = 2.3 * math.exp(-step / (steps / 6)) + 0.05 + 0.05 * rnd.random()
            if step % 7919 == 0:
                answer *= 3.0  # isolated spikes: they must stay visible on the raw charts
            aux = 40.0 if step == 1 else 0.5 * math.exp(-step / (steps / 12)) + 0.02 * rnd.random()
            accuracy = min(1.0, 0.9 * step / steps + 0.1 * rnd.random())
            record = {
                "kind": "train", "step": step, "loss": r4(answer + 0.1 * aux), "answer_loss": r4(answer), "aux_loss": r4(aux),
                "accuracy": r4(accuracy), "write_strength": r4(0.3 + 0.1 * rnd.random()), "write_frequency": r4(0.5),
                "surprise": r4(0.8 * rnd.random()), "grad_norm": r4(1 + rnd.random()), "lr": 0.0003,
                "steps_per_sec": r4(95 + 5 * rnd.random()), "elapsed": r4(step / 95.0),
            }  # fmt: skip
            fh.write(json.dumps(record) + "\n")
            if step % eval_every == 0:
                held = {"kind": "eval", "step": step, "eval_loss": r4(answer), "eval_accuracy": r4(accuracy), "eval_ci_low": r4(accuracy - 0.02), "eval_ci_high": r4(accuracy + 0.02), "eval_examples": 512}
                fh.write(json.dumps(held) + "\n")
    return run


async def wait_until(pilot, predicate, timeout: float, every: float = 0.002) -> float | None:
    """Seconds until predicate() holds (checked every `every` seconds while the app runs), or None after `timeout`."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            return None
        await asyncio.sleep(every)
    return time.perf_counter() - start


async def key_latency(app, pilot, key: str, effect, timeout: float = 30) -> float:
    """Seconds from a key press (posted as the terminal driver would; pilot.press also waits for the process to idle) to its effect."""
    start = time.perf_counter()
    app.simulate_key(key)
    took = await wait_until(pilot, effect, timeout)
    return math.inf if took is None else time.perf_counter() - start


def chart_text(screen: TrainScreen, name: str) -> str:
    return str(screen.query_one(f"#chart-{name}").render())


async def measure(runs_dir: Path, size: tuple[int, int], steps: int, repeats: int) -> dict[str, object]:
    app = ForgetNetLab(runs_dir=runs_dir, screen="train", resolve_device=False)
    last_tick = step_label(steps)
    results: dict[str, object] = {}
    started = time.perf_counter()
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        first = await wait_until(pilot, lambda: "┤" in chart_text(screen, "loss"), 120, every=0.01)
        results["first_charts_s"] = None if first is None else time.perf_counter() - started
        # A key while the file may still be loading: the charts must follow at once.
        results["s_while_loading_s"] = await key_latency(app, pilot, "s", lambda: "smoothed" in screen.query_one("#chart-loss").border_title)
        full = await wait_until(pilot, lambda: last_tick in chart_text(screen, "loss"), 120, every=0.01)
        results["full_charts_s"] = None if full is None else time.perf_counter() - started
        await pilot.pause(0.5)

        keys: dict[str, list[float]] = {"s": [], "g": [], "o": [], "o, runs listed": [], "escape": []}
        for _ in range(repeats):
            for key in ("s", "g"):
                redraws, title = screen.redraws, screen.query_one("#chart-loss").border_title
                keys[key].append(
                    await key_latency(app, pilot, key, lambda: screen.redraws > redraws and screen.query_one("#chart-loss").border_title != title)
                )
                await pilot.pause(0.1)
            start = time.perf_counter()
            keys["o"].append(await key_latency(app, pilot, "o", lambda: app.screen is not screen and app.screen.is_mounted))
            await wait_until(pilot, lambda: not app.screen.query_one("SelectionList").loading, 60, every=0.01)
            keys["o, runs listed"].append(time.perf_counter() - start)
            await pilot.pause(0.2)
            keys["escape"].append(await key_latency(app, pilot, "escape", lambda: app.screen is screen))
            await pilot.pause(0.1)
        results["keys"] = keys
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=5, help="presses of each key")
    parser.add_argument("--size", default="120x40", help="COLSxROWS")
    args = parser.parse_args()
    cols, rows = (int(v) for v in args.size.lower().split("x"))
    scratch = Path(tempfile.mkdtemp(prefix="forgetnet-long-run-"))
    try:
        t = time.perf_counter()
        run = write_long_run(scratch / "runs", args.steps)
        size_mb = (run / "metrics.jsonl").stat().st_size / 1e6
        print(f"wrote {args.steps:,} steps ({size_mb:.0f} MB metrics.jsonl) in {time.perf_counter() - t:.1f}s", flush=True)
        results = asyncio.run(measure(scratch / "runs", (cols, rows), args.steps, args.repeats))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def secs(value: object) -> str:
        return "timed out" if value is None else f"{value:.2f} s"

    print(f"size {cols}x{rows}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
    print(f"time to first charts     {secs(results['first_charts_s'])}")
    print(f"time to full charts      {secs(results['full_charts_s'])}  (every line of the file drawn)")
    print(f"s while loading          {secs(results['s_while_loading_s'])}")
    print("key latency (ms)         median      max")
    for key, times in results["keys"].items():  # type: ignore[union-attr]
        ms = [1000 * v for v in times]
        print(f"  {key:<22} {statistics.median(ms):8.0f} {max(ms):8.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
