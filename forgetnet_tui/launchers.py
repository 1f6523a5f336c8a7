"""Ways to start, resume and stop runs: detached processes (the app's default) or threads (tests, benchmarks)."""

from __future__ import annotations

import os
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Protocol

from forgetnet_core.config import TrainConfig, load_config
from forgetnet_core.runs import (
    CONFIG_FILE,
    new_run_dir,
    read_status,
    request_stop,
    write_json_atomic,
    write_status,
)


class Launcher(Protocol):
    """What the app needs to control runs. Every method may block briefly; the app calls them from a worker thread."""

    def launch(self, config: TrainConfig, runs_dir: Path) -> Path:
        """Start a new run of `config` under `runs_dir`; return its directory once it exists."""
        ...

    def resume(self, run_dir: Path) -> Path:
        """Continue a stopped run from its checkpoint; return its directory."""
        ...

    def stop(self, run_dir: Path) -> bool:
        """Ask a running run to checkpoint and end `stopped`; False when it is not running."""
        ...


class DetachedLauncher:
    """Runs as their own processes and sessions (`forgetnet train`), so they outlive the app and the SSH connection.

    Each run uses `threads` CPU threads (None: the policy of forgetnet_core.device.run_threads, 1 unless
    OMP_NUM_THREADS says otherwise), and a finished run is reaped, never left a zombie under the app.
    """

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def launch(self, config: TrainConfig, runs_dir: Path) -> Path:
        from forgetnet_core.launch import launch_detached

        return launch_detached(config, runs_dir, threads=self.threads)

    def resume(self, run_dir: Path) -> Path:
        from forgetnet_core.launch import resume_detached

        return resume_detached(run_dir, threads=self.threads)

    def stop(self, run_dir: Path) -> bool:
        status = read_status(run_dir) or {}
        if status.get("pid") == os.getpid():  # a run trained inside this very process: never SIGTERM ourselves
            return False
        return request_stop(run_dir)


TrainFn = Callable[..., Path]


class InProcessLauncher:
    """Runs `train()` in a daemon thread of this process and stops it through a threading.Event.

    For tests and benchmarks: no process start-up, and `train_fn` can be a fake
    with train()'s signature. `shutdown()` stops every run and waits for them.
    """

    def __init__(self, train_fn: TrainFn | None = None):
        self._train_fn = train_fn
        self._runs: dict[Path, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()
        self.errors: dict[Path, str] = {}

    def _train(self) -> TrainFn:
        if self._train_fn is None:
            from forgetnet_core.train import (
                train,  # imports torch: only ever called from a worker thread
            )

            self._train_fn = train
        return self._train_fn

    def launch(self, config: TrainConfig, runs_dir: Path) -> Path:
        config.check()
        run_dir = new_run_dir(runs_dir, config.model, config.task)
        write_json_atomic(run_dir / CONFIG_FILE, config.to_dict())
        write_status(
            run_dir,
            state="running",
            pid=os.getpid(),
            step=0,
            total_steps=config.steps,
            started=time.time(),
            error=None,
        )
        self._start(run_dir, config, resume=False)
        return run_dir

    def resume(self, run_dir: Path) -> Path:
        run_dir = Path(run_dir)
        config = load_config(run_dir / CONFIG_FILE)
        write_status(run_dir, state="running", pid=os.getpid(), error=None)
        self._start(run_dir, config, resume=True)
        return run_dir

    def stop(self, run_dir: Path) -> bool:
        with self._lock:
            entry = self._runs.get(Path(run_dir))
        if entry is None or not entry[0].is_alive():
            return False
        entry[1].set()
        return True

    def wait(self, run_dir: Path, timeout: float | None = None) -> bool:
        """Block until the run's thread ends; True if it has."""
        with self._lock:
            entry = self._runs.get(Path(run_dir))
        if entry is None:
            return True
        entry[0].join(timeout)
        return not entry[0].is_alive()

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop every run this launcher started and wait for their threads."""
        with self._lock:
            entries = list(self._runs.values())
        for _thread, event in entries:
            event.set()
        deadline = time.monotonic() + timeout
        for thread, _event in entries:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _start(self, run_dir: Path, config: TrainConfig, resume: bool) -> None:
        event = threading.Event()
        train = self._train()
        thread = threading.Thread(
            target=self._run,
            args=(train, run_dir, config, event, resume),
            name=f"train-{run_dir.name}",
            daemon=True,
        )
        with self._lock:
            self._runs[run_dir] = (thread, event)
        thread.start()

    def _run(self, train: TrainFn, run_dir: Path, config: TrainConfig, event: threading.Event, resume: bool) -> None:
        try:
            train(config, runs_dir=run_dir.parent, run_dir=run_dir, stop=event, resume=resume)
        except BaseException as exc:  # noqa: BLE001 - the run's status file is how the app learns of it
            self.errors[run_dir] = traceback.format_exc()
            status: dict[str, Any] = read_status(run_dir) or {}
            if status.get("state") != "failed":
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                write_status(run_dir, state="failed", error=f"{type(exc).__name__}: {message}")
