"""Detached runs (launch.py): the thread count and environment a child is given."""

import pytest

import forgetnet_core.launch as launch
from forgetnet_core.config import TrainConfig
from forgetnet_core.runs import read_status

TINY = TrainConfig(steps=2, seq_len=16, batch_size=2, d_model=16, memory_slots=4, eval_batches=1, device="cpu")


class _Started:
    """A stand-in for the child process: records the command and environment it was started with."""

    seen: list = []

    def __init__(self, args, **kwargs):
        self.args, self.env, self.kwargs, self.pid = args, kwargs["env"], kwargs, 4242
        _Started.seen.append(self)

    def wait(self, timeout=None):
        return 0


@pytest.fixture
def started(monkeypatch):
    monkeypatch.setattr(launch.subprocess, "Popen", _Started)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    _Started.seen = []
    return _Started.seen


def test_a_detached_run_is_told_its_thread_count(tmp_path, started, monkeypatch):
    run_dir = launch.launch_detached(TINY, tmp_path)
    (child,) = started
    assert child.args[-4:] == ["--run-dir", str(run_dir), "--threads", "1"]
    assert child.env["OMP_NUM_THREADS"] == child.env["MKL_NUM_THREADS"] == "1"
    assert child.kwargs["start_new_session"] is True and read_status(run_dir)["pid"] == 4242

    launch.resume_detached(run_dir, steps=5, threads=2)
    assert started[-1].args[-5:] == [str(run_dir), "--steps", "5", "--threads", "2"]
    assert started[-1].env["OMP_NUM_THREADS"] == started[-1].env["MKL_NUM_THREADS"] == "2"

    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the lab started with OMP_NUM_THREADS=3: its runs use 3
    launch.launch_detached(TINY, tmp_path)
    assert started[-1].args[-2:] == ["--threads", "3"] and started[-1].env["MKL_NUM_THREADS"] == "3"
