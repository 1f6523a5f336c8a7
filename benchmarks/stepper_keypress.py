"""How long a Stepper keypress takes in-process: moving the cursor and drawing every visible view into terminal lines.

A stepping key only indexes the precomputed trace and redraws, so this is
all it costs the app besides Textual's compositing and the terminal write
(screens.stepper.time_keypress). Also timed: Pilot.press of `right` against
an unbound key (Pilot's own wait-for-idle cost), i.e. the keypress as the app
processes and repaints it. For the bundled forgetnet (a slot memory) and the
default bundled gated_delta_net (a matrix memory), at 120x40 and 80x24.

    OMP_NUM_THREADS=1 python benchmarks/stepper_keypress.py [--presses 40] [--size 120x40 --size 80x24]

Prints median and worst per model and size. (The test suite checks that a
keypress steps and redraws; the numbers are here, where a loaded CI machine
cannot fail them.)
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from forgetnet_core.checkpoints import bundled_path  # noqa: E402
from forgetnet_tui.app import ForgetNetLab, StepperOptions  # noqa: E402
from forgetnet_tui.screens.stepper import StepperScreen, time_keypress  # noqa: E402

MODELS = (("forgetnet (slots)", str(bundled_path("forgetnet"))), ("gated_delta_net (matrix)", None))


async def measure(runs_dir: Path, checkpoint: str | None, size: tuple[int, int], presses: int) -> dict[str, float]:
    app = ForgetNetLab(runs_dir=runs_dir, screen="stepper", stepper=StepperOptions(checkpoint=checkpoint), resolve_device=False)
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + 60
        while not (isinstance(app.screen, StepperScreen) and app.screen.trace is not None):
            if time.monotonic() > deadline:
                raise SystemExit("the stepper's trace did not arrive within 60 s")
            await pilot.pause(0.05)
        await pilot.pause()
        screen = app.screen
        times = [time_keypress(screen, 1) for _ in range(presses)] + [time_keypress(screen, -1) for _ in range(presses)]

        async def per_press(key: str) -> float:
            started = time.perf_counter()
            for _ in range(10):
                await pilot.press(key)
            return (time.perf_counter() - started) / 10

        idle = await per_press("f9")  # bound to nothing
        right = await per_press("right")
    return {"median": statistics.median(times), "worst": max(times), "pilot_right": right, "pilot_idle": idle}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presses", type=int, default=40, help="steps forward, then as many back")
    parser.add_argument("--size", action="append", help="COLSxROWS (repeatable; default 120x40 and 80x24)")
    args = parser.parse_args()
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in (args.size or ["120x40", "80x24"])]
    scratch = Path(tempfile.mkdtemp(prefix="stepper-keypress-"))
    try:
        print(f"{'model':<26}{'size':>8}{'median ms':>11}{'worst ms':>10}{'Pilot right ms':>16}{'unbound key ms':>16}")
        for name, checkpoint in MODELS:
            for size in sizes:
                r = asyncio.run(measure(scratch, checkpoint, size, args.presses))  # type: ignore[arg-type]
                print(f"{name:<26}{f'{size[0]}x{size[1]}':>8}{r['median'] * 1000:>11.2f}{r['worst'] * 1000:>10.2f}"
                      f"{r['pilot_right'] * 1000:>16.1f}{r['pilot_idle'] * 1000:>16.1f}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
