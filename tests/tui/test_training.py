"""Launching, watching, stopping, resuming and deleting runs through the app (in-process launcher)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from forgetnet_core.config import TrainConfig
from forgetnet_core.runs import (
    append_metrics,
    read_status,
    write_json_atomic,
    write_status,
)
from forgetnet_tui.dialogs.confirm import ConfirmScreen
from forgetnet_tui.launchers import InProcessLauncher
from forgetnet_tui.screens.runs import RunsScreen
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.config_form import ConfigForm
from forgetnet_tui.widgets.progress import ProgressLine
from forgetnet_tui.widgets.runs_table import RunsTable

from .helpers import TINY, wait_for


def primary_step(app) -> int:
    screen = app.lab_screens.get("train")
    if screen is None or screen.primary is None:
        return 0
    last = screen.feeds[screen.primary].series.last_train
    return last["step"] if last else 0


async def test_launch_watch_and_stop_a_real_tiny_run(make_app, runs_dir, launcher):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.query_one(ConfigForm)
        form.load(TINY.replace(steps=5000, eval_every=50, checkpoint_every=0))
        await pilot.press("l")  # the table has focus; l launches the form's config
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen), what="the Train screen")
        await wait_for(pilot, lambda: primary_step(app) >= 2, timeout=30, what="the first steps")
        first = primary_step(app)
        await wait_for(pilot, lambda: primary_step(app) >= first + 5, what="the step count to advance")
        progress = str(app.screen.query_one(ProgressLine).render())
        assert "running" in progress and "/5000" in progress
        await wait_for(pilot, lambda: app.screen.redraws > 0, what="charts")

        await pilot.press("x")  # graceful stop: checkpoint, then `stopped`
        run = app.screen.primary
        await wait_for(pilot, lambda: (read_status(run) or {}).get("state") == "stopped", timeout=15, what="stopped")
        await wait_for(pilot, lambda: app.screen.feeds[run].state == "stopped", what="the screen to see it")
        assert (run / "checkpoint.pt").exists()
        stopped_at = read_status(run)["step"]
        assert 0 < stopped_at < 5000


def fake_train(steps_per_tick: int = 1, delay: float = 0.01):
    """A stand-in for train(): appends records until its stop event is set, like the trainer does."""

    def train(config: TrainConfig, runs_dir, run_dir, stop: threading.Event, resume: bool = False, on_event=None):
        run_dir = Path(run_dir)
        start = read_status(run_dir).get("step", 0) if resume else 0
        write_json_atomic(run_dir / "config.json", config.to_dict())
        write_status(run_dir, state="running", step=start, total_steps=config.steps, device="cpu")
        with open(run_dir / "metrics.jsonl", "a") as fh:
            step = start
            while step < config.steps:
                step += 1
                append_metrics(fh, {"kind": "train", "step": step, "loss": 1.0 / step, "accuracy": 0.5, "steps_per_sec": 100.0, "elapsed": step / 100})
                write_status(run_dir, step=step)
                if stop.is_set():
                    (run_dir / "checkpoint.pt").write_bytes(b"fake")
                    write_status(run_dir, state="stopped")
                    return run_dir
                time.sleep(delay)
        write_status(run_dir, state="finished")
        return run_dir

    return train


async def test_stop_resume_then_delete_with_confirmation(make_app, runs_dir):
    launcher = InProcessLauncher(train_fn=fake_train(delay=0.05))
    app = make_app(launcher=launcher)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            app.screen.query_one(ConfigForm).load(TINY.replace(steps=100000))
            await pilot.press("l")
            await wait_for(pilot, lambda: primary_step(app) >= 3, what="steps")
            run = app.lab_screens["train"].primary
            await pilot.press("1")
            table = app.screen.query_one(RunsTable)
            await wait_for(pilot, lambda: table.current_run is not None and table.current_run.state == "running", what="row")
            await pilot.press("d")  # refused while running: no dialog
            await pilot.pause()
            assert isinstance(app.screen, RunsScreen)

            await pilot.press("x")
            await wait_for(pilot, lambda: table.current_run.state == "stopped", what="stopped in the table")
            stopped_at = read_status(run)["step"]

            await pilot.press("r")  # resume continues from the checkpoint
            await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen), what="Train screen after resume")
            await wait_for(pilot, lambda: primary_step(app) > stopped_at + 2, what="steps after the resume")
            await pilot.press("x")
            await wait_for(pilot, lambda: (read_status(run) or {}).get("state") == "stopped", what="stopped again")

            await pilot.press("1")
            await wait_for(pilot, lambda: table.current_run.state == "stopped", what="table refresh")
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
            await pilot.press("n")  # no: nothing happens
            await wait_for(pilot, lambda: isinstance(app.screen, RunsScreen), what="the dialog to close")
            assert run.exists() and not [w for w in app.workers if w.group == "run-control" and not w.is_finished]
            await pilot.press("d")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
            await pilot.press("y")
            await wait_for(pilot, lambda: not run.exists(), what="deletion")
            await wait_for(pilot, lambda: table.row_count == 0, what="the row to go")
    finally:
        launcher.shutdown()


async def test_reopening_continues_a_running_run_from_the_file(make_app, runs_dir):
    """Quit and reopen while a run trains: it shows as running and the Train screen picks up where the file is."""
    launcher = InProcessLauncher(train_fn=fake_train(delay=0.02))
    try:
        run = launcher.launch(TINY.replace(steps=100000), runs_dir)
        first = make_app(launcher=InProcessLauncher(), screen="train")
        async with first.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: primary_step(first) >= 3, what="the running run on the Train screen")
        seen = primary_step(first)  # it keeps training while no app is open
        second = make_app(launcher=InProcessLauncher(), screen="train")
        async with second.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: primary_step(second) > seen, what="steps beyond the first session")
            screen = second.screen
            assert screen.primary == run and screen.feeds[run].state == "running"
            # Every record read exactly once: the curve has one point per step so far.
            curve = screen.feeds[run].series.curves["loss"]
            assert curve.xs == list(range(1, len(curve.xs) + 1))
    finally:
        launcher.shutdown()


def test_in_process_launcher_records_a_crash_as_failed(runs_dir):
    def broken(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    launcher = InProcessLauncher(train_fn=broken)
    run = launcher.launch(TINY, runs_dir)
    assert launcher.wait(run, timeout=5)
    status = read_status(run)
    assert status["state"] == "failed" and status["error"] == "RuntimeError: boom"
    assert json.loads((run / "config.json").read_text())["steps"] == TINY.steps
