"""Start training runs as detached processes that outlive the app (and the SSH session) that launched them,
and turn SIGINT/SIGTERM into a graceful stop (SignalStop: train, the sweep drivers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .config import TrainConfig
from .device import run_threads, thread_env
from .runs import CONFIG_FILE, OUTPUT_LOG, new_run_dir, write_json_atomic, write_status

# Imports nothing heavy: the TUI calls this on its UI thread.


class SignalStop:
    """While running in the main thread, turn SIGINT/SIGTERM into a graceful stop request (`stop.set()`).

    A context manager: the previous handlers come back on exit; `received` names the signal that arrived."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.previous: dict[int, Any] = {}
        self.received: str | None = None  # "SIGINT" or "SIGTERM" once one arrived

    def __enter__(self) -> "SignalStop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):  # noqa: ARG002
        self.received = signal.Signals(signum).name
        self.stop.set()

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def spawn_cli(
    args: list[str],
    run_dir: Path,
    detach: bool = True,
    env: dict[str, str] | None = None,
    module: str = "forgetnet_core.cli",
) -> subprocess.Popen:
    """Run `python -m MODULE ARGS` (the CLI by default) with its output appended to RUN_DIR/output.log.

    `detach` gives it its own session and process group, so no SIGHUP reaches
    it when the terminal (or SSH connection) goes, and a daemon thread waits
    for it, so that when it ends it does not linger as a zombie (<defunct>)
    under a long-lived parent such as the lab; a sweep keeps its children
    attached (Ctrl-C on the sweep stops them too) and waits for them itself.
    The child gets the thread policy's OMP_NUM_THREADS/MKL_NUM_THREADS
    (device.thread_env) unless `env` says otherwise.
    """
    log = open(run_dir / OUTPUT_LOG, "ab")
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            close_fds=True,
            env={**os.environ, **thread_env(), "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    finally:
        log.close()
    if detach:
        threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc


def _train_args(threads: int | None) -> tuple[list[str], dict[str, str]]:
    """The --threads flag and environment of a detached run: the policy's count, said explicitly to the child."""
    count = run_threads(threads)
    return ["--threads", str(count)], thread_env(count)


def launch_detached(
    config: TrainConfig, runs_dir: str | Path = "runs", run_dir: str | Path | None = None, threads: int | None = None
) -> Path:
    """Create the run directory, start `forgetnet train --run-dir DIR` detached, and return DIR at once.

    `threads`: the run's CPU threads (device.run_threads: 1 unless asked).
    """
    config.check()
    run_dir = Path(run_dir) if run_dir else new_run_dir(runs_dir, config.model, config.task)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / CONFIG_FILE, config.to_dict())
    flags, env = _train_args(threads)
    proc = spawn_cli(["train", "--run-dir", str(run_dir), *flags], run_dir, env=env)
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


def resume_detached(run_dir: str | Path, steps: int | None = None, threads: int | None = None) -> Path:
    """Continue a stopped (or stale) run in a detached process; `steps` may extend its total."""
    run_dir = Path(run_dir)
    args = ["train", "--resume", str(run_dir)]
    if steps is not None:
        args += ["--steps", str(steps)]
    flags, env = _train_args(threads)
    proc = spawn_cli([*args, *flags], run_dir, env=env)
    write_status(run_dir, state="running", pid=proc.pid, error=None)
    return run_dir
