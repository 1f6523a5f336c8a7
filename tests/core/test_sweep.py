"""Sweeps: the manifest, a tiny grid end to end, and resumption after an interrupted sweep."""

import json
import os
import signal
import statistics
import subprocess
import sys
import time

import pytest

from forgetnet_core import listing, runs, stats
from forgetnet_core.config import TrainConfig
from forgetnet_core.evaluations import rows_from_caches
from forgetnet_core.headline import ablation_effects, effects_markdown, write_headline
from forgetnet_core.results import CACHE_FILE
from forgetnet_core.sweep import (
    MANIFEST,
    cell_state,
    create_sweep,
    run_sweep,
    sweep_progress,
    sweep_rows,
)

TINY = ["--batch-size", "2", "--seq-len", "16", "--d-model", "16", "--memory-slots", "4", "--eval-batches", "1",
        "--eval-every", "0", "--device", "cpu", "--eval-batches-final", "1"]


def sweep_cmd(tmp_path, *extra):
    return [sys.executable, "-m", "forgetnet_core.cli", "sweep", "--output-dir", str(tmp_path), "--name", "grid", *TINY, *extra]


def test_manifest_lists_the_grid_and_refuses_a_different_one(tmp_path):
    base = TrainConfig(steps=3, seq_len=16, batch_size=2, d_model=16, memory_slots=4)
    folder = create_sweep(tmp_path, base, ["forgetnet", "no_forget"], ["changing_facts"], [1, 2], name="s")
    manifest = json.loads((folder / MANIFEST).read_text())
    assert [c["run"] for c in manifest["cells"]] == [
        "forgetnet-changing_facts-s1", "forgetnet-changing_facts-s2", "no_forget-changing_facts-s1", "no_forget-changing_facts-s2",
    ]
    config = json.loads((folder / "no_forget-changing_facts-s2" / "config.json").read_text())
    assert config["model"] == "no_forget" and config["seed"] == 2 and config["steps"] == 3
    assert create_sweep(tmp_path, base, ["forgetnet", "no_forget"], ["changing_facts"], [1, 2], name="s") == folder
    with pytest.raises(ValueError, match="different grid"):
        create_sweep(tmp_path, base, ["forgetnet"], ["changing_facts"], [1, 2], name="s")
    assert sweep_progress(folder) == {"total": 4, "pending": 4}
    assert {i.sweep for i in listing.list_runs(tmp_path)} == {"s"}


def test_tiny_sweep_end_to_end(tmp_path):
    proc = subprocess.run(sweep_cmd(tmp_path, "--models", "forgetnet,local_transformer", "--tasks", "changing_facts",
                                    "--seeds", "1,2", "--steps", "3", "--jobs", "2"), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = tmp_path / "grid"
    assert sweep_progress(folder) == {"total": 4, "evaluated": 4}
    rows = sweep_rows(folder)
    assert len(rows) == 4 and all(set(r["tasks"]) == {"associative_lookup", "changing_facts", "needle_recall", "multi_hop", "length_extrapolation"} for r in rows)
    assert all(r["tasks"]["changing_facts"]["examples"] == 32 for r in rows)
    grouped = rows_from_caches(tmp_path, group_seeds=True)  # what the Evaluate screen and `plot` see
    assert sorted(r.model for r in grouped) == ["forgetnet", "local_transformer"]

    # the headline table: each model on the task it trained on, mean over its seeds
    paths = write_headline(folder, tmp_path / "headline")
    assert {p.name for p in paths} == {"headline.png", "headline_heatmap.png", "headline.csv", "headline.md", "headline.json"}
    assert (tmp_path / "headline" / "headline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (tmp_path / "headline" / "headline.csv").read_text().splitlines()
    assert lines[0].startswith("model,task,accuracy_mean,ci_low,ci_high,n_seeds,seed_accuracies")
    assert [l.split(",")[:2] for l in lines[1:]] == [["forgetnet", "changing_facts"], ["local_transformer", "changing_facts"]]
    for line in lines[1:]:
        model, _, mean, low, high, n, seeds = line.split(",")[:7]
        expected = sorted(r["tasks"]["changing_facts"]["accuracy"] for r in rows if r["model"] == model)
        assert sorted(float(a) for a in seeds.split()) == pytest.approx(expected, abs=1e-4)
        assert float(mean) == pytest.approx(sum(expected) / 2, abs=1e-4) and n == "2"
        assert float(low) <= float(mean) <= float(high)
    assert "| forgetnet |" in (tmp_path / "headline" / "headline.md").read_text()
    # a second run repeats nothing
    stamps = {p: p.stat().st_mtime_ns for p in folder.glob(f"*/{CACHE_FILE}")}
    again = subprocess.run(sweep_cmd(tmp_path, "--models", "forgetnet,local_transformer", "--tasks", "changing_facts",
                                     "--seeds", "1,2", "--steps", "3", "--jobs", "2"), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "start" not in again.stdout
    assert stamps == {p: p.stat().st_mtime_ns for p in folder.glob(f"*/{CACHE_FILE}")}


def test_interrupted_sweep_resumes_without_repeating_or_losing_work(tmp_path):
    args = sweep_cmd(tmp_path, "--models", "forgetnet", "--tasks", "changing_facts,needle_recall", "--seeds", "1",
                     "--steps", "100000", "--checkpoint-every", "0", "--jobs", "1")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    folder = tmp_path / "grid"
    first = folder / "forgetnet-changing_facts-s1"
    deadline = time.time() + 90
    while time.time() < deadline:
        records = runs.read_metrics(first)[0] if first.exists() else []
        if len(records) >= 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: children checkpoint and stop
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 130, out  # like any Ctrl-C'd command
    assert out.splitlines()[-1] == f"forgetnet: interrupted (run the same command again to resume): {folder}"
    assert cell_state(first, None) == "stopped"
    stopped_at = runs.read_status(first)["step"]
    assert stopped_at >= 3
    assert cell_state(folder / "forgetnet-needle_recall-s1", None) == "pending"

    # shrink the remaining work: finish at a step just past where it stopped
    for run_dir in folder.iterdir():
        if run_dir.is_dir():
            config = json.loads((run_dir / "config.json").read_text())
            config["steps"] = stopped_at + 2 if run_dir == first else 2
            (run_dir / "config.json").write_text(json.dumps(config))
    manifest = json.loads((folder / MANIFEST).read_text())
    lines = []
    counts = run_sweep(folder, jobs=2, report=lines.append)
    assert counts == {"total": 2, "evaluated": 2}, counts
    assert "resume forgetnet-changing_facts-s1" in lines and "start forgetnet-needle_recall-s1" in lines, lines
    steps = [r["step"] for r in runs.read_metrics(first)[0] if r["kind"] == "train"]
    assert steps == list(range(1, stopped_at + 3))  # nothing repeated, nothing lost
    after = json.loads((folder / MANIFEST).read_text())
    assert {k: v for k, v in after.items() if k not in ("placements", "backend")} == {
        k: v for k, v in manifest.items() if k not in ("placements", "backend")}  # the grid itself is unchanged
    assert after["backend"] == "local" and set(after["placements"]) == {c["run"] for c in after["cells"]}
    assert all(p["device"] == "cpu" and p["host"] == runs.HOST for p in after["placements"].values())


def test_stale_cells_resume_and_failed_cells_are_skipped(tmp_path):
    base = TrainConfig(steps=2, seq_len=16, batch_size=2, d_model=16, memory_slots=4, eval_batches=1, eval_every=0)
    folder = create_sweep(tmp_path, base, ["forgetnet"], ["changing_facts", "multi_hop"], [0], name="s",
                          eval_settings={"tasks": ["changing_facts"], "suite": "v2", "examples": 4, "seq_len": 16, "seed": 123})
    dead = folder / "forgetnet-changing_facts-s0"
    runs.write_status(dead, state="running", pid=2**22 + 12345, step=1)  # its process died without a word
    failed = folder / "forgetnet-multi_hop-s0"
    runs.write_status(failed, state="failed", pid=os.getpid(), step=0, error="boom")
    lines = []
    counts = run_sweep(folder, jobs=1, report=lines.append)
    assert counts == {"total": 2, "evaluated": 1, "failed": 1}
    assert any("skip forgetnet-multi_hop-s0: failed (boom)" in l for l in lines)
    assert run_sweep(folder, jobs=1, retry_failed=True) == {"total": 2, "evaluated": 2}


class _FinishedAtOnce:
    """A stand-in for a cell's child process that has already exited; records its command and environment."""

    started: list = []

    def __init__(self, args, **kwargs):
        self.args, self.env, self.pid, self.returncode = args, kwargs["env"], 4242, 0
        _FinishedAtOnce.started.append(self)

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


def test_cells_say_start_resume_or_evaluate_and_children_get_the_thread_count(tmp_path, monkeypatch):
    import forgetnet_core.launch as launch

    monkeypatch.setattr(launch.subprocess, "Popen", _FinishedAtOnce)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    _FinishedAtOnce.started = []
    base = TrainConfig(steps=2, seq_len=16, batch_size=2, d_model=16, memory_slots=4)
    folder = create_sweep(tmp_path, base, ["forgetnet"], ["changing_facts", "multi_hop", "needle_recall"], [0], name="s")
    stopped, fresh, finished = (folder / f"forgetnet-{t}-s0" for t in ("changing_facts", "multi_hop", "needle_recall"))
    runs.write_status(stopped, state="stopped", pid=1, step=1)
    (stopped / runs.CHECKPOINT_FILE).write_bytes(b"a checkpoint")
    runs.write_status(finished, state="finished", pid=1, step=2)
    lines = []
    run_sweep(folder, jobs=3, report=lines.append)
    assert [l for l in lines if l.split()[0] in ("start", "resume", "evaluate")] == [
        f"resume {stopped.name}", f"start {fresh.name}", f"evaluate {finished.name}"]
    assert all(p.env["OMP_NUM_THREADS"] == p.env["MKL_NUM_THREADS"] == "1" for p in _FinishedAtOnce.started)
    assert [p.args[-2:] for p in _FinishedAtOnce.started] == [["forgetnet_core.sweep", str(d)] for d in (stopped, fresh, finished)]
    _FinishedAtOnce.started = []
    run_sweep(folder, jobs=3, threads=2)
    assert {p.env["OMP_NUM_THREADS"] for p in _FinishedAtOnce.started} == {"2"} and len(_FinishedAtOnce.started) == 3


def test_ablation_effects_pair_seeds_and_say_when_a_difference_is_noise():
    scores = {
        # seed-to-seed spread is large but the ablation is worse on every seed: paired, that is a clear difference
        ("forgetnet", "changing_facts"): {1: 0.20, 2: 0.50, 3: 0.80},
        ("no_forget", "changing_facts"): {1: 0.15, 2: 0.45, 3: 0.76, 4: 0.99},  # seed 4 has no partner
        ("forgetnet", "associative_lookup"): {1: 0.2, 2: 0.3, 3: 0.1},
        ("no_surprise", "associative_lookup"): {1: 0.3, 2: 0.1, 3: 0.2},
        ("gated_delta_net", "multi_hop"): {1: 0.1},
        ("delta_net", "multi_hop"): {1: 0.2},
        ("conv_transformer", "multi_hop"): {1: 0.9},  # not a family with ablations
    }
    effects = {(e["ablation"], e["task"]): e for e in ablation_effects(scores)}
    assert set(effects) == {("no_forget", "changing_facts"), ("no_surprise", "associative_lookup"), ("delta_net", "multi_hop")}

    cf = effects[("no_forget", "changing_facts")]
    diffs = [0.05, 0.05, 0.04]
    half = 4.303 * statistics.stdev(diffs) / 3 ** 0.5  # t_0.975 with 2 degrees of freedom
    assert cf["n_seeds"] == 3 and cf["ablation_mean"] == pytest.approx((0.15 + 0.45 + 0.76) / 3)
    assert cf["difference"] == pytest.approx(statistics.mean(diffs))
    assert (cf["ci_low"], cf["ci_high"]) == pytest.approx((statistics.mean(diffs) - half, statistics.mean(diffs) + half))
    assert cf["verdict"] == "forgetnet better"
    # unpaired, the two models' own intervals overlap almost entirely
    assert stats.mean_interval([0.15, 0.45, 0.76])[2] > stats.mean_interval([0.20, 0.50, 0.80])[1]

    assert effects[("no_surprise", "associative_lookup")]["verdict"] == "within noise"
    assert effects[("delta_net", "multi_hop")]["verdict"] == "one seed"
    assert "| forgetnet | no_forget | changing_facts | 0.500 | 0.453 | +0.047" in effects_markdown(list(effects.values()))
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_difference([0.1, 0.2], [0.1])
