"""The one end-to-end test with a real detached training process (the app's default launcher)."""

from __future__ import annotations

import os

import pytest

from forgetnet_core.runs import read_status
from forgetnet_tui.launchers import DetachedLauncher
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.config_form import ConfigForm

from .helpers import TINY, wait_for


@pytest.mark.slow
async def test_launch_a_detached_run_that_outlives_the_app(make_app, runs_dir):
    app = make_app(launcher=DetachedLauncher())
    async with app.run_test(size=(100, 30)) as pilot:
        app.screen.query_one(ConfigForm).load(TINY.replace(steps=20))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen) and app.screen.primary is not None, what="the run")
        run = app.screen.primary
        pid = read_status(run)["pid"]
        # Its own session and process group: closing the terminal (SIGHUP to ours) does not reach it.
        assert pid != os.getpid() and os.getsid(pid) != os.getsid(0) and os.getpgid(pid) != os.getpgid(0)
    # The app has quit; the run trains on and finishes by itself.
    reopened = make_app(screen="train")
    async with reopened.run_test(size=(100, 30)) as pilot:
        screen = reopened.screen
        await wait_for(pilot, lambda: screen.primary == run and screen.feeds[run].state == "finished", timeout=60, what="finished")
        await wait_for(pilot, lambda: screen.feeds[run].series.last_train is not None and screen.feeds[run].series.last_train["step"] == 20, what="step 20")
        assert "20/20" in str(screen.query_one("#progress").render())
    assert (run / "output.log").exists() and (run / "checkpoint.pt").exists()
