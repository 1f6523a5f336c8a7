"""Make screenshots/stepper.svg: the Stepper screen mid-example, driven through the real app with the bundled checkpoint.

    .venv/bin/python scripts/export_stepper_screenshot.py                     # screenshots/stepper.svg
    .venv/bin/python scripts/export_stepper_screenshot.py --compare no_forget --output /tmp/compare.svg
    .venv/bin/python scripts/export_stepper_screenshot.py --size 80x24 --output /tmp/stepper-80x24.svg

The default shows changing_facts (v2) seed 28, where the queried key k07 is set
and overwritten three times and the bundled forgetnet answers right: the
cursor stands on the newest value (t=16, pressed there with `j` and the arrow
keys, as a user would), one step after the newest record's key. The
screenshot is made with App.save_screenshot, as the harlequin project does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def shoot(output: Path, size: tuple[int, int], seed: int, cursor: int | None, compare: str | None) -> None:
    from forgetnet_core.stepper import fresh_source
    from forgetnet_tui.app import ForgetNetLab, StepperOptions
    from forgetnet_tui.screens.stepper import StepperScreen

    with tempfile.TemporaryDirectory() as tmp:
        app = ForgetNetLab(runs_dir=Path(tmp), screen="stepper", stepper=StepperOptions(seed=seed), resolve_device=False)
        async with app.run_test(size=size) as pilot:
            for _ in range(400):
                if isinstance(app.screen, StepperScreen) and app.screen.trace is not None:
                    break
                await pilot.pause(0.05)
            screen = app.screen
            if compare:
                screen.set_compare(fresh_source(compare))
                for _ in range(400):
                    if screen.compare_trace is not None:
                        break
                    await pilot.pause(0.05)
            st = screen.trace
            target = cursor if cursor is not None else next(e.t for e in st.events if e.kind == "latest") + 1
            while screen.cursor < target:  # walk there the way a user would: j to each event, then the arrows
                following = st.next_event(screen.cursor)
                await pilot.press("j" if following is not None and following <= target else "right")
            await pilot.pause(0.3)
            output.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=output.name, path=str(output.parent))
            print(f"wrote {output} ({st.model_label}, seed {seed}, t={screen.cursor}: {st.event_text(screen.cursor - 1) or st.names[screen.cursor]})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "screenshots" / "stepper.svg")
    parser.add_argument("--size", default="120x40", help="COLSxROWS")
    parser.add_argument("--seed", type=int, default=28)
    parser.add_argument("--cursor", type=int, default=None, help="token to stop at (default: the newest fact's value)")
    parser.add_argument("--compare", default=None, help="a fresh model to show beside the bundled one")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    asyncio.run(shoot(args.output, (cols, rows), args.seed, args.cursor, args.compare))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
