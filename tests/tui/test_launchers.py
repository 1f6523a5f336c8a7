"""The lab's launchers: a detached run gets the thread policy, and is reaped (no zombie) when it ends."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from forgetnet_core.runs import read_status
from forgetnet_tui.launchers import DetachedLauncher

from .helpers import TINY


def _proc_state(pid: int) -> str | None:
    """The process's state letter from /proc (Z for a zombie), or None once it is gone (reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states from /proc (Linux)")
def test_a_finished_detached_run_is_reaped_not_left_a_zombie(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    run_dir = DetachedLauncher().launch(TINY.replace(steps=2, eval_every=0, checkpoint_every=0, device="cpu"), tmp_path)
    pid = read_status(run_dir)["pid"]
    deadline = time.monotonic() + 120
    while read_status(run_dir).get("state") != "finished" and time.monotonic() < deadline:
        time.sleep(0.1)
    status = read_status(run_dir)
    assert status["state"] == "finished", (run_dir / "output.log").read_text()
    assert status["pid"] == pid and status["threads"] == 1  # one thread, as the policy says, recorded by the run
    deadline = time.monotonic() + 30  # the child exits just after writing `finished`; then it must be reaped
    while _proc_state(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _proc_state(pid) is None, f"pid {pid} is still there in state {_proc_state(pid)} (Z: a zombie)"
    with pytest.raises(ChildProcessError):  # already waited for: nothing of it is left to collect
        os.waitpid(pid, os.WNOHANG)


def test_the_lab_can_give_its_runs_a_thread_count(tmp_path, monkeypatch):
    import forgetnet_core.launch as launch

    seen = []

    class Started:
        def __init__(self, args, **kwargs):
            self.pid = 4242
            seen.append((args, kwargs["env"]))

        def wait(self, timeout=None):
            return 0

    monkeypatch.setattr(launch.subprocess, "Popen", Started)
    run_dir = DetachedLauncher(threads=2).launch(TINY, tmp_path)
    DetachedLauncher(threads=2).resume(run_dir)
    assert [args[-2:] for args, _ in seen] == [["--threads", "2"]] * 2
    assert all(env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "2" for _, env in seen)
