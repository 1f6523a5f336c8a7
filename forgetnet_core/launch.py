"""Start training runs as detached processes that outlive the app (and the SSH session) that launched them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .config import TrainConfig
from .runs import CONFIG_FILE, OUTPUT_LOG, new_run_dir, write_json_atomic, write_status

# Imports nothing heavy: the TUI calls this on its UI thread.


def spawn_cli(
    args: list[str],
    run_dir: Path,
    detach: bool = True,
    env: dict[str, str] | None = None,
    module: str = "forgetnet_core.cli",
) -> subprocess.Popen:
    """Run `python -m MODULE ARGS` (the CLI by default) with its output appended to RUN_DIR/output.log.

    `detach` gives it its own session and process group, so no SIGHUP reaches
    it when the terminal (or SSH connection) goes; a sweep keeps its children
    attached so that Ctrl-C on the sweep stops them too.
    """
    log = open(run_dir / OUTPUT_LOG, "ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    finally:
        log.close()


def launch_detached(config: TrainConfig, runs_dir: str | Path = "runs", run_dir: str | Path | None = None) -> Path:
    """Create the run directory, start `forgetnet train --run-dir DIR` detached, and return DIR at once."""
    config.check()
    run_dir = Path(run_dir) if run_dir else new_run_dir(runs_dir, config.model, config.task)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / CONFIG_FILE, config.to_dict())
    proc = spawn_cli(["train", "--run-dir", str(run_dir)], run_dir)
    write_status(
        run_dir,
        state="running",
        pid=proc.pid,
        step=0,
        total_steps=config.steps,
        started=time.time(),
        error=None,
    )
    return run_dir


def resume_detached(run_dir: str | Path, steps: int | None = None) -> Path:
    """Continue a stopped (or stale) run in a detached process; `steps` may extend its total."""
    run_dir = Path(run_dir)
    args = ["train", "--resume", str(run_dir)]
    if steps is not None:
        args += ["--steps", str(steps)]
    proc = spawn_cli(args, run_dir)
    write_status(run_dir, state="running", pid=proc.pid, error=None)
    return run_dir
