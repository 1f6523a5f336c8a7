"""The CPU thread policy: one thread a run unless --threads (or OMP_NUM_THREADS) says otherwise, set in the
process that computes, handed to child processes, and recorded with the run."""

import json

import pytest
import torch

from forgetnet_core import cli, runs
from forgetnet_core.config import TrainConfig
from forgetnet_core.device import run_device, run_threads, thread_env, use_threads
from forgetnet_core.train import train

TINY = dict(d_model=16, memory_slots=4, window=4, max_seq_len=64, seq_len=16, batch_size=2, eval_batches=1,
            eval_every=0, steps=2, device="cpu")
TINY_FLAGS = ["--steps", "2", "--batch-size", "2", "--seq-len", "16", "--eval-batches", "1", "--d-model", "16",
              "--memory-slots", "4", "--device", "cpu", "--quiet"]


@pytest.fixture(autouse=True)
def torch_threads_restored(monkeypatch):
    """Each test starts as a fresh process under torch's default would (2 threads, no OMP_NUM_THREADS)."""
    before = torch.get_num_threads()
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_the_policy_one_thread_unless_asked(monkeypatch):
    assert run_threads() == 1
    assert run_threads(3) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # OpenMP's nested form: the outer level counts
    assert run_threads() == 4 and run_threads(2) == 2  # --threads wins over the environment
    for junk in ("0", "lots", ""):
        monkeypatch.setenv("OMP_NUM_THREADS", junk)
        assert run_threads() == 1
    with pytest.raises(ValueError):
        run_threads(0)
    assert thread_env(3) == {"OMP_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}


def test_use_threads_sets_this_process():
    assert use_threads() == 1 and torch.get_num_threads() == 1
    assert run_device("cpu", 2).type == "cpu" and torch.get_num_threads() == 2


def test_train_uses_and_records_its_thread_count(tmp_path):
    run_dir = train(TrainConfig(**TINY), runs_dir=tmp_path / "lib")
    assert runs.read_status(run_dir)["threads"] == 1 and torch.get_num_threads() == 1
    assert cli.main(["train", *TINY_FLAGS, "--threads", "2", "--output-dir", str(tmp_path / "cli")]) == 0
    (run_dir,) = (tmp_path / "cli").iterdir()
    assert runs.read_status(run_dir)["threads"] == 2 and torch.get_num_threads() == 2
    assert cli.main(["train", "--resume", str(run_dir), "--steps", "3", "--quiet"]) == 0  # a resume applies the policy anew
    assert runs.read_status(run_dir)["threads"] == 1


def test_eval_uses_and_records_its_thread_count(tmp_path, capsys):
    argv = ["eval", "--task", "changing_facts", "--batches", "1", "--batch-size", "2", "--seq-len", "16", "--device", "cpu",
            "--output-dir", str(tmp_path)]
    assert cli.main([*argv, "--threads", "2"]) == 0
    assert torch.get_num_threads() == 2
    assert json.loads((next(tmp_path.glob("eval-*")) / "metrics.json").read_text())["config"]["threads"] == 2


def test_threads_must_be_a_positive_integer(capsys):
    for command in ("train", "eval", "sweep"):
        assert cli.main([command, "--threads", "0"]) == 2
        assert capsys.readouterr().err == "forgetnet: error: argument --threads: must be positive, got 0\n"
