"""Config validation and the run-directory helpers: status, metrics tailing, atomic checkpoints, listing."""

import json
import os
import subprocess
import sys

import pytest
import torch

from forgetnet_core import runs
from forgetnet_core.config import ConfigError, TrainConfig, parse_field


def test_defaults_are_valid_and_roundtrip():
    config = TrainConfig()
    assert config.validate() == []
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"model": "gpt5"}, "model"),
        ({"task": "sorting"}, "task"),
        ({"suite": "v3"}, "suite"),
        ({"steps": 0}, "steps"),
        ({"batch_size": -1}, "batch_size"),
        ({"memory_slots": 0}, "memory_slots"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"seq_len": 13}, "seq_len"),
        ({"seq_len": 600}, "seq_len"),
        ({"task": "length_extrapolation", "seq_len": 200}, "seq_len"),
        ({"device": "tpu"}, "device"),
        ({"aux_weight": -0.1}, "aux_weight"),
        ({"model": "tiny_transformer", "d_model": 66}, "d_model"),
    ],
)
def test_invalid_values_name_their_field(changes, field):
    errors = TrainConfig(**changes).validate()
    assert [e.field for e in errors] == [field]
    with pytest.raises(ConfigError) as info:
        TrainConfig(**changes).check()
    assert "\n" not in str(info.value) and field in str(info.value)


def test_parse_field_types():
    assert parse_field("steps", " 12 ") == 12
    assert parse_field("lr", "1e-3") == pytest.approx(1e-3)
    assert parse_field("model", "fifo_memory") == "fifo_memory"
    with pytest.raises(ValueError, match="steps"):
        parse_field("steps", "ten")
    with pytest.raises(ValueError):
        parse_field("nope", "1")


def test_metrics_tail_reads_only_appended_bytes_and_skips_bad_lines(tmp_path):
    path = tmp_path / runs.METRICS_JSONL
    tail = runs.MetricsTail(path)
    assert tail.read_new() == ([], 0)  # missing file is not an error
    with open(path, "w") as fh:
        fh.write('{"kind": "train", "step": 1}\n{"kind": "train", "st')
    records, bad = tail.read_new()
    assert [r["step"] for r in records] == [1] and bad == 0  # the half line waits
    first_offset = tail.offset
    with open(path, "a") as fh:
        fh.write('ep": 2}\nnot json\n{"kind": "eval", "step": 2}\n')
    records, bad = tail.read_new()
    assert [r["step"] for r in records] == [2, 2] and bad == 1
    assert tail.offset > first_offset and tail.bad_lines == 1
    assert tail.read_new() == ([], 0)
    path.write_text('{"kind": "train", "step": 1}\n')  # truncated by a resume
    records, _ = tail.read_new()
    assert tail.reset and [r["step"] for r in records] == [1]


def test_metrics_tail_notices_a_replaced_file_that_grew(tmp_path):
    path = tmp_path / runs.METRICS_JSONL
    path.write_text('{"kind": "train", "step": 1}\n{"kind": "train", "step": 2}\n')
    tail = runs.MetricsTail(path)
    assert [r["step"] for r in tail.read_new()[0]] == [1, 2]
    runs.truncate_metrics_after(tmp_path, 1)  # what a resume does: rewrite through a rename
    with open(path, "a") as fh:
        fh.write('{"kind": "train", "step": 2, "loss": 0.5}\n{"kind": "train", "step": 3}\n')
    records, _ = tail.read_new()
    assert tail.reset and [r["step"] for r in records] == [1, 2, 3]


def test_checkpoint_is_atomic_and_weights_only(tmp_path):
    path = tmp_path / "checkpoint.pt"
    runs.save_checkpoint(path, {"config": {"model": "forgetnet"}, "model_state": {"w": torch.ones(2)}, "step": 3})
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no temp file left behind
    data = runs.load_checkpoint(path)
    assert data["step"] == 3 and torch.equal(data["model_state"]["w"], torch.ones(2))
    assert runs.load_checkpoint(tmp_path)["step"] == 3  # a run directory works too


def test_bad_checkpoints_give_one_line_errors(tmp_path):
    with pytest.raises(runs.CheckpointError, match="not found"):
        runs.load_checkpoint(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"this is not a zip file")
    with pytest.raises(runs.CheckpointError) as info:
        runs.load_checkpoint(corrupt)
    assert str(info.value) == f"not a checkpoint (corrupt or truncated): {corrupt}"
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(1)}, other)
    with pytest.raises(runs.CheckpointError, match="not a forgetnet checkpoint"):
        runs.load_checkpoint(other)


def test_list_runs_marks_dead_running_runs_stale(tmp_path):
    done = runs.new_run_dir(tmp_path, "forgetnet", "changing_facts")
    runs.write_json_atomic(done / runs.CONFIG_FILE, TrainConfig(steps=10).to_dict())
    runs.write_status(done, state="finished", pid=os.getpid(), step=10, total_steps=10, started=1.0)
    (done / runs.METRICS_JSONL).write_text(
        '{"kind": "train", "step": 10, "loss": 1.5}\n{"kind": "eval", "step": 5, "eval_accuracy": 0.4}\n'
        '{"kind": "eval", "step": 10, "eval_accuracy": 0.3}\n'
    )
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = runs.new_run_dir(tmp_path, "fifo_memory", "multi_hop")
    runs.write_json_atomic(dead / runs.CONFIG_FILE, TrainConfig(model="fifo_memory", task="multi_hop").to_dict())
    runs.write_status(dead, state="running", pid=proc.pid, step=3, total_steps=500, started=2.0)
    live = runs.new_run_dir(tmp_path, "no_forget", "multi_hop")
    runs.write_json_atomic(live / runs.CONFIG_FILE, TrainConfig(model="no_forget").to_dict())
    runs.write_status(live, state="running", pid=os.getpid(), step=1, total_steps=500, started=3.0)
    queued = runs.new_run_dir(tmp_path, "random_write", "multi_hop")
    runs.write_json_atomic(queued / runs.CONFIG_FILE, TrainConfig(model="random_write").to_dict())
    infos = {i.model: i for i in runs.list_runs(tmp_path)}
    assert infos["random_write"].state == "pending"
    assert infos["forgetnet"].state == "finished"
    assert infos["forgetnet"].last_loss == 1.5 and infos["forgetnet"].best_eval_accuracy == 0.4
    assert infos["fifo_memory"].state == "stale"
    assert infos["no_forget"].state == "running"
    assert [i.model for i in runs.list_runs(tmp_path)][:3] == ["no_forget", "fifo_memory", "forgetnet"]


def test_new_run_dir_never_reuses_a_name(tmp_path):
    a = runs.new_run_dir(tmp_path, "m", "t")
    b = runs.new_run_dir(tmp_path, "m", "t")
    assert a != b and a.is_dir() and b.is_dir()


def test_make_folder_says_what_is_in_the_way(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert runs.make_folder(tmp_path / "new" / "deep") == tmp_path / "new" / "deep" and (tmp_path / "new" / "deep").is_dir()
    with pytest.raises(runs.FolderError) as info:
        runs.make_folder(a_file)
    assert str(info.value) == f"not a folder (a file is in the way): {a_file}"
    with pytest.raises(runs.FolderError, match=r"cannot create folder \(Not a directory\)"):
        runs.new_run_dir(a_file / "runs", "forgetnet", "changing_facts")
    assert a_file.read_text() == "x"
