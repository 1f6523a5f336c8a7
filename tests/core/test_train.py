"""The trainer: run files, held-out evaluation, stopping, failing, resuming exactly, and learning at all."""

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

import forgetnet_core.train as train_mod
from forgetnet_core import runs
from forgetnet_core.config import TrainConfig
from forgetnet_core.train import ResumeRefused, TrainingFailed, lr_at, train

TINY = dict(d_model=16, memory_slots=4, window=4, max_seq_len=64, seq_len=20, batch_size=4, eval_batches=1, device="cpu")


def tiny(**changes):
    return TrainConfig(**{**TINY, **changes})


def test_run_directory_has_every_file(tmp_path):
    events = []
    run_dir = train(tiny(steps=6, eval_every=3, checkpoint_every=2), runs_dir=tmp_path, on_event=events.append)
    assert run_dir.parent == tmp_path and run_dir.name.startswith("forgetnet-changing_facts-")
    records, bad = runs.read_metrics(run_dir)
    assert bad == 0
    train_lines = [r for r in records if r["kind"] == "train"]
    assert [r["step"] for r in train_lines] == [1, 2, 3, 4, 5, 6]
    for key in ("loss", "answer_loss", "aux_loss", "accuracy", "write_strength", "write_frequency", "surprise", "steps_per_sec"):
        assert all(isinstance(r[key], float) for r in train_lines), key
    assert all(abs(r["loss"] - (r["answer_loss"] + 0.1 * r["aux_loss"])) < 1e-4 for r in train_lines)
    assert [r["step"] for r in records if r["kind"] == "eval"] == [3, 6]
    status = runs.read_status(run_dir)
    assert status["state"] == "finished" and status["step"] == 6 and status["pid"] == os.getpid()
    original = json.loads((run_dir / "metrics.json").read_text())
    assert {"kind", "task", "model", "parameter_count", "device", "wall_time_seconds", "config", "history", "final"} <= set(original)
    assert original["final"]["eval_accuracy"] == records[-1]["eval_accuracy"]
    checkpoint = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 6 and checkpoint["config"]["d_model"] == 16
    assert events[-1]["kind"] == "finished"
    assert TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text())) == tiny(steps=6, eval_every=3, checkpoint_every=2)


def test_heldout_stream_is_not_the_training_stream(tmp_path):
    config = tiny(steps=3)
    seen = set()
    for index in range(config.steps):
        seed = train_mod.batch_seed(config.suite, "train", config.seed, index)
        batch = train_mod.make_batch(config.task, seed, config.seq_len, config.batch_size, config.suite)
        seen.update(tuple(row) for row in batch.input_ids.tolist())
    for batch in train_mod.heldout_batches(config, torch.device("cpu")):
        assert not seen & {tuple(row) for row in batch.input_ids.tolist()}


def _stop_at(step, event):
    def on_event(record):
        if record.get("kind") == "train" and record["step"] == step:
            event.set()

    return on_event


@pytest.mark.parametrize("model", ["forgetnet", "tiny_transformer"])
def test_resume_equals_uninterrupted(tmp_path, model):
    config = tiny(model=model, steps=8, eval_every=4, checkpoint_every=0)
    full = train(config, runs_dir=tmp_path / "full")
    stop = threading.Event()
    part = train(config, runs_dir=tmp_path / "part", stop=stop, on_event=_stop_at(3, stop))
    assert runs.read_status(part)["state"] == "stopped"
    assert torch.load(part / "checkpoint.pt", weights_only=True)["step"] == 3
    train(config, run_dir=part, resume=True)
    assert runs.read_status(part)["state"] == "finished"

    def curve(run_dir):
        records, _ = runs.read_metrics(run_dir)
        return [(r["kind"], r["step"], r.get("loss"), r.get("eval_accuracy"), r.get("eval_loss")) for r in records]

    assert curve(part) == curve(full)
    a = torch.load(full / "checkpoint.pt", weights_only=True)["model_state"]
    b = torch.load(part / "checkpoint.pt", weights_only=True)["model_state"]
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_non_finite_loss_fails_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    real = train_mod.compute_loss
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        calls["n"] += 1
        result = real(*args, **kwargs)
        if calls["n"] == 5:
            result.loss = result.loss * float("nan")
        return result

    monkeypatch.setattr(train_mod, "compute_loss", poisoned)
    events = []
    with pytest.raises(TrainingFailed, match="step 5"):
        train(tiny(steps=10, checkpoint_every=2, eval_every=0), runs_dir=tmp_path, on_event=events.append)
    (run_dir,) = tmp_path.iterdir()
    status = runs.read_status(run_dir)
    assert status["state"] == "failed" and "step 5" in status["error"]
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == 4
    assert events[-1]["kind"] == "failed"


def test_exception_marks_run_failed(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("out of memory, pretend")

    monkeypatch.setattr(train_mod, "compute_loss", boom)
    with pytest.raises(RuntimeError):
        train(tiny(steps=3), runs_dir=tmp_path)
    (run_dir,) = tmp_path.iterdir()
    status = runs.read_status(run_dir)
    assert status["state"] == "failed" and "out of memory" in status["error"]


def test_loss_falls(tmp_path):
    run_dir = train(tiny(steps=60, lr=3e-3, eval_every=0, task="associative_lookup"), runs_dir=tmp_path)
    losses = [r["aux_loss"] for r in runs.read_metrics(run_dir)[0] if r["kind"] == "train"]
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:10]) / 10


def test_warmup_and_cosine_schedule():
    config = TrainConfig(lr=1e-3, steps=100, warmup_steps=10, lr_decay="cosine")
    assert lr_at(config, 1) == pytest.approx(1e-4)
    assert lr_at(config, 10) == pytest.approx(1e-3)
    assert lr_at(config, 100) == pytest.approx(1e-4)
    assert all(lr_at(config, s) >= lr_at(config, s + 1) for s in range(10, 100))
    assert lr_at(TrainConfig(lr=2e-4), 57) == 2e-4


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_signal_stops_a_cli_run_gracefully(tmp_path, sig, code):
    """SIGTERM (the lab's stop) ends 0; Ctrl-C ends 130 as a shell expects; both checkpoint and say `stopped`."""
    cmd = [sys.executable, "-m", "forgetnet_core.cli", "train", "--steps", "100000", "--device", "cpu",
           "--seq-len", "16", "--batch-size", "2", "--eval-every", "0", "--checkpoint-every", "0",
           "--output-dir", str(tmp_path), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    metrics = None
    while time.time() < deadline:
        found = list(tmp_path.glob("*/metrics.jsonl"))
        if found and found[0].stat().st_size > 0:
            metrics = found[0]
            break
        time.sleep(0.1)  # polls a file the child writes; the test does not bet on a thread
    assert metrics is not None, proc.communicate(timeout=5)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    if code == 130:
        assert err.decode().strip().splitlines() == [f"forgetnet: interrupted (resume with: forgetnet train --resume {metrics.parent})"]
    run_dir = metrics.parent
    status = runs.read_status(run_dir)
    assert status["state"] == "stopped" and status["stopped_by"] == sig.name
    assert 0 < status["step"] < 100000
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == status["step"]
    assert math.isfinite(runs.read_metrics(run_dir)[0][-1]["loss"])


def _snapshot(run_dir):
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(run_dir.iterdir())}


def test_resuming_a_finished_run_says_so_and_changes_nothing(tmp_path):
    config = tiny(steps=3, eval_every=0)
    run_dir = train(config, runs_dir=tmp_path)
    before = _snapshot(run_dir)
    assert sum(r["kind"] == "eval" for r in runs.read_metrics(run_dir)[0]) == 1
    with pytest.raises(ResumeRefused, match="already finished at step 3 of 3"):
        train(config, run_dir=run_dir, resume=True)
    with pytest.raises(ResumeRefused, match="never shortens"):
        train(config.replace(steps=2), run_dir=run_dir, resume=True)
    for _ in range(2):  # the CLI, twice: one line, exit 2, and not a byte written
        proc = subprocess.run([sys.executable, "-m", "forgetnet_core.cli", "train", "--resume", str(run_dir)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert proc.stderr.splitlines() == [
            f"forgetnet: error: run already finished at step 3 of 3, nothing to resume (--steps N above 3 extends it): {run_dir}"
        ]
    assert _snapshot(run_dir) == before  # metrics.jsonl, status.json, config.json, checkpoint: byte-identical, untouched

    train(config.replace(steps=5), run_dir=run_dir, resume=True)  # a larger total still extends it
    records = runs.read_metrics(run_dir)[0]
    assert [r["step"] for r in records if r["kind"] == "train"] == [1, 2, 3, 4, 5]
    assert [r["step"] for r in records if r["kind"] == "eval"] == [3, 5]
    assert runs.read_status(run_dir)["state"] == "finished"
