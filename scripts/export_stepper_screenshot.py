"""Make screenshots/stepper.svg: the Stepper screen mid-overwrite, driven through the real app with the bundled model.

    .venv/bin/python scripts/export_stepper_screenshot.py                     # screenshots/stepper.svg
    .venv/bin/python scripts/export_stepper_screenshot.py --compare bundled:forgetnet --output screenshots/stepper-compare.svg
    .venv/bin/python scripts/export_stepper_screenshot.py --size 80x24 --output screenshots/stepper-80x24.svg
    .venv/bin/python scripts/export_stepper_screenshot.py --model bundled:forgetnet --seed 28 --cursor 16

By default it shows the stepper's default model (the bundled gated_delta_net)
on a changing_facts (v2) example at the moment an overwrite of the queried key
takes: the belief view marks the key's belief switching to its newest value
(``↻``) and the token strip says so. The example is the first seed (from 0)
where the model answers right, the queried key is overwritten at least twice,
and the newest value's record ends with the overwrite taking; among the first
40 such seeds, the one with the most keys known at that moment. The cursor
gets there with ``b`` (next belief change), as a user would. The screenshot is
made with App.save_screenshot, as the harlequin project does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCAN_SEEDS = 40  # seeds tried when --seed is not given


def source_for(spec: str | None):
    """A ModelSource from 'bundled:<model>', 'fresh:<model>' or a bare model name (fresh); None: the default."""
    from forgetnet_core.checkpoints import bundled_sources, default_source, fresh_source

    if not spec:
        return default_source()
    kind, _, model = spec.partition(":") if ":" in spec else ("fresh", "", spec)
    if kind == "bundled":
        found = [s for s in bundled_sources() if s.model == model]
        if not found:
            raise SystemExit(f"no bundled checkpoint of {model}")
        return found[0]
    return fresh_source(model)


def overwrite_moment(st) -> int | None:
    """The token where the queried key's newest value takes (a belief change 'overwrite' at its record's end)."""
    if st.beliefs is None or not st.verdict.right or len(st.meta.stale_values) < 2:
        return None
    q = st.meta.query_key
    ends = {e.t + 2 for e in st.events if e.kind == "latest"}
    hits = [c.t for c in st.beliefs.changes if c.key == q and c.kind == "overwrite" and c.t in ends]
    return hits[-1] if hits else None


def pick_example(source, task: str) -> tuple[int, int]:
    """(seed, cursor) of the example the screenshot shows (see the module docstring)."""
    from forgetnet_core.stepper import build_stepper_trace

    model, label = source.load("cpu")
    best: tuple[int, int, int] | None = None  # (keys known, -seed, cursor)
    for seed in range(SCAN_SEEDS):
        st = build_stepper_trace(model, task, seed, "v2", label=label)
        t = overwrite_moment(st)
        if t is not None:
            candidate = (len(st.view(t).beliefs), -seed, t)
            best = max(best, candidate) if best else candidate
    if best is None:
        raise SystemExit(f"no seed below {SCAN_SEEDS} shows an overwrite of the queried key taking; pass --seed")
    return -best[1], best[2]


async def shoot(output: Path, size: tuple[int, int], source, seed: int, cursor: int, compare) -> None:
    from forgetnet_tui.app import ForgetNetLab, StepperOptions
    from forgetnet_tui.screens.stepper import StepperScreen

    with tempfile.TemporaryDirectory() as tmp:
        options = StepperOptions(checkpoint=source.path if source.kind != "fresh" else None, seed=seed)
        app = ForgetNetLab(runs_dir=Path(tmp), screen="stepper", stepper=options, resolve_device=False)
        async with app.run_test(size=size) as pilot:
            for _ in range(400):
                if isinstance(app.screen, StepperScreen) and app.screen.trace is not None:
                    break
                await pilot.pause(0.05)
            screen = app.screen
            if source.kind == "fresh":
                screen.set_model(source)
                for _ in range(400):
                    if screen.trace is not None and screen.trace.model_name == source.model:
                        break
                    await pilot.pause(0.05)
            if compare is not None:
                screen.set_compare(compare)
                for _ in range(400):
                    if screen.compare_trace is not None:
                        break
                    await pilot.pause(0.05)
            st = screen.trace
            while screen.cursor < cursor:  # walk there the way a user would: b to each change of belief, then arrows
                following = st.beliefs.next_change(screen.cursor) if st.beliefs is not None else None
                await pilot.press("b" if following is not None and following <= cursor else "right")
            await pilot.pause(0.3)
            output.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(filename=output.name, path=str(output.parent))
            changes = "; ".join(c.text for c in st.beliefs.changes_at(screen.cursor)) if st.beliefs else ""
            print(f"wrote {output} ({st.model_label}, seed {seed}, t={screen.cursor}: {changes or st.names[screen.cursor]})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "screenshots" / "stepper.svg")
    parser.add_argument("--size", default="120x40", help="COLSxROWS")
    parser.add_argument("--model", default=None, help="bundled:<model> or a fresh model's name (default: the stepper's default)")
    parser.add_argument("--seed", type=int, default=None, help="example seed (default: picked, see the docstring)")
    parser.add_argument("--cursor", type=int, default=None, help="token to stop at (default: where the overwrite takes)")
    parser.add_argument("--compare", default=None, help="a second model beside it: bundled:<model> or a fresh model's name")
    args = parser.parse_args()
    cols, rows = (int(x) for x in args.size.lower().split("x"))
    source = source_for(args.model)
    seed, cursor = args.seed, args.cursor
    if seed is None:
        seed, picked = pick_example(source, "changing_facts")
        cursor = picked if cursor is None else cursor
    elif cursor is None:
        from forgetnet_core.stepper import build_stepper_trace

        model, label = source.load("cpu")
        st = build_stepper_trace(model, "changing_facts", seed, "v2", label=label)
        cursor = overwrite_moment(st) or next(e.t for e in st.events if e.kind == "latest") + 2
    compare = source_for(args.compare) if args.compare else None
    asyncio.run(shoot(args.output, (cols, rows), source, seed, cursor, compare))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
