"""The evaluation matrix: settings validation, the per-run cache, cancel, broken checkpoints, seed grouping, sorting."""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
from pathlib import Path

import pytest

from forgetnet_core import evaluations, listing, matrix, results, runs, stats
from forgetnet_core.checkpoints import fresh_model
from forgetnet_core.config import EvalSettings, TrainConfig, parse_settings
from forgetnet_core.evaluate import EvaluationCancelled, evaluate_model
from forgetnet_core.matrix import RowSpec, build_rows, evaluate_row
from forgetnet_core.results import RowResult

TINY = dict(steps=2, seq_len=16, batch_size=4, d_model=16, memory_slots=4, eval_batches=1, eval_every=0, device="cpu")
FAST = EvalSettings(examples=8, seq_len=16, batch_size=8)


def make_runs(root: Path) -> dict[str, Path]:
    """Three seeds of one experiment, one other model, and a broken checkpoint."""
    from forgetnet_core.train import train

    made = {}
    for seed in (1, 2, 3):
        made[f"seed{seed}"] = train(TrainConfig(seed=seed, **TINY), runs_dir=root)
    made["local"] = train(TrainConfig(model="local_transformer", **TINY), runs_dir=root)
    broken = root / "broken-run"
    broken.mkdir()
    (broken / runs.CONFIG_FILE).write_text(json.dumps({"model": "forgetnet", "task": "changing_facts", "seed": 9}))
    (broken / runs.CHECKPOINT_FILE).write_bytes(b"\x00 not a checkpoint")
    made["broken"] = broken
    return made


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("matrix-runs")
    make_runs(root)
    return root


@pytest.fixture
def runs_root(trained: Path, tmp_path: Path) -> Path:
    """A private copy of the trained runs (tests write caches into them)."""
    root = tmp_path / "runs"
    shutil.copytree(trained, root)
    return root


def by_name(root: Path) -> dict[str, RowSpec]:
    specs = listing.checkpoint_rows(root)
    out = {}
    for spec in specs:
        if spec.run_dir.name == "broken-run":
            out["broken"] = spec
        elif spec.model == "local_transformer":
            out["local"] = spec
        else:
            out[f"seed{spec.seed}"] = spec
    return out


# --------------------------------------------------------------------------- settings


def test_settings_validation_messages():
    assert EvalSettings().validate() == []
    assert EvalSettings().extrapolation_length == 192
    settings, errors = parse_settings({"suite": "v2", "examples": "abc", "seq_len": "13", "extrapolation_len": "", "seed": "-1"})
    assert settings is None
    assert errors["examples"].startswith("expected a whole number")
    assert "at least 14" in errors["seq_len"]
    assert "non-negative" in errors["seed"]
    assert "extrapolation_len" not in errors  # blank = 3 x seq_len
    settings, errors = parse_settings({"seq_len": "200", "extrapolation_len": ""})
    assert settings is None and "600 exceeds max_seq_len 512" in errors["extrapolation_len"]
    settings, errors = parse_settings({"seq_len": "200", "extrapolation_len": "400"})
    assert errors == {} and settings.extrapolation_length == 400 and settings.length_of("multi_hop") == 200
    settings, errors = parse_settings({"suite": "v3"})
    assert "unknown suite 'v3'" in errors["suite"]
    # The cache key ignores batch_size (speed only) and spells out the extrapolation length.
    assert EvalSettings(batch_size=8).cache_key() == EvalSettings(extrapolation_len=192).cache_key()
    assert EvalSettings.from_dict(EvalSettings(seq_len=20).to_dict()) == EvalSettings(seq_len=20)


def test_evaluate_model_extrapolation_override_examples_and_batch_progress():
    model = fresh_model("local_transformer", d_model=16)
    ticks = []
    results = evaluate_model(
        model, ["multi_hop", "length_extrapolation"], "v2", batch_size=4, seq_len=16, seed=5,
        on_progress=lambda done, total: ticks.append((done, total)), extrapolation_len=40, examples=10,
    )
    assert results["length_extrapolation"]["seq_len"] == 40 and results["multi_hop"]["seq_len"] == 16
    assert all(r["examples"] == 10 for r in results.values())  # 4 + 4 + 2
    assert ticks == [(i, 6) for i in range(1, 7)]  # one tick per batch, 3 batches x 2 tasks
    with pytest.raises(ValueError, match="beyond this model's max_seq_len"):
        evaluate_model(fresh_model("local_transformer", d_model=16, max_seq_len=32), ["length_extrapolation"], seq_len=16, batch_size=2, batches=1)


def test_t_interval_across_seeds():
    assert stats.t_critical(1) == 12.706 and stats.t_critical(2) == 4.303
    assert abs(stats.t_critical(60) - 2.000) < 0.002 and abs(stats.t_critical(1000) - 1.962) < 0.002
    mean, low, high = stats.mean_interval([0.4, 0.5, 0.6])
    half = 4.303 * 0.1 / math.sqrt(3)
    assert mean == pytest.approx(0.5) and low == pytest.approx(0.5 - half) and high == pytest.approx(0.5 + half)
    assert stats.mean_interval([0.9, 1.0])[2] == 1.0  # clipped to [0, 1]
    assert stats.mean_interval([0.5]) == (0.5, 0.5, 0.5)


# --------------------------------------------------------------------------- cache, cancel, errors


def test_results_are_cached_until_the_checkpoint_or_settings_change(runs_root):
    spec = by_name(runs_root)["seed1"]
    first = evaluate_row(spec, FAST)
    assert first.ok and not first.cached and first.parameter_count > 0
    cache = runs_root / spec.run_dir.name / results.CACHE_FILE
    assert cache.exists()
    again = evaluate_row(spec, FAST)
    assert again.cached and again.tasks == json.loads(json.dumps(first.tasks))
    # Touched but identical (copied back, rsync): the hash still matches.
    st = spec.checkpoint.stat()
    os.utime(spec.checkpoint, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert results.cached_result(spec.run_dir, FAST) is not None
    # Other settings: a miss, and a second entry next to the first.
    assert results.cached_result(spec.run_dir, EvalSettings(examples=8, seq_len=16, seed=7)) is None
    evaluate_row(spec, EvalSettings(examples=8, seq_len=16, seed=7, batch_size=8))
    assert len(json.loads(cache.read_text())["entries"]) == 2
    # A new checkpoint (training went on): every entry is stale.
    data = runs.load_checkpoint(spec.checkpoint)
    data["step"] = 99
    runs.save_checkpoint(spec.checkpoint, data)
    assert results.cached_result(spec.run_dir, FAST) is None
    fresh = evaluate_row(spec, FAST)
    assert not fresh.cached and fresh.checkpoint_step == 99
    assert len(json.loads(cache.read_text())["entries"]) == 1
    # Re-evaluate ignores the cache.
    assert not evaluate_row(spec, FAST, use_cache=False).cached


def test_cancel_leaves_no_partial_cache(runs_root):
    spec = by_name(runs_root)["seed2"]
    stop = threading.Event()
    seen = []

    def progress(done, total):
        seen.append(done)
        stop.set()  # cancel after the first batch

    with pytest.raises(EvaluationCancelled):
        evaluate_row(spec, FAST, stop=stop, on_progress=progress)
    assert seen == [1]
    assert not (spec.run_dir / results.CACHE_FILE).exists()
    assert not list(spec.run_dir.glob(".*.tmp"))
    # A cancelled re-evaluation keeps the earlier complete entry as it was.
    evaluate_row(spec, FAST)
    before = (spec.run_dir / results.CACHE_FILE).read_bytes()
    stop.clear()
    with pytest.raises(EvaluationCancelled):
        evaluate_row(spec, FAST, stop=stop, on_progress=progress, use_cache=False)
    assert (spec.run_dir / results.CACHE_FILE).read_bytes() == before


def test_a_broken_checkpoint_is_a_row_with_the_error(runs_root):
    specs = by_name(runs_root)
    result = evaluate_row(specs["broken"], FAST)
    assert not result.ok and "not a checkpoint (corrupt or truncated)" in result.error and "\n" not in result.error
    assert not (specs["broken"].run_dir / results.CACHE_FILE).exists()
    (specs["seed3"].checkpoint).unlink()
    missing = evaluate_row(specs["seed3"], FAST)
    assert "checkpoint not found" in missing.error
    too_long = evaluate_row(specs["local"], EvalSettings(examples=4, seq_len=16, extrapolation_len=600, batch_size=4))
    assert "max_seq_len" in too_long.error
    rows = build_rows([specs["broken"]], {specs["broken"].key: result})
    assert rows[0].result.error == result.error
    assert matrix.export_rows(rows) == []  # errors are not exported as numbers


# --------------------------------------------------------------------------- grouping and sorting


def test_runs_differing_only_in_seed_are_one_row(runs_root):
    specs = by_name(runs_root)
    results = {s.key: evaluate_row(s, FAST) for s in specs.values()}
    all_specs = list(specs.values())
    rows = build_rows(all_specs, results)
    groups = [r for r in rows if r.kind == "group"]
    assert len(groups) == 1 and len(rows) == 3  # the group, local_transformer, the broken run (seed 9 is its own)
    group = groups[0]
    assert sorted(group.seeds) == [1, 2, 3] and group.label == "forgetnet · changing_facts ×3 seeds"
    member_results = [results[specs[f"seed{s}"].key] for s in (1, 2, 3)]
    for task in FAST.tasks:
        accs = [r.tasks[task]["accuracy"] for r in member_results]
        mean, low, high = stats.mean_interval(accs)
        cell = group.result.tasks[task]
        assert cell["accuracy"] == pytest.approx(sum(accs) / 3)
        assert (cell["ci_low"], cell["ci_high"]) == (pytest.approx(low), pytest.approx(high))
        assert cell["n_seeds"] == 3 and cell["interval"] == "t" and cell["seed_accuracies"] == accs
    assert group.result.n_seeds == 3
    # Expanded: the group, then its seeds in order.
    rows = build_rows(all_specs, results, expanded={group.key})
    i = [r.key for r in rows].index(group.key)
    assert [r.label for r in rows[i + 1 : i + 4]] == ["seed 1", "seed 2", "seed 3"]
    assert all(r.kind == "member" and r.parent == group.key for r in rows[i + 1 : i + 4])
    # Not grouped: one row per run.
    assert [r.kind for r in build_rows(all_specs, results, group_seeds=False)] == ["single"] * 5
    # A group shows numbers only once every seed is in.
    partial = dict(results)
    del partial[specs["seed2"].key]
    assert next(r for r in build_rows(all_specs, partial) if r.kind == "group").result is None
    # Exported, members carry their full label and the group its seeds.
    rows = build_rows(all_specs, results, expanded={group.key})
    exported = matrix.export_rows(rows, {s.key: s for s in all_specs})
    labels = [r.label for r in exported]
    assert "forgetnet · changing_facts ×3 seeds" in labels and "forgetnet · changing_facts · s2" in labels
    assert next(r for r in exported if "×3" in r.label).extra["seeds"] == [1, 2, 3]


def test_groups_that_differ_in_another_setting_stay_apart():
    def spec(seed, lr):
        config = {"model": "forgetnet", "task": "multi_hop", "seed": seed, "lr": lr, "device": "cpu"}
        return RowSpec(f"/r/{seed}-{lr}", f"r{seed}", "forgetnet", Path(f"/r/{seed}-{lr}"), seed, config)

    specs = [spec(1, 1e-3), spec(2, 1e-3), spec(1, 3e-4), spec(2, 3e-4)]
    rows = build_rows(specs, {})
    assert [r.kind for r in rows] == ["group", "group"]
    assert sorted(r.label for r in rows) == ["forgetnet · multi_hop lr=0.0003 ×2 seeds", "forgetnet · multi_hop lr=0.001 ×2 seeds"]
    fresh = [RowSpec.for_fresh("forgetnet", 0), RowSpec.for_fresh("forgetnet", 1), RowSpec.for_fresh("tiny_transformer")]
    assert [r.label for r in build_rows(fresh, {})] == ["forgetnet (fresh) ×2 seeds", "tiny_transformer (fresh, seed 0)"]


def _result(acc: float | None, params: int = 10, wall: float = 1.0, error: str | None = None) -> RowResult:
    if error:
        return RowResult(error=error)
    tasks = {"changing_facts": {"accuracy": acc, "ci_low": 0, "ci_high": 1, "stale_rate": 1 - acc}}
    return RowResult(tasks=tasks, parameter_count=params, wall_time_seconds=wall)


def test_sorting_by_any_column_keeps_missing_values_last():
    specs = [RowSpec.for_fresh(m) for m in ("forgetnet", "no_forget", "fifo_memory", "tiny_transformer")]
    results = {
        specs[0].key: _result(0.5, params=30, wall=3.0),
        specs[1].key: _result(0.9, params=20, wall=1.0),
        specs[2].key: _result(None, error="boom"),
        # tiny_transformer: not evaluated
    }
    order = lambda col, desc=True: [r.model for r in build_rows(specs, results, sort_by=col, descending=desc)]  # noqa: E731
    assert order("changing_facts") == ["no_forget", "forgetnet", "fifo_memory", "tiny_transformer"]
    assert order("changing_facts", False) == ["forgetnet", "no_forget", "fifo_memory", "tiny_transformer"]
    assert order("stale")[:2] == ["forgetnet", "no_forget"]
    assert order("params", False)[:2] == ["no_forget", "forgetnet"]
    assert order("time")[:2] == ["forgetnet", "no_forget"]
    assert order("label", False) == ["fifo_memory", "forgetnet", "no_forget", "tiny_transformer"]
    with pytest.raises(ValueError, match="unknown column"):
        matrix.sort_value(build_rows(specs, results)[0], "nope")


def test_rows_from_caches_and_folder_names(runs_root):
    specs = by_name(runs_root)
    for key in ("seed1", "seed2", "seed3", "local"):
        evaluate_row(specs[key], FAST)
    rows = evaluations.rows_from_caches(runs_root)
    assert len(rows) == 4 and all(r.checkpoint for r in rows)
    grouped = evaluations.rows_from_caches(runs_root, group_seeds=True)
    assert len(grouped) == 2 and any(r.extra["n_seeds"] == 3 for r in grouped)
    name = matrix.export_folder_name(grouped, FAST, when=0)
    assert name.startswith("accuracy-") and "forgetnet" in name and "local_transformer" in name and "v2-8ex-len16" in name
    first = runs.unique_dir(runs_root.parent / "results", name)
    second = runs.unique_dir(runs_root.parent / "results", name)
    assert first.name == name and second.name == f"{name}-1"


def test_where_files_are_mentions_the_server_over_ssh(monkeypatch):
    for var in ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"):
        monkeypatch.delenv(var, raising=False)
    assert matrix.where_files_are() is None
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 5000 10.0.0.1 22")
    assert "on the server" in matrix.where_files_are()


def test_matrix_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, forgetnet_core.matrix, forgetnet_core.export; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"


# --------------------------------------------------------------------------- repeated seeds (issue 12)


def _sweep_spec(seed: int, sweep: str) -> RowSpec:
    """A run of one config in one of two sweeps: same config and seed, another run directory."""
    config = {"model": "forgetnet", "task": "changing_facts", "seed": seed, "lr": 1e-3, "sweep": sweep}
    run_dir = Path(f"/r/{sweep}-s{seed}")
    return RowSpec(str(run_dir), f"forgetnet · changing_facts · s{seed}", "forgetnet", run_dir, seed, config)


def _acc_result(acc: float) -> RowResult:
    low, high = max(0.0, acc - 0.02), acc + 0.03  # stand-ins for a Wilson interval over 160 examples
    return RowResult(tasks={"changing_facts": {"accuracy": acc, "ci_low": low, "ci_high": high, "examples": 160}})


def test_runs_sharing_a_seed_are_one_sample_not_two():
    """Two sweeps with the same config and seeds (1, 1, 2, 2): the interval is the two-seed one, not a four-seed one."""
    specs = [_sweep_spec(1, "a"), _sweep_spec(2, "a"), _sweep_spec(1, "b"), _sweep_spec(2, "b")]
    accs = {"/r/a-s1": 0.010, "/r/b-s1": 0.014, "/r/a-s2": 0.040, "/r/b-s2": 0.044}
    results = {key: _acc_result(acc) for key, acc in accs.items()}
    (group,) = build_rows(specs, results)
    cell = group.result.tasks["changing_facts"]
    per_seed = [0.012, 0.042]  # each seed's runs averaged first
    mean, low, high = stats.mean_interval(per_seed)
    assert cell["seed_accuracies"] == pytest.approx(per_seed)
    assert (cell["accuracy"], cell["ci_low"], cell["ci_high"]) == (pytest.approx(mean), pytest.approx(low), pytest.approx(high))
    wrong = stats.mean_interval(list(accs.values()))  # what counting four runs as four seeds gave
    assert wrong[2] - wrong[1] < (high - low) / 3  # far too narrow: the bug this guards against
    assert cell["n_seeds"] == 2 and cell["n_runs"] == 4 and cell["runs_per_seed"] == {"1": 2, "2": 2}
    assert group.result.n_seeds == 2 and group.result.n_runs == 4
    # Said in the row, in a note for the screen, and in what is exported.
    assert group.label == "forgetnet · changing_facts ×2 seeds (4 runs)"
    assert group.folded() == "4 runs of 2 seeds (seed 1 ×2, seed 2 ×2)"
    assert "seed 1 ×2" in matrix.folded_note([group]) and "averaged into one value per seed" in matrix.folded_note([group])
    (row,) = matrix.export_rows([group])
    assert row.extra["n_seeds"] == 2 and row.extra["n_runs"] == 4 and row.extra["seeds"] == [1, 2]
    assert row.extra["folded"] == group.folded()
    from forgetnet_core import export

    md = export.to_markdown([row])
    assert "Seeds with more than one run: forgetnet · changing_facts ×2 seeds (4 runs): 4 runs of 2 seeds" in md
    (first, *_) = export.table_records([row])
    assert first["n_seeds"] == 2 and first["n_runs"] == 4 and first["interval"] == "t"
    # Distinct seeds are not folded: no note, and the label says seeds only.
    (plain,) = build_rows(specs[:2], results)
    assert plain.label == "forgetnet · changing_facts ×2 seeds" and plain.folded() is None and matrix.folded_note([plain]) is None


def test_one_seed_run_twice_keeps_its_own_interval_not_a_zero_width_one():
    specs = [_sweep_spec(1, "a"), _sweep_spec(1, "b")]
    results = {"/r/a-s1": _acc_result(0.10), "/r/b-s1": _acc_result(0.20)}
    (group,) = build_rows(specs, results)
    cell = group.result.tasks["changing_facts"]
    assert group.label == "forgetnet · changing_facts ×1 seed (2 runs)"
    assert cell["accuracy"] == pytest.approx(0.15) and cell["n_seeds"] == 1 and cell["n_runs"] == 2
    assert (cell["ci_low"], cell["ci_high"]) == (pytest.approx(0.13), pytest.approx(0.18))  # the runs' own, averaged
    assert cell["interval"] != "t"


def test_an_expanded_group_with_repeated_seeds_exports_each_run_once_under_its_own_label():
    specs = [_sweep_spec(1, "a"), _sweep_spec(2, "a"), _sweep_spec(1, "b"), _sweep_spec(2, "b")]
    results = {s.key: _acc_result(0.02 + 0.01 * s.seed) for s in specs}
    rows = build_rows(specs, results, expanded={f"group:{specs[0].group_key()}"})
    exported = matrix.export_rows(rows, {s.key: s for s in specs})
    labels = [r.label for r in exported]
    assert len(exported) == 5 and len(set(labels)) == 5  # the mean, then each run once
    assert labels == [
        "forgetnet · changing_facts ×2 seeds (4 runs)",
        "forgetnet · changing_facts · s1 · a-s1", "forgetnet · changing_facts · s1 · b-s1",
        "forgetnet · changing_facts · s2 · a-s2", "forgetnet · changing_facts · s2 · b-s2",
    ]
    assert sorted(r.checkpoint for r in exported[1:]) == sorted(str(s.checkpoint) for s in specs)
    assert all(r.extra["group"] == rows[0].key for r in exported[1:])
    # Even rows that arrive with equal labels get told apart in the figures and tables.
    from forgetnet_core import export

    assert export.unique_labels(["a", "b", "a", "a"]) == ["a", "b", "a #2", "a #3"]


# --------------------------------------------------------------------------- forgetnet plot's rows


def _eval_run(root: Path, stamp: str, checkpoint: str | None, acc: float, seq_len: int = 16, model: str = "forgetnet") -> Path:
    """An eval-<stamp>/metrics.json as `forgetnet eval --batches 1 --batch-size 8 --seq-len N` writes it."""
    tasks = {
        t: {"accuracy": acc, "ci_low": 0.0, "ci_high": min(1.0, acc + 0.2), "examples": 8, "suite": "v2",
            "seq_len": 3 * seq_len if t == "length_extrapolation" else seq_len}
        for t in FAST.tasks
    }
    folder = root / f"eval-{stamp}"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text(json.dumps({
        "kind": "eval", "model": model, "checkpoint": checkpoint, "parameter_count": 10,
        "config": {"suite": "v2", "batches": 1, "batch_size": 8, "seq_len": seq_len, "seed": 123}, "tasks": tasks,
    }))
    return folder / "metrics.json"


def test_plot_rows_one_row_per_checkpoint_and_settings_the_newest(runs_root):
    specs = by_name(runs_root)
    run = specs["seed1"].run_dir
    older = _eval_run(runs_root, "20200101-000000", str(run / "checkpoint.pt"), 0.25)
    newer = _eval_run(runs_root, "20200102-000000", str(run), 0.50)  # the run directory, as `--checkpoint DIR` records it
    other = _eval_run(runs_root, "20200103-000000", str(run / "checkpoint.pt"), 0.75, seq_len=32)
    _eval_run(runs_root, "20200104-000000", None, 0.1, model="no_forget")
    _eval_run(runs_root, "20200105-000000", None, 0.2, model="no_forget")
    rows, notices = evaluations.plot_rows(runs_root)
    mine = [r for r in rows if r.model == "forgetnet"]
    assert len(mine) == 2  # one per settings, not one per evaluation
    by_len = {r.tasks["multi_hop"]["seq_len"]: r for r in mine}
    assert by_len[16].tasks["multi_hop"]["accuracy"] == 0.50  # the newest of the two alike
    assert by_len[32].tasks["multi_hop"]["accuracy"] == 0.75
    assert "len16" in by_len[16].label and "len32" in by_len[32].label and by_len[16].label != by_len[32].label
    fresh = [r for r in rows if r.model == "no_forget"]
    assert len(fresh) == 1 and fresh[0].tasks["multi_hop"]["accuracy"] == 0.2
    assert any(str(older) in n and str(newer) in n for n in notices)
    assert not any(str(other) in n for n in notices)
    # The Evaluate screen's cache of the same checkpoint, evaluated the same way but later, supersedes them.
    evaluate_row(specs["seed1"], FAST)
    rows, notices = evaluations.plot_rows(runs_root)
    (alike,) = [r for r in rows if r.model == "forgetnet" and r.tasks["multi_hop"]["seq_len"] == 16]
    cached = results.cached_result(run, FAST)
    assert alike.tasks["multi_hop"]["accuracy"] == cached.tasks["multi_hop"]["accuracy"]
    assert any(str(newer) in n and results.CACHE_FILE in n for n in notices)
    assert len({r.label for r in rows}) == len(rows)


def test_plot_rows_notices_unreadable_files_and_folds_seeds(runs_root):
    specs = by_name(runs_root)
    bad = runs_root / "eval-20200101-000000"
    bad.mkdir()
    (bad / "metrics.json").write_text('{"kind": "eval", "tasks": {')
    empty = runs_root / "eval-20200101-000001"
    empty.mkdir()
    (empty / "metrics.json").write_text('{"kind": "eval", "model": "forgetnet", "tasks": {}}')
    rows, notices = evaluations.plot_rows(runs_root)
    assert rows == []
    assert notices == [f"skipped {bad / 'metrics.json'}: not a readable JSON object",
                       f"skipped {empty / 'metrics.json'}: no per-task accuracy in it"]
    (specs["seed1"].run_dir / results.CACHE_FILE).write_text("{not json")
    assert any(f"skipped {specs['seed1'].run_dir / results.CACHE_FILE}" in n for n in evaluations.plot_rows(runs_root)[1])
    # Seeds 1 and 2 evaluated by `forgetnet eval`, seed 3 on screen 3, alike: one group of three seeds.
    for i, key in enumerate(("seed1", "seed2")):
        _eval_run(runs_root, f"20200102-00000{i}", str(specs[key].checkpoint), 0.25 * (i + 1), seq_len=16)
    evaluate_row(specs["seed3"], FAST)
    grouped, _ = evaluations.plot_rows(runs_root, group_seeds=True)
    (group,) = [r for r in grouped if r.extra.get("n_seeds") == 3]
    assert group.label == "forgetnet · changing_facts ×3 seeds"
