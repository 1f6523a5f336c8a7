"""The headless CLI: every bad input is one line and exit 2; train/eval/plot/demo work end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

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
    assert code == 2 and "not a checkpoint (corrupt or truncated)" in err and err.count("\n") == 1
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
    assert "QUERY" in out and "label" in out and ("RIGHT" in out or "WRONG" in out)
    assert "belief changes" in out
    code, out, _ = run_cli(capsys, "demo", "--model", "local_transformer", "--seq-len", "20")
    assert code == 0 and "keeps no memory" in out
    code, out, _ = run_cli(capsys, "demo", "--model", "delta_net", "--seq-len", "32", "--seed", "3")
    assert code == 0 and "write β" in out.splitlines()[2] and "forget" in out.splitlines()[2]


# --------------------------------------------------------------------------- faults in a real process: one line, exit 2


def real_cli(*argv, cwd=None):
    return subprocess.run([sys.executable, "-m", "forgetnet_core.cli", *map(str, argv)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def assert_one_line_error(proc, expected):
    """Exit 2 and stderr exactly one line: `forgetnet: error: ...` containing `expected` (the whole line when it
    starts with 'forgetnet:')."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and proc.stderr.endswith("\n"), proc.stderr
    if expected.startswith("forgetnet:"):
        assert lines[0] == expected
    else:
        assert lines[0].startswith("forgetnet: error: ") and expected in lines[0], lines[0]


TINY_TRAIN = ["--steps", "1", "--batch-size", "2", "--seq-len", "16", "--eval-batches", "1", "--d-model", "16",
              "--memory-slots", "4", "--device", "cpu", "--quiet"]
TINY_EVAL = ["--task", "changing_facts", "--batches", "1", "--batch-size", "2", "--seq-len", "16", "--device", "cpu"]


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    """A runs folder holding one `forgetnet eval` result, so `plot` gets as far as writing."""
    root = tmp_path_factory.mktemp("evaluated")
    assert cli.main(["eval", "--model", "forgetnet", *TINY_EVAL, "--output-dir", str(root)]) == 0
    return root


def test_output_dirs_that_are_files_are_one_line(tmp_path, evaluated):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me\n")
    assert_one_line_error(real_cli("train", *TINY_TRAIN, "--output-dir", a_file),
                          f"forgetnet: error: not a folder (a file is in the way): {a_file}")
    assert_one_line_error(real_cli("train", *TINY_TRAIN, "--output-dir", a_file / "runs"),
                          f"forgetnet: error: cannot create folder (Not a directory): {a_file / 'runs'}")
    assert_one_line_error(real_cli("plot", "--runs", evaluated, "--output-dir", a_file), "not a folder")
    assert_one_line_error(real_cli("plot", "--runs", evaluated, "--output-dir", a_file / "results"), "cannot create folder")
    assert_one_line_error(real_cli("eval", "--model", "forgetnet", *TINY_EVAL, "--output-dir", a_file), "not a folder")
    assert a_file.read_text() == "keep me\n" and sorted(os.listdir(tmp_path)) == ["notes.txt"]  # nothing lost, nothing left


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders (chmod does not stop it); "
                    "test_read_only_folders_as_a_user_would_see_them covers this by monkeypatching")
def test_read_only_output_dirs_are_one_line(tmp_path, evaluated):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    read_only.chmod(0o555)
    try:
        assert_one_line_error(real_cli("train", *TINY_TRAIN, "--output-dir", read_only / "runs"), "Permission denied")
        assert_one_line_error(real_cli("plot", "--runs", evaluated, "--output-dir", read_only), "permission denied")
    finally:
        read_only.chmod(0o755)
    assert os.listdir(read_only) == []


def test_read_only_folders_as_a_user_would_see_them(capsys, tmp_path, evaluated, monkeypatch):
    """What a non-root user meets: mkdir under the folder raises PermissionError, and access(W_OK) says no."""
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_mkdir, real_access = Path.mkdir, os.access

    def mkdir(self, *args, **kwargs):
        if read_only in Path(self).parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: Path(path) != read_only and real_access(path, mode, **kw))
    code, _, err = run_cli(capsys, "train", *TINY_TRAIN, "--output-dir", str(read_only / "runs"))
    assert code == 2 and err == f"forgetnet: error: cannot create folder (Permission denied): {read_only / 'runs'}\n"
    code, _, err = run_cli(capsys, "plot", "--runs", str(evaluated), "--output-dir", str(read_only))
    assert code == 2 and err == f"forgetnet: error: cannot write to folder (permission denied): {read_only}\n"
    assert os.listdir(read_only) == []


def test_a_write_failing_part_way_through_plot_is_one_line(capsys, tmp_path, evaluated, monkeypatch):
    import forgetnet_core.export as export

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "out" / "results.csv"))

    monkeypatch.setattr(export, "export_all", refuse)
    code, _, err = run_cli(capsys, "plot", "--runs", str(evaluated), "--output-dir", str(tmp_path / "out"))
    assert code == 2 and err == f"forgetnet: error: cannot write (Permission denied): {tmp_path / 'out' / 'results.csv'}\n"


@pytest.fixture(scope="module")
def tiny_transformer_checkpoint(tmp_path_factory):
    config = TrainConfig(model="tiny_transformer", steps=1, seq_len=16, batch_size=2, d_model=16, eval_batches=1, device="cpu")
    return train(config, runs_dir=tmp_path_factory.mktemp("tt")) / "checkpoint.pt"


def test_eval_refuses_a_model_that_is_not_the_checkpoints(capsys, tiny_transformer_checkpoint):
    ckpt = tiny_transformer_checkpoint
    assert_one_line_error(
        real_cli("eval", "--checkpoint", ckpt, "--model", "forgetnet", *TINY_EVAL, "--output-dir", ckpt.parent),
        f"forgetnet: error: --model forgetnet does not match the checkpoint's model tiny_transformer "
        f"(leave --model out to evaluate it as tiny_transformer): {ckpt}",
    )
    for given in ([], ["--model", "tiny_transformer"]):  # left out, or the right one: evaluated as the checkpoint's model
        code, out, err = run_cli(capsys, "eval", "--checkpoint", str(ckpt), *given, *TINY_EVAL, "--output-dir", str(ckpt.parent))
        assert code == 0, err
        assert json.loads(Path(out.splitlines()[-1]).read_text())["model"] == "tiny_transformer"


@pytest.mark.parametrize("damage", ["random", "random_read_as_a_pickle_global", "empty", "truncated"])
def test_damaged_checkpoints_say_so_in_one_line(tmp_path, tiny_transformer_checkpoint, damage):
    whole = tiny_transformer_checkpoint.read_bytes()
    data = {
        "random": os.urandom(4096),
        "random_read_as_a_pickle_global": b"cnoise\nmore\n" + os.urandom(64),  # torch: "Unsupported global", as for objects
        "empty": b"",
        "truncated": whole[: len(whole) // 2],
    }[damage]
    ckpt = tmp_path / "checkpoint.pt"
    ckpt.write_bytes(data)
    expected = f"forgetnet: error: not a checkpoint (corrupt or truncated): {ckpt}"
    assert_one_line_error(real_cli("eval", "--checkpoint", ckpt, *TINY_EVAL, "--output-dir", tmp_path), expected)
    assert_one_line_error(real_cli("demo", "--checkpoint", ckpt), expected)
    with pytest.raises(runs.CheckpointError) as caught:
        runs.load_checkpoint(ckpt)
    assert str(caught.value) == f"not a checkpoint (corrupt or truncated): {ckpt}"


def test_a_checkpoint_of_python_objects_is_named_as_such(tmp_path):
    ckpt = tmp_path / "objects.pt"
    torch.save({"config": {"model": "forgetnet"}, "model_state": {}, "thing": Path("x")}, ckpt)  # a whole, readable archive
    with pytest.raises(runs.CheckpointError) as caught:
        runs.load_checkpoint(ckpt)
    message = str(caught.value)
    assert message.startswith("not a forgetnet checkpoint (weights-only loading refuses its Python object ")
    assert message.endswith(f": {ckpt}") and "\n" not in message


def test_demo_refuses_a_model_that_is_not_the_checkpoints(capsys):
    from forgetnet_core.checkpoints import bundled_path

    code, _, err = run_cli(capsys, "demo", "--checkpoint", str(bundled_path("gated_delta_net")), "--model", "forgetnet")
    assert code == 2 and err.count("\n") == 1 and "does not match the checkpoint's model gated_delta_net" in err


def test_sweep_output_dir_that_is_a_file_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    proc = real_cli("sweep", "--models", "delta_net", "--tasks", "associative_lookup", "--seeds", "1", "--steps", "1",
                    "--output-dir", blocker)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert str(blocker) in proc.stderr and blocker.read_text() == "keep me"
