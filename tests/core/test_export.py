"""Exports are valid files (PNG, SVG, PDF, CSV, JSON, Markdown) holding exactly the evaluator's numbers."""

from __future__ import annotations

import csv
import io
import json
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from forgetnet_core import cli, export, matrix, stats
from forgetnet_core.config import EvalSettings
from forgetnet_core.matrix import RowSpec, build_rows, evaluate_row

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
            mean, low, high = stats.mean_interval(members)
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


# --------------------------------------------------------------------------- figures a paper can use (issue 12)

LONG = "forgetnet_delta_no_surprise"


def _row(label: str, accs: dict[str, float], model: str = "forgetnet", **extra) -> export.FigureRow:
    tasks = {t: {"accuracy": a, "ci_low": max(0.0, a - 0.01), "ci_high": a + 0.015} for t, a in accs.items()}
    return export.FigureRow(label, model, tasks, extra=dict(extra))


def _near_chance_rows() -> list[export.FigureRow]:
    tasks = list(FAST.tasks)
    return [
        _row("forgetnet (run-a)", {t: 0.02 + 0.004 * i for i, t in enumerate(tasks)}),
        _row(f"{LONG} · changing_facts lr=0.001 ×3 seeds (6 runs)", {t: 0.03 for t in tasks}, model=LONG),
        _row("no_forget (run-b)", {**{t: 0.025 for t in tasks}, "multi_hop": 0.0}, model="no_forget"),
    ]


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_the_chance_level_is_one_in_the_number_of_values():
    from forgetnet_core import tasks

    assert export.CHANCE_VALUES == tasks.NUM_VALUES and export.CHANCE == pytest.approx(1 / 48)
    rows = _near_chance_rows()
    assert export.chance_of(rows) == pytest.approx(1 / 48)
    assert export.chance_of([_row("a", {"multi_hop": 0.1}, settings={"knobs": {"values": 8}})]) == pytest.approx(1 / 8)
    mixed = [_row("a", {"multi_hop": 0.1}, settings={"knobs": {"values": 8}}), rows[0]]
    assert export.chance_of(mixed) is None  # no one line is chance for both


def test_bars_axis_follows_the_data_with_a_chance_line_and_visible_zero_bars():
    rows = _near_chance_rows()
    fig = export.accuracy_figure(rows)
    ax = fig.axes[0]
    low, high = ax.get_ylim()
    highest = max(r["ci_high"] for row in rows for r in row.tasks.values())
    assert low == 0 and highest < high <= 0.1  # scaled to the data, not 0-1 with every bar squashed at the bottom
    chance = [line for line in ax.get_lines() if line.get_label().startswith("chance")]
    assert len(chance) == 1 and list(chance[0].get_ydata()) == [pytest.approx(1 / 48)] * 2
    # The zero bar (no_forget on multi_hop) is drawn as an outline a little above the axis.
    (stub,) = [p for p in ax.patches if p.get_gid() == "zero-bar"]
    j = export.task_columns(rows).index("multi_hop")
    assert j - 0.5 < stub.get_x() < j + 0.5 and stub.get_height() > 0 and stub.get_edgecolor()[3] > 0
    # High accuracy: the whole 0-1 range.
    assert export.accuracy_figure([_row("x", {"multi_hop": 0.95})]).axes[0].get_ylim()[1] == pytest.approx(1.05)
    # The heatmap's colour scale follows the data too, and its numbers have the digits to tell 0.021 from 0.025.
    heat = export.heatmap_figure(rows)
    assert heat.axes[0].images[0].get_clim() == (0, pytest.approx(0.1))  # the data reach 0.04: 0-0.1 (at least 4 x chance)
    assert export.heatmap_figure([_row("x", {"multi_hop": 0.5})]).axes[0].images[0].get_clim() == (0, pytest.approx(0.6))
    assert "0.025" in [t.get_text().splitlines()[0] for t in heat.axes[0].texts]


def test_no_label_is_clipped_overlapping_or_listed_twice():
    rows = _near_chance_rows() + [
        _row("forgetnet (run-a)", {t: 0.01 for t in FAST.tasks}),  # a repeated label
        _row(f"{LONG} · changing_facts · s42 · {LONG}-changing_facts-20261126-101500-1", {t: 0.02 for t in FAST.tasks}, model=LONG),
    ]
    for fig in (export.accuracy_figure(rows, "Held-out accuracy by task\n" + FAST.describe()), export.heatmap_figure(rows)):
        renderer = _drawn(fig)
        page = fig.bbox
        ax = fig.axes[0]
        texts = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()] + [ax.title]
        texts += [t for legend in fig.legends for t in legend.get_texts()]
        boxes = [t.get_window_extent(renderer) for t in texts]
        for text, box in zip(texts, boxes):
            assert page.x0 - 1 <= box.x0 and box.x1 <= page.x1 + 1 and page.y0 - 1 <= box.y0 and box.y1 <= page.y1 + 1, text.get_text()
        ticks = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
        for a, b in zip(ticks, ticks[1:]):
            assert a.x1 <= b.x0, "x tick labels overlap"
    legend = export.accuracy_figure(rows).legends[0]
    names = [t.get_text() for t in legend.get_texts()]
    assert len(names) == len(set(names)) and "forgetnet (run-a) #2" in names
    assert any(LONG in name.replace("\n", "") for name in names)


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


def test_the_labs_export_folders_are_git_ignored_and_committed_results_are_not():
    import shutil
    import subprocess

    root = Path(__file__).resolve().parents[2]
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=root).returncode == 0

    assert ignored("results/accuracy-forgetnet-v2-160ex-len64-20260101-000000/accuracy_by_task.png")
    assert ignored("results/stepper-forgetnet-changing_facts-seed0-t12-20260101-000000.png")
    assert ignored("results/stepper-a-vs-b-changing_facts-seed0-t3-20260101-000000-a.png")
    assert not ignored("results/headline-v2/headline.png")
    assert not ignored("results/headline-v2/headline.md")
