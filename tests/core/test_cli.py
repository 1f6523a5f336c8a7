"""The headless CLI: every bad input is one line and exit 2; train/eval/plot/demo work end to end."""

import json
import subprocess
import sys

import pytest
import torch

from forgetnet_core import cli, runs
from forgetnet_core.config import TrainConfig
from forgetnet_core.train import train


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["train", "--model", "gpt"], "unknown model 'gpt'"),
        (["train", "--task", "sorting"], "unknown task 'sorting'"),
        (["eval", "--task", "sorting"], "unknown task 'sorting'"),
        (["train", "--seq-len", "13"], "at least 14"),
        (["train", "--seq-len", "513"], "max_seq_len"),
        (["train", "--task", "length_extrapolation", "--seq-len", "200"], "max_seq_len"),
        (["eval", "--seq-len", "300"], "max_seq_len"),
        (["train", "--steps", "0"], "--steps"),
        (["train", "--steps", "ten"], "--steps"),
        (["train", "--batch-size", "-1"], "--batch-size"),
        (["train", "--memory-slots", "0"], "--memory-slots"),
        (["train", "--lr", "0"], "--lr"),
        (["train", "--lr", "-1e-3"], "--lr"),
        (["train", "--device", "tpu"], "unknown device"),
        (["eval", "--checkpoint", "/no/such/checkpoint.pt"], "not found"),
        (["demo", "--checkpoint", "/no/such/checkpoint.pt"], "not found"),
        (["train", "--resume", "/no/such/run"], "not a run directory"),
        (["plot", "--runs", "/no/such/runs"], "no evaluation results"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, argv, needle):
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("forgetnet: error: ")
    assert needle in err
    assert "Traceback" not in err


def test_unavailable_devices_are_one_line_errors(capsys):
    if not torch.cuda.is_available():
        code, _, err = run_cli(capsys, "train", "--device", "cuda", "--steps", "1")
        assert code == 2 and "not available" in err and err.count("\n") == 1
    mps = getattr(torch.backends, "mps", None)
    if mps is None or not mps.is_available():
        code, _, err = run_cli(capsys, "eval", "--device", "mps")
        assert code == 2 and "'mps' is not available" in err


def test_corrupt_and_incompatible_checkpoints(capsys, tmp_path):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00garbage")
    code, _, err = run_cli(capsys, "eval", "--checkpoint", str(corrupt))
    assert code == 2 and "cannot read checkpoint" in err and err.count("\n") == 1
    wrong = tmp_path / "wrong.pt"
    runs.save_checkpoint(wrong, {"config": {"model": "forgetnet", "d_model": 64}, "model_state": {"nope": torch.zeros(1)}, "step": 1})
    code, _, err = run_cli(capsys, "eval", "--checkpoint", str(wrong))
    assert code == 2 and "does not fit model 'forgetnet'" in err and err.count("\n") == 1
    unknown = tmp_path / "unknown.pt"
    runs.save_checkpoint(unknown, {"config": {"model": "gpt"}, "model_state": {}, "step": 1})
    code, _, err = run_cli(capsys, "eval", "--checkpoint", str(unknown))
    assert code == 2 and "unknown model 'gpt'" in err


def test_no_traceback_from_a_real_process(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "forgetnet_core.cli", "train", "--seq-len", "5"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["forgetnet: error: --seq-len must be at least 14, got 5"]


def test_train_eval_plot_end_to_end(capsys, tmp_path):
    runs_dir, results = tmp_path / "runs", tmp_path / "results"
    code, out, _ = run_cli(
        capsys, "train", "--steps", "2", "--batch-size", "2", "--seq-len", "16", "--eval-batches", "1",
        "--d-model", "16", "--memory-slots", "4", "--device", "cpu", "--output-dir", str(runs_dir), "--quiet",
    )
    assert code == 0
    (run_dir,) = runs_dir.iterdir()
    assert out.strip().endswith(run_dir.name)
    code, out, _ = run_cli(
        capsys, "eval", "--checkpoint", str(run_dir / "checkpoint.pt"), "--task", "changing_facts,multi_hop",
        "--batches", "1", "--batch-size", "4", "--seq-len", "16", "--device", "cpu", "--output-dir", str(runs_dir),
    )
    assert code == 0, out
    (eval_dir,) = runs_dir.glob("eval-*")
    data = json.loads((eval_dir / "metrics.json").read_text())
    assert data["kind"] == "eval" and data["model"] == "forgetnet" and data["parameter_count"] > 0
    assert set(data["tasks"]) == {"changing_facts", "multi_hop"}
    for result in data["tasks"].values():
        assert result["examples"] == 4 and 0 <= result["ci_low"] <= result["accuracy"] <= result["ci_high"] <= 1
    assert data["tasks"]["changing_facts"]["stale_rate"] is not None
    code, out, _ = run_cli(capsys, "eval", "--model", "fifo_memory", "--task", "length_extrapolation",
                           "--batches", "1", "--batch-size", "2", "--seq-len", "16", "--device", "cpu", "--output-dir", str(runs_dir))
    assert code == 0 and "len=48" in out
    code, out, _ = run_cli(capsys, "plot", "--runs", str(runs_dir), "--output-dir", str(results))
    assert code == 0
    assert (results / "accuracy_by_task.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    plot = json.loads((results / "plot_data.json").read_text())
    assert len(plot["series"]) == 2 and plot["series"][0]["accuracy"]["changing_facts"] == data["tasks"]["changing_facts"]["accuracy"]


def test_resume_from_cli_extends_a_stopped_run(capsys, tmp_path):
    import threading

    stop = threading.Event()
    stop.set()  # stops after the first step
    config = TrainConfig(steps=4, seq_len=16, batch_size=2, d_model=16, memory_slots=4, eval_batches=1, device="cpu")
    run_dir = train(config, runs_dir=tmp_path, stop=stop)
    assert runs.read_status(run_dir)["state"] == "stopped"
    code, _, err = run_cli(capsys, "train", "--resume", str(run_dir), "--quiet")
    assert code == 0, err
    status = runs.read_status(run_dir)
    assert status["state"] == "finished" and status["step"] == 4
    steps = [r["step"] for r in runs.read_metrics(run_dir)[0] if r["kind"] == "train"]
    assert steps == [1, 2, 3, 4]


def test_demo_tells_the_story(capsys):
    code, out, _ = run_cli(capsys, "demo", "--model", "forgetnet", "--seq-len", "32", "--seed", "3")
    assert code == 0
    lines = out.splitlines()
    assert "read" in lines[2] and "surprise" in lines[2]
    assert sum(1 for l in lines if l[:3].strip().isdigit()) == 32
    assert "QUERY" in out and "label" in out and ("right" in out or "wrong" in out)
    code, out, _ = run_cli(capsys, "demo", "--model", "local_transformer", "--seq-len", "20")
    assert code == 0 and "no memory bank" in out
