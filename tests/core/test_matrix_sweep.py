"""Sweeps as the TUI uses them: matrix.sweep_specs (rows + the manifest's eval settings) and no double start."""

from __future__ import annotations

import pytest

from forgetnet_core import listing, runs
from forgetnet_core.config import EvalSettings, TrainConfig
from forgetnet_core.matrix import build_rows
from forgetnet_core.results import cached_result
from forgetnet_core.sweep import create_sweep, evaluate_run, read_manifest, sweep_specs
from forgetnet_core.train import train

BASE = TrainConfig(steps=2, seq_len=16, batch_size=2, d_model=16, memory_slots=4, eval_every=0, eval_batches=1, device="cpu")
SETTINGS = EvalSettings(examples=4, seq_len=16, tasks=("changing_facts", "multi_hop"))


def test_sweep_specs_are_the_trained_cells_in_grid_order_with_the_manifest_settings(tmp_path):
    folder = create_sweep(tmp_path, BASE, ["forgetnet"], ["changing_facts"], [1, 2, 3], name="grid", eval_settings=SETTINGS.to_dict())
    cells = read_manifest(folder)["cells"]
    for cell in cells[:2]:  # seeds 1 and 2 trained and evaluated as `forgetnet sweep` does; seed 3 not started
        run_dir = folder / cell["run"]
        train(BASE.replace(seed=cell["seed"]), run_dir=run_dir)
        assert evaluate_run(run_dir, EvalSettings.from_dict(read_manifest(folder)["eval"])).ok

    specs, settings = sweep_specs(folder)
    assert settings == SETTINGS and settings.cache_key() == SETTINGS.cache_key()
    assert [s.run_dir.name for s in specs] == ["forgetnet-changing_facts-s1", "forgetnet-changing_facts-s2"]
    assert [s.seed for s in specs] == [1, 2] and specs[0].group_key() == specs[1].group_key()
    # Every loaded row's result is the cached one: nothing to evaluate again.
    results = {s.key: cached_result(s.run_dir, settings) for s in specs}
    assert all(r is not None and r.cached and set(r.tasks) == set(SETTINGS.tasks) for r in results.values())
    [group] = build_rows(specs, results, group_seeds=True)
    assert group.kind == "group" and group.result.n_seeds == 2
    # Other settings miss the cache (the sweep's are what make it hit).
    assert cached_result(specs[0].run_dir, EvalSettings(examples=4, seq_len=16)) is None


def test_sweep_specs_refuses_a_folder_that_is_not_a_sweep(tmp_path):
    with pytest.raises(ValueError, match="not a sweep folder"):
        sweep_specs(tmp_path)
    (tmp_path / "sweep.json").write_text('{"cells": [{"run": "a"}], "eval": {"examples": "many"}}')
    with pytest.raises(ValueError, match="unreadable eval settings"):
        sweep_specs(tmp_path)


def test_sweep_specs_of_a_sweep_with_no_checkpoint_yet(tmp_path):
    folder = create_sweep(tmp_path, BASE, ["forgetnet", "no_forget"], ["changing_facts"], [1], name="fresh")
    specs, settings = sweep_specs(folder)
    assert specs == [] and settings.seq_len == BASE.seq_len
    assert not any((p / runs.CHECKPOINT_FILE).exists() for p in folder.iterdir() if p.is_dir())
    assert listing.checkpoint_rows(tmp_path) == []


def test_run_sweep_skips_a_cell_that_started_elsewhere_meanwhile(tmp_path):
    """A cell resumed from the TUI (or by another sweep) after the queue was made is not started twice."""
    import os

    from forgetnet_core.sweep import run_sweep

    folder = create_sweep(tmp_path, BASE, ["forgetnet"], ["changing_facts"], [1, 2], name="race", eval_settings=SETTINGS.to_dict())
    second = folder / "forgetnet-changing_facts-s2"
    lines: list[str] = []

    def report(line: str) -> None:
        lines.append(line)
        if line == "start forgetnet-changing_facts-s1":  # the queue is made; now someone else starts s2
            runs.write_status(second, state="running", pid=os.getpid(), step=0)

    counts = run_sweep(folder, jobs=1, report=report)
    assert "skip forgetnet-changing_facts-s2: running in another process" in lines
    assert "start forgetnet-changing_facts-s2" not in lines
    assert counts == {"total": 2, "evaluated": 1, "running": 1}
