"""Difficulty curves: accuracy against a task knob, from sweep cells and from any cached evaluation."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from forgetnet_core import cli, runs
from forgetnet_core.config import EvalSettings, TaskKnobs, TrainConfig, record_slots
from forgetnet_core.difficulty import (
    Sample,
    curves,
    difficulty_csv,
    effective_value,
    interval_caption,
    samples_from_runs,
    samples_from_sweep,
)
from forgetnet_core.headline import write_headline
from forgetnet_core.results import RowResult, checkpoint_fingerprint, write_cache
from forgetnet_core.sweep import create_sweep


def fake_run(run_dir: Path, config: TrainConfig, results: list[tuple[EvalSettings, dict[str, float]]]) -> Path:
    """A run directory with a (fake) checkpoint and cached evaluations: {task: accuracy} per settings."""
    run_dir.mkdir(parents=True, exist_ok=True)
    runs.write_json_atomic(run_dir / runs.CONFIG_FILE, config.to_dict())
    (run_dir / runs.CHECKPOINT_FILE).write_bytes(b"weights of " + run_dir.name.encode())
    runs.write_status(run_dir, state="finished", step=config.steps, total_steps=config.steps)
    fingerprint = checkpoint_fingerprint(run_dir / runs.CHECKPOINT_FILE)
    for settings, accs in results:
        tasks = {t: {"accuracy": a, "seq_len": settings.length_of(t), "examples": settings.examples} for t, a in accs.items()}
        write_cache(run_dir, settings, RowResult(tasks=tasks, settings=settings.to_dict()), fingerprint)
    return run_dir


def test_effective_value_spells_out_defaults():
    assert effective_value("records", TaskKnobs(), "associative_lookup", 64) == record_slots(64) == 20
    assert effective_value("records", TaskKnobs(records=8), "associative_lookup", 64) == 8
    assert effective_value("records", TaskKnobs(keys=6), "multi_hop", 64) == 6  # every key once
    assert effective_value("min_distance", TaskKnobs(), "changing_facts", 64) == 16
    assert effective_value("min_distance", TaskKnobs(), "needle_recall", 64) == 0
    assert effective_value("overwrites", TaskKnobs(), "changing_facts", 64) is None  # random: not a point
    assert effective_value("keys", TaskKnobs(), "changing_facts", 64) == 24


def test_curves_average_a_seeds_duplicates_and_sort_by_x():
    samples = [
        Sample("associative_lookup", "delta_net", "delta_net", 1, 8, 0.9),
        Sample("associative_lookup", "delta_net", "delta_net", 1, 8, 0.7),  # the same seed again: one sample
        Sample("associative_lookup", "delta_net", "delta_net", 2, 8, 0.6),
        Sample("associative_lookup", "delta_net", "delta_net", 1, 4, 1.0),
        Sample("associative_lookup", "forgetnet", "forgetnet", 1, 4, 0.2),
    ]
    data = curves(samples)
    assert list(data["associative_lookup"]) == ["forgetnet", "delta_net"]  # registry order
    four, eight = data["associative_lookup"]["delta_net"]
    assert (four.x, eight.x) == (4, 8)
    assert eight.n_seeds == 2 and eight.accuracies == pytest.approx((0.8, 0.6))
    assert eight.mean == pytest.approx(0.7) and eight.low < 0.7 < eight.high


def test_a_lone_run_gets_its_wilson_interval_and_the_caption_says_so():
    lone = curves([Sample("associative_lookup", "delta_net", "delta_net", 42, 40, 151 / 160, 151, 160)])
    point = lone["associative_lookup"]["delta_net"][0]
    # Wilson 95% for 151/160, by hand: centre (p + z^2/2n) / (1 + z^2/n), half z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
    z, n, p = 1.959964, 160, 151 / 160
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    assert point.interval == "wilson" and point.examples == 160
    assert (point.low, point.high) == pytest.approx((centre - half, centre + half), abs=1e-4)
    assert point.low < point.mean < point.high
    assert interval_caption(lone) == "1 seed, 95% Wilson interval over 160 examples"
    assert difficulty_csv(lone, "records").splitlines()[1].endswith(",wilson")

    # Two seeds: the t-interval across them, whatever the counts; without counts a lone run has no interval.
    two = curves([Sample("associative_lookup", "delta_net", "delta_net", s, 40, a, c, 160)
                  for s, a, c in ((1, 0.9, 144), (2, 0.8, 128))])
    assert two["associative_lookup"]["delta_net"][0].interval == "t"
    assert interval_caption(two) == "2 seeds, mean and 95% t-interval"
    bare = curves([Sample("associative_lookup", "delta_net", "delta_net", 1, 40, 0.9)])["associative_lookup"]["delta_net"][0]
    assert (bare.interval, bare.low, bare.high) == ("t", 0.9, 0.9)


def test_plot_against_a_knob_from_cached_evaluations(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    settings = EvalSettings(tasks=("associative_lookup",))
    at = lambda n: EvalSettings(tasks=("associative_lookup",), knobs=TaskKnobs(records=n))  # noqa: E731
    for seed, accs in ((1, (0.95, 0.8, 0.3)), (2, (0.97, 0.7, 0.2))):
        fake_run(runs_dir / f"delta-{seed}", TrainConfig(model="delta_net", task="associative_lookup", seed=seed),
                 [(at(4), {"associative_lookup": accs[0]}), (at(12), {"associative_lookup": accs[1]}),
                  (settings, {"associative_lookup": accs[2]})])
    fake_run(runs_dir / "sweep-x" / "fn", TrainConfig(model="forgetnet", task="associative_lookup", records=4),
             [(at(4), {"associative_lookup": 0.5})])
    samples = samples_from_runs(runs_dir, "records")
    lines = {s.line for s in samples}
    assert lines == {"delta_net (trained at records 20)", "delta_net", "forgetnet"}  # default 20 records: trained there
    data = curves(samples)["associative_lookup"]
    assert [p.x for p in data["delta_net (trained at records 20)"]] == [4, 12]
    assert [(p.x, p.n_seeds) for p in data["delta_net"]] == [(20, 2)]
    assert data["forgetnet"][0].mean == 0.5  # found inside a sweep folder too

    out = tmp_path / "out"
    code = cli.main(["plot", "--runs", str(runs_dir), "--output-dir", str(out), "--against", "records", "--formats", "png,csv"])
    assert code == 0, capsys.readouterr().err
    assert (out / "difficulty_records.png").stat().st_size > 10_000
    rows = list(csv.DictReader(io.StringIO((out / "difficulty_records.csv").read_text())))
    assert {(r["line"], r["records"], r["n_seeds"]) for r in rows} >= {("delta_net (trained at records 20)", "12", "2")}

    code = cli.main(["plot", "--runs", str(runs_dir), "--output-dir", str(out), "--against", "keys"])
    _, err = capsys.readouterr()
    assert code == 2 and "more than one keys value" in err and err.count("\n") == 1


def test_headline_of_a_knob_sweep_draws_the_difficulty_figure(tmp_path):
    base = TrainConfig(steps=1, seq_len=64, batch_size=2, eval_batches=1, device="cpu")
    folder = create_sweep(tmp_path, base, ["delta_net", "forgetnet"], ["associative_lookup"], [1, 2], "grid",
                          knobs={"records": [4, 16]})
    manifest = json.loads((folder / "sweep.json").read_text())
    from forgetnet_core.sweep import cell_settings

    accuracy = {("delta_net", 4): 1.0, ("delta_net", 16): 0.9, ("forgetnet", 4): 0.6, ("forgetnet", 16): 0.1}
    for cell in manifest["cells"]:
        settings = cell_settings(manifest, cell)
        assert settings.knobs == TaskKnobs(records=cell["knobs"]["records"]) and settings.tasks == ("associative_lookup",)
        config = TrainConfig.from_dict(json.loads((folder / cell["run"] / runs.CONFIG_FILE).read_text()))
        acc = accuracy[(cell["model"], cell["knobs"]["records"])] - 0.01 * cell["seed"]
        fake_run(folder / cell["run"], config, [(settings, {"associative_lookup": acc})])
    samples = samples_from_sweep(folder, "records")
    assert len(samples) == 8
    paths = write_headline(folder, tmp_path / "out")
    names = {p.name for p in paths}
    assert {"difficulty_records.png", "difficulty_records.csv"} <= names
    assert "headline.csv" not in names  # every cell is on the difficulty axis: no model x task table to write
    data = json.loads((tmp_path / "out" / "difficulty_records.json").read_text())["curves"]["associative_lookup"]
    assert [p["mean"] for p in data["forgetnet"]] == pytest.approx([0.585, 0.085])
