"""Config validation and the run-directory helpers: status, metrics tailing (whole or in chunks), atomic checkpoints."""

import json

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


def test_metrics_tail_with_max_bytes_reads_in_chunks_what_one_read_gives(tmp_path):
    path = tmp_path / runs.METRICS_JSONL
    lines = [json.dumps({"kind": "train", "step": s, "loss": 1.0 / s}) for s in range(1, 301)]
    lines.insert(50, '{"kind": "train", "step": 3.5, "loss": ')  # torn
    lines.insert(90, "not json")
    lines.insert(120, "[1, 2]")  # JSON, but not an object
    path.write_text("\n".join(lines) + "\n" + '{"kind": "train", "st')  # a partial last line
    tail = runs.MetricsTail(path, max_bytes=1000)
    records, bad, calls, fractions = [], 0, 0, []
    while True:
        chunk, chunk_bad = tail.read_new()
        records += chunk
        bad += chunk_bad
        calls += 1
        fractions.append(tail.fraction_read)
        if not tail.more:
            break
    expected, expected_bad = runs.MetricsTail(path).read_new()
    assert calls > 10 and records == expected and bad == expected_bad == 3
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    with open(path, "a") as fh:
        fh.write('ep": 301, "loss": 0.5}\n')  # the writer finishes the line
    assert tail.read_new()[0] == [{"kind": "train", "step": 301, "loss": 0.5}]
    replacement = tmp_path / "new.jsonl"  # a resume rewrites the file
    replacement.write_text(json.dumps({"kind": "train", "step": 1, "loss": 2.0}) + "\n")
    replacement.replace(path)
    assert tail.read_new() == ([{"kind": "train", "step": 1, "loss": 2.0}], 0) and tail.reset
    with pytest.raises(ValueError):
        runs.MetricsTail(path, max_bytes=0)


def test_parse_lines_reads_a_chunk_at_once_and_falls_back_line_by_line():
    assert runs.parse_lines([b'{"a": 1}', b"  ", b'{"b": 2}']) == ([{"a": 1}, {"b": 2}], 0)
    assert runs.parse_lines([b'{"a": 1}, {"b": 2}', b'{"c": 3}']) == ([{"c": 3}], 1)  # two objects on a line: one bad line
    assert runs.parse_lines([b"\xff\xfe", b'{"c": 3}', "  {\"d\": 4} "]) == ([{"c": 3}, {"d": 4}], 1)


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
