"""The one listing of runs and sweeps: states, summaries, what a rescan reads, sweep cells scored at their own knobs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forgetnet_core import listing, runs
from forgetnet_core.config import EvalSettings, TrainConfig
from forgetnet_core.results import RowResult, checkpoint_fingerprint, write_cache
from forgetnet_core.sweep import cell_settings, create_sweep, read_manifest


def make_run(root: Path, name: str, state: str = "finished", started: float = 1.0, pid: int | None = None,
             metrics: str = "", checkpoint: bool = False) -> Path:
    run = root / name
    run.mkdir(parents=True)
    runs.write_json_atomic(run / runs.CONFIG_FILE, TrainConfig(steps=10).to_dict())
    runs.write_status(run, state=state, pid=pid or os.getpid(), step=10, total_steps=10, started=started)
    (run / runs.METRICS_JSONL).write_text(metrics)
    if checkpoint:
        (run / runs.CHECKPOINT_FILE).write_bytes(b"weights")
    return run


def test_list_runs_marks_dead_running_runs_stale_and_sorts_newest_first(tmp_path):
    make_run(tmp_path, "done", started=1.0, metrics='{"kind": "train", "step": 10, "loss": 1.5}\n'
             '{"kind": "eval", "step": 5, "eval_accuracy": 0.4}\n{"kind": "eval", "step": 10, "eval_accuracy": 0.3}\n')
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    make_run(tmp_path, "dead", state="running", started=2.0, pid=proc.pid)
    make_run(tmp_path, "live", state="running", started=3.0)
    queued = tmp_path / "queued"
    queued.mkdir()
    runs.write_json_atomic(queued / runs.CONFIG_FILE, TrainConfig().to_dict())
    (tmp_path / "eval-20260101-000000").mkdir()  # `forgetnet eval` output: not a run
    found = listing.list_runs(tmp_path)
    infos = {i.name: i for i in found}
    assert set(infos) == {"done", "dead", "live", "queued"}
    assert (infos["done"].state, infos["dead"].state, infos["live"].state, infos["queued"].state) == ("finished", "stale", "running", "pending")
    assert infos["done"].last_loss == 1.5 and infos["done"].best_eval_accuracy == 0.4
    assert [i.name for i in found][:3] == ["live", "dead", "done"]
    assert listing.newest_run(tmp_path) == tmp_path / "live"
    assert listing.list_runs(tmp_path / "missing") == [] and listing.newest_run(tmp_path / "missing") is None


def test_a_rescan_reads_only_what_changed_and_metrics_false_reads_no_metrics(tmp_path):
    run = make_run(tmp_path, "a", metrics='{"kind": "train", "step": 1, "loss": 2.0}\n', checkpoint=True)
    lister = listing.RunLister(tmp_path)
    [info] = lister.list()
    assert info.last_loss == 2.0 and info.has_checkpoint
    reads = lister.json_reads
    offset = lister._summaries[run].tail.offset
    with open(run / runs.METRICS_JSONL, "a") as fh:
        fh.write('{"kind": "train", "step": 2, "loss": 0.5}\n')
    [info] = lister.list()
    assert info.last_loss == 0.5 and lister.json_reads == reads  # no JSON file parsed again
    assert lister._summaries[run].tail.offset > offset  # the tail went on from where it was
    quick = listing.RunLister(tmp_path, metrics=False)
    [info] = quick.list()
    assert info.last_loss is None and info.state == "finished" and not quick._summaries
    assert [r.name for r in quick.scan().with_checkpoint()] == ["a"]
    (run / runs.CHECKPOINT_FILE).unlink()
    assert quick.scan().with_checkpoint() == []


def _evaluated(run_dir: Path, settings: EvalSettings) -> None:
    """A cached result for `settings`, as `forgetnet sweep` leaves it (the checkpoint is a stand-in file)."""
    runs.write_status(run_dir, state="finished", pid=os.getpid(), step=2, total_steps=2, started=time.time())
    (run_dir / runs.CHECKPOINT_FILE).write_bytes(b"weights")
    result = RowResult(tasks={t: {"accuracy": 0.5} for t in settings.tasks}, settings=settings.to_dict())
    write_cache(run_dir, settings, result, checkpoint_fingerprint(run_dir / runs.CHECKPOINT_FILE))


def test_a_sweep_cell_at_its_own_knobs_is_evaluated_under_its_own_settings(tmp_path):
    base = TrainConfig(steps=2, seq_len=32, device="cpu")
    folder = create_sweep(tmp_path, base, ["forgetnet"], ["changing_facts"], [1], name="grid", knobs={"records": [None, 4]})
    manifest = read_manifest(folder)
    plain, knobbed = manifest["cells"]
    assert knobbed["knobs"] == {"records": 4}
    manifest_settings = EvalSettings.from_dict(manifest["eval"])
    _evaluated(folder / plain["run"], cell_settings(manifest, plain))
    _evaluated(folder / knobbed["run"], manifest_settings)  # scored at the default knobs: not this cell's result
    [sweep] = listing.RunLister(tmp_path).scan().sweeps
    states = {m.name: m.state for m in sweep.members}
    assert states == {plain["run"]: "evaluated", knobbed["run"]: "finished"}
    _evaluated(folder / knobbed["run"], cell_settings(manifest, knobbed))
    [sweep] = listing.RunLister(tmp_path).scan().sweeps
    assert sweep.counts == {"evaluated": 2} and sweep.done == 2 and sweep.total == 2


def test_an_unreadable_manifest_is_a_sweep_with_an_error(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "sweep.json").write_text("{not json")
    created = create_sweep(tmp_path, TrainConfig(steps=2, device="cpu"), ["forgetnet"], ["changing_facts"], [1], name="good")
    sweeps = listing.RunLister(tmp_path).scan().sweeps_newest_first()
    assert [s.name for s in sweeps] == ["good", "broken"]
    assert sweeps[1].error and sweeps[1].total == 0 and sweeps[0].error is None
    assert json.loads((created / "sweep.json").read_text())["name"] == "good"


def test_listing_imports_no_torch():
    code = "import sys, forgetnet_core.listing; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["eval-20260101-000000", ".hidden-file"])
def test_things_that_are_not_runs_are_not_listed(tmp_path, name):
    (tmp_path / name).mkdir()
    assert listing.RunLister(tmp_path).scan().empty
