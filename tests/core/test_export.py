"""Exports are valid files (PNG, SVG, PDF, CSV, JSON, Markdown) holding exactly the evaluator's numbers."""

from __future__ import annotations

import csv
import io
import json
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from forgetnet_core import cli, export, matrix
from forgetnet_core.matrix import EvalSettings, RowSpec, build_rows, evaluate_row

FAST = EvalSettings(examples=8, seq_len=16, batch_size=8)
SIZES = {"d_model": 16, "memory_slots": 4}


@pytest.fixture(scope="module")
def evaluated():
    """Fresh tiny models evaluated by the real evaluator: two seeds of forgetnet (a group) and a transformer."""
    specs = [RowSpec.for_fresh("forgetnet", 0), RowSpec.for_fresh("forgetnet", 1), RowSpec.for_fresh("local_transformer", 0)]
    results = {s.key: evaluate_row(s, FAST, model_overrides=SIZES) for s in specs}
    assert all(r.ok for r in results.values())
    return specs, results


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_every_format_is_valid_and_holds_the_evaluators_numbers(evaluated, tmp_path):
    specs, results = evaluated
    lines = build_rows(specs, results, expanded={"group:fresh:forgetnet"})
    rows = matrix.export_rows(lines, {s.key: s for s in specs})
    assert [r.label for r in rows] == [
        "forgetnet (fresh) ×2 seeds", "forgetnet (fresh, seed 0)", "forgetnet (fresh, seed 1)", "local_transformer (fresh, seed 0)",
    ]
    written = export.export_all(rows, tmp_path, export.FORMATS, subtitle=FAST.describe())
    names = sorted(p.name for p in written)
    assert names == sorted(
        [f"accuracy_{kind}.{ext}" for kind in ("by_task", "heatmap") for ext in ("png", "svg", "pdf")]
        + ["results.csv", "plot_data.json", "results.json", "results.md"]
    )
    for kind in ("by_task", "heatmap"):
        width, height = png_size(tmp_path / f"accuracy_{kind}.png")
        assert width >= 600 and height >= 300
        root = ET.parse(tmp_path / f"accuracy_{kind}.svg").getroot()
        assert root.tag.endswith("svg")
        assert (tmp_path / f"accuracy_{kind}.pdf").read_bytes()[:5] == b"%PDF-"

    # CSV: the header, one line per (row, task), and the evaluator's numbers to the last digit.
    records = list(csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text())))
    assert list(records[0].keys()) == export.TABLE_FIELDS
    assert len(records) == len(rows) * len(FAST.tasks)
    assert {(r["label"], r["task"]) for r in records} == {(row.label, t) for row in rows for t in FAST.tasks}
    for rec in records:
        if rec["label"].endswith("seeds"):
            members = [results[s.key].tasks[rec["task"]]["accuracy"] for s in specs[:2]]
            mean, low, high = matrix.mean_interval(members)
            assert float(rec["accuracy"]) == mean and float(rec["ci_low"]) == low and float(rec["ci_high"]) == high
            assert rec["interval"] == "t" and rec["n_seeds"] == "2"
            continue
        spec = next(s for s in specs if s.label == rec["label"])
        truth = results[spec.key].tasks[rec["task"]]
        for key in ("accuracy", "ci_low", "ci_high"):
            assert float(rec[key]) == truth[key], (rec["label"], rec["task"], key)
        assert int(rec["examples"]) == truth["examples"] == 8
        assert int(rec["seq_len"]) == (48 if rec["task"] == "length_extrapolation" else 16)
        assert rec["interval"] == "wilson" and rec["n_seeds"] == "1"
        assert int(rec["parameter_count"]) == results[spec.key].parameter_count
        if rec["task"] == "changing_facts":
            assert float(rec["stale_rate"]) == truth["stale_rate"]

    # JSON: results.json round-trips the full results; plot_data.json keeps the original's shape.
    data = json.loads((tmp_path / "results.json").read_text())
    local = next(r for r in data["rows"] if r["model"] == "local_transformer")
    assert local["tasks"] == json.loads(json.dumps(results[specs[2].key].tasks))
    plot = json.loads((tmp_path / "plot_data.json").read_text())
    assert plot["tasks"] == list(FAST.tasks)
    assert plot["series"][3]["accuracy"] == {t: results[specs[2].key].tasks[t]["accuracy"] for t in FAST.tasks}

    # Markdown: a header, a rule, one line per row, the note on intervals.
    md = (tmp_path / "results.md").read_text().splitlines()
    assert md[0].startswith("| model | associative_lookup |") and md[1].startswith("|---")
    assert len([line for line in md if line.startswith("| ")]) == 1 + len(rows)
    acc = results[specs[2].key].tasks["multi_hop"]
    assert f"{acc['accuracy']:.2f} [{acc['ci_low']:.2f}, {acc['ci_high']:.2f}]" in md[5]
    assert "Student-t interval across seeds" in md[-1]


def test_unknown_format_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="unknown export format"):
        export.export_all([], tmp_path, ["gif"])


def test_plot_command_writes_the_originals_outputs_and_more(tmp_path, capsys):
    from forgetnet_core.config import TrainConfig
    from forgetnet_core.train import train

    runs_dir = tmp_path / "runs"
    tiny = dict(steps=2, seq_len=16, batch_size=4, d_model=16, memory_slots=4, eval_batches=1, eval_every=0, device="cpu")
    run = train(TrainConfig(**tiny), runs_dir=runs_dir)
    truth = evaluate_row(RowSpec.for_run(run), FAST)  # what the Evaluate screen cached
    code = cli.main(["plot", "--runs", str(runs_dir), "--output-dir", str(tmp_path / "results")])
    out, err = capsys.readouterr()
    assert code == 0, err
    results = tmp_path / "results"
    for name in ("accuracy_by_task.png", "plot_data.json", "accuracy_heatmap.png", "results.csv", "results.json", "results.md"):
        assert (results / name).exists(), name
        assert str(results / name) in out
    png_size(results / "accuracy_heatmap.png")
    plot = json.loads((results / "plot_data.json").read_text())
    assert plot["series"][0]["accuracy"] == {t: truth.tasks[t]["accuracy"] for t in FAST.tasks}


# --------------------------------------------------------------------------- seeds folded in the tables (issue 12)


def _row(label: str, accs: dict[str, float], model: str = "forgetnet", **extra) -> export.ResultRow:
    tasks = {t: {"accuracy": a, "ci_low": max(0.0, a - 0.01), "ci_high": a + 0.015} for t, a in accs.items()}
    return export.ResultRow(label, model, tasks, extra=dict(extra))


def test_results_md_and_csv_say_when_a_seeds_runs_were_folded(tmp_path):
    folded = _row("forgetnet · changing_facts ×2 seeds (4 runs)", {"changing_facts": 0.03}, n_seeds=2, n_runs=4,
                  folded="4 runs of 2 seeds (seed 1 ×2, seed 2 ×2)", runs_per_seed={"1": 2, "2": 2})
    export.export_all([folded], tmp_path, ["csv", "md"])
    md = (tmp_path / "results.md").read_text()
    assert "4 runs of 2 seeds (seed 1 ×2, seed 2 ×2)" in md and "averaged into one value per seed first" in md
    (rec,) = csv.DictReader(io.StringIO((tmp_path / "results.csv").read_text()))
    assert rec["n_seeds"] == "2" and rec["n_runs"] == "4"


# --------------------------------------------------------------------------- forgetnet plot (issue 12)


def _eval_dir(runs_dir: Path, stamp: str, checkpoint: str | None, acc: float) -> Path:
    folder = runs_dir / f"eval-{stamp}"
    folder.mkdir(parents=True)
    tasks = {"multi_hop": {"accuracy": acc, "ci_low": 0.0, "ci_high": 0.1, "examples": 160, "seq_len": 64}}
    (folder / "metrics.json").write_text(json.dumps({
        "kind": "eval", "model": "forgetnet", "checkpoint": checkpoint, "parameter_count": 1,
        "config": {"suite": "v2", "batches": 5, "batch_size": 32, "seq_len": 64, "seed": 123}, "tasks": tasks,
    }))
    return folder / "metrics.json"


def test_plot_lists_a_checkpoint_evaluated_twice_once(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    run = runs_dir / "forgetnet-multi_hop-20260101-000000"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"model": "forgetnet", "task": "multi_hop", "seed": 1}))
    first = _eval_dir(runs_dir, "20260101-000001", str(run / "checkpoint.pt"), 0.02)
    _eval_dir(runs_dir, "20260101-000002", str(run / "checkpoint.pt"), 0.04)
    code = cli.main(["plot", "--runs", str(runs_dir), "--output-dir", str(tmp_path / "out"), "--formats", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    series = json.loads((tmp_path / "out" / "plot_data.json").read_text())["series"]
    assert len(series) == 1 and series[0]["accuracy"] == {"multi_hop": 0.04}  # the newest
    assert f"forgetnet: skipped {first}" in err


def test_plot_names_a_corrupt_eval_file_instead_of_skipping_it_silently(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    bad = runs_dir / "eval-20260101-000000" / "metrics.json"
    bad.parent.mkdir(parents=True)
    bad.write_text('{"kind": "eval", "tasks": {"multi_hop": {"accur')
    code = cli.main(["plot", "--runs", str(runs_dir), "--output-dir", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert lines[0] == f"forgetnet: skipped {bad}: not a readable JSON object"
    assert "no evaluation results" in lines[1] and len(lines) == 2
    # Beside a good result it is still named, and the good one is plotted.
    _eval_dir(runs_dir, "20260101-000001", None, 0.03)
    assert cli.main(["plot", "--runs", str(runs_dir), "--output-dir", str(tmp_path / "out"), "--formats", "csv"]) == 0
    assert str(bad) in capsys.readouterr().err
