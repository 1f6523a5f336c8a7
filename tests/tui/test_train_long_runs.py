"""The Train screen on long runs and resumed runs: bounded series, readable charts at 80x24 and 120x40, the progress line across a resume."""

from __future__ import annotations

import json
import os

import pytest
from textual.content import Content

from forgetnet_tui.series import MAX_BUCKETS
from forgetnet_tui.widgets.charts import CLIP_MARKER, LineChart

from .helpers import TINY, wait_for, write_run

STEPS = 20_000  # a line per step: bucketed (width 32), yet quick to write and read


def long_records(steps: int = STEPS) -> list[dict]:
    """A delta-rule model's log: aux-loss spike at step 1, erase strength logged, surprise null; held-out every 500 steps."""
    out = []
    for step in range(1, steps + 1):
        out.append(
            {
                "kind": "train",
                "step": step,
                "loss": 3.0 - step / steps,
                "answer_loss": 2.5 - step / steps + (1.5 if step == 12_345 else 0.0),
                "aux_loss": 40.0 if step == 1 else 0.5,
                "accuracy": 0.8 * step / steps + 0.0063,
                "write_strength": 0.4,
                "erase_strength": 0.2,
                "surprise": None,
                "steps_per_sec": 900.0 if step % 2 else 5.0,  # one line's value swings; the window's average is 50
                "elapsed": step / 50.0,
            }
        )
        if step % 500 == 0:
            out.append({"kind": "eval", "step": step, "eval_accuracy": 0.7 * step / steps + 0.0063})
    return out


def chart(app, name: str) -> LineChart:
    return app.screen.query_one(f"#chart-{name}", LineChart)


def legend(app, name: str) -> str:
    """The chart's legend (its border subtitle) as plain text."""
    return Content.from_markup(chart(app, name).border_subtitle or "").plain


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_long_run_draws_bounded_readable_charts(make_app, runs_dir, size):
    run = write_run(runs_dir, name="forgetnet_delta-changing_facts-20260101-000000", state="running", steps=2 * STEPS, records=long_records())
    app = make_app(screen="train")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: "20k" in str(chart(app, "loss").render()) and chart(app, "loss").border_subtitle, timeout=30, what="the whole run on the loss chart")
        feed = screen.feeds[run]
        loss = feed.series.curves["answer_loss"]
        assert loss.points == STEPS and MAX_BUCKETS // 2 <= len(loss) <= MAX_BUCKETS  # bounded, every line folded in once
        assert max(loss.hi) == pytest.approx(4.0 - 12_345 / STEPS)  # the one-step spike is kept

        for name in ("loss", "accuracy", "memory"):
            widget = chart(app, name)
            text = str(widget.render())
            assert widget.content_size.width >= 30 and widget.content_size.height >= 6, name
            assert "┤" in text and "|" not in text, name  # drawn, with no stray stroke columns
        assert legend(app, "loss") == f"━ answer loss  ━ aux loss {CLIP_MARKER}40"  # the step-1 spike is cut off, not the scale
        assert legend(app, "accuracy") == "━ train batch  ◆ held-out"
        assert legend(app, "memory") == "━ write strength  ━ erase strength"  # surprise is logged as null: no entry
        assert "%┤" in str(chart(app, "accuracy").render())

        progress = str(screen.query_one("#progress").render())
        assert f"step {STEPS}/{2 * STEPS}" in progress and "50.0 steps/s" in progress and "6:40 elapsed" in progress and "ETA 6:40" in progress
        details = str(screen.query_one("#details").render())
        assert "train acc 80.6%" in details and "held-out 70.6%" in details and "e-0" not in details  # one format, no 8.1e-01

        await pilot.press("s")
        await wait_for(pilot, lambda: chart(app, "loss").border_title == "loss · smoothed · linear", what="smoothed charts")
        await pilot.press("g")
        await wait_for(pilot, lambda: chart(app, "loss").border_title == "loss · smoothed · log", what="log loss")


def pace_lines(first: int, last: int, rate: float) -> list[str]:
    """Training lines at `rate` steps/s, elapsed counted from `first` (the trainer's start or restart)."""
    return [
        json.dumps({"kind": "train", "step": s, "loss": 1.0, "accuracy": 0.5, "steps_per_sec": rate, "elapsed": (s - first + 1) / rate}) + "\n"
        for s in range(first, last + 1)
    ]


async def test_progress_across_a_resume_and_device_until_status_has_one(make_app, runs_dir):
    run = write_run(runs_dir, state="running", steps=2000, records=[], config=TINY.replace(steps=2000, device="cpu"))
    status = {"state": "running", "pid": os.getpid(), "step": 100, "total_steps": 2000, "started": 1000.0, "updated": 1010.0}
    (run / "status.json").write_text(json.dumps(status))  # the trainer has not resolved its device yet
    (run / "metrics.jsonl").write_text("".join(pace_lines(1, 100, rate=10.0)))
    app = make_app(screen="train")
    async with app.run_test(size=(120, 40)) as pilot:
        progress = app.screen.query_one("#progress")
        await wait_for(pilot, lambda: "step 100/2000" in str(progress.render()), what="the first run")
        text = str(progress.render())
        assert "10.0 steps/s" in text and "0:10 elapsed" in text and text.rstrip().endswith("· cpu")  # config.json's device

        # Stopped, then resumed: the file is rewritten (a new inode) and the new lines' elapsed starts from 0 again.
        replacement = run / "metrics.new"
        replacement.write_text("".join(pace_lines(1, 100, rate=10.0) + pace_lines(101, 1000, rate=20.0)))
        replacement.replace(run / "metrics.jsonl")
        (run / "status.json").write_text(json.dumps({**status, "step": 1000, "device": "cuda:0"}))
        # Both files are read by the next poll (one poll may see the new metrics and still the old status).
        await wait_for(pilot, lambda: "step 1000/2000" in str(progress.render()) and str(progress.render()).rstrip().endswith("· cuda:0"),
                       what="the resumed run and its device")
        text = str(progress.render())
        # 10 s before the stop and 45 s after; steps/s over the last 30 s (the resumed run's 20), ETA 1,000 steps at 20/s.
        assert "20.0 steps/s" in text and "0:55 elapsed" in text and "ETA 0:50" in text and text.rstrip().endswith("· cuda:0")
        assert app.screen.feeds[run].series.curves["loss"].xs == list(range(1, 1001))  # read again from the start, once
