"""Evaluate screen: the matrix fills from the caches and the evaluator, groups seeds, sorts, cancels and exports."""

from __future__ import annotations

import csv
import io
import shutil
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, Label

from forgetnet_core import listing, matrix, results, stats
from forgetnet_core.config import EvalSettings, TaskKnobs
from forgetnet_core.matrix import RowSpec, evaluate_row
from forgetnet_tui.dialogs.export_dialog import ExportDialog
from forgetnet_tui.dialogs.fresh_model_picker import FreshModelPicker
from forgetnet_tui.screens.evaluate import EvaluateScreen
from forgetnet_tui.widgets.eval_matrix import EvalMatrix

from .helpers import wait_for

FAST = EvalSettings(examples=8, seq_len=16, batch_size=8)
TINY = dict(steps=2, seq_len=16, batch_size=4, d_model=16, memory_slots=4, eval_batches=1, eval_every=0, device="cpu")


def make_runs(root: Path) -> None:
    """Three seeds of one experiment, one local_transformer, and a run whose checkpoint is garbage."""
    from forgetnet_core.config import TrainConfig
    from forgetnet_core.train import train

    for seed in (1, 2, 3):
        train(TrainConfig(seed=seed, **TINY), runs_dir=root)
    train(TrainConfig(model="local_transformer", **TINY), runs_dir=root)
    broken = root / "broken-run"
    broken.mkdir()
    (broken / "config.json").write_text('{"model": "forgetnet", "task": "changing_facts", "seed": 9}')
    (broken / "checkpoint.pt").write_bytes(b"\x00 not a checkpoint")


class Host(App):
    """Just the Evaluate screen, built by a factory (so tests choose the evaluator and the results folder)."""

    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.notes: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())

    def notify(self, message, **kwargs):  # type: ignore[override]
        self.notes.append(str(message))
        return super().notify(message, **kwargs)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("eval-screen-runs")
    make_runs(root)
    return root


@pytest.fixture
def runs_root(trained: Path, tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(trained, root)
    return root


def cells(screen: EvaluateScreen, key: str) -> list[str]:
    table = screen.query_one(EvalMatrix)
    return [str(getattr(c, "plain", c)) for c in table.get_row(key)]


async def loaded(pilot) -> EvaluateScreen:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, EvaluateScreen) and pilot.app.screen.state.loaded, what="rows loaded")
    return pilot.app.screen


async def test_evaluate_fills_the_matrix_groups_seeds_and_shows_a_broken_checkpoint(runs_root, tmp_path):
    app = Host(lambda: EvaluateScreen(runs_root, results_dir=tmp_path / "results", settings=FAST))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert len(screen.state.specs) == 5
        assert all("not evaluated" in cells(screen, row.key)[1] for row in screen.state.rows)
        await pilot.press("e")
        await wait_for(pilot, lambda: not screen.state.evaluating, timeout=30, what="evaluation")
        kinds = {row.kind: row for row in screen.state.rows}
        group = kinds["group"]
        assert group.label == "forgetnet · changing_facts ×3 seeds" and group.result.n_seeds == 3
        assert cells(screen, group.key)[1] == "✓ 3 seeds"
        # Each heatmap cell is accuracy [95% interval], exactly the aggregate's numbers.
        cf = group.result.tasks["changing_facts"]
        text = cells(screen, group.key)[3]
        assert text.startswith(f"{100 * cf['accuracy']:.1f}% [")  # a percentage, as everywhere in the lab
        broken = next(row for row in screen.state.rows if row.key.endswith("broken-run"))
        row_text = "".join(cells(screen, broken.key)[2:7])
        assert cells(screen, broken.key)[1] == "✗ error" and "corrupt" in row_text
        # Caches for the four good runs, none for the broken one.
        cached = sorted(p.parent.name for p in runs_root.glob(f"*/{results.CACHE_FILE}"))
        assert len(cached) == 4 and "broken-run" not in cached
        assert any("Evaluated 5 row(s)" in note and "1 error" in note for note in app.notes)

        # Expand the group (enter on it), then sort by a column.
        table = screen.query_one(EvalMatrix)
        table.move_cursor(row=table.get_row_index(group.key))
        await pilot.press("enter")
        await pilot.pause()
        labels = [row.label for row in screen.state.rows]
        i = labels.index(group.label)
        assert labels[i + 1 : i + 4] == ["seed 1", "seed 2", "seed 3"]
        await pilot.press("s", "s")  # off -> label -> associative_lookup
        assert screen.state.sort_by == "associative_lookup" and screen.state.descending
        top = [row for row in screen.state.rows if row.kind != "member"]
        values = [matrix.sort_value(row, "associative_lookup") for row in top]
        present = [v for v in values if v is not None]
        assert present == sorted(present, reverse=True) and values[-1] is None  # the broken row sorts last
        await pilot.press("S")
        assert not screen.state.descending

        # A fresh model as a row: pick it, evaluate only what is missing.
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, FreshModelPicker), what="fresh picker")
        await pilot.press("down", "enter")  # no_forget
        await pilot.pause()
        fresh = next(s for s in screen.state.specs if s.fresh)
        assert fresh.model == "no_forget"
        await pilot.press("e")
        await wait_for(pilot, lambda: not screen.state.evaluating and fresh.key in screen.state.results, timeout=30, what="fresh row")
        assert screen.state.results[fresh.key].ok and screen.state.results[fresh.key].parameter_count == 104_512


async def test_cancel_stops_the_worker_and_leaves_no_partial_cache(runs_root, tmp_path):
    started = threading.Event()

    def slow(spec, settings, device, stop, on_progress, use_cache):
        def progress(done, total):
            on_progress(done, total)
            started.set()
            stop.wait(10)  # hold the first batch until the user cancels

        return evaluate_row(spec, settings, device, stop, progress, use_cache)

    app = Host(lambda: EvaluateScreen(runs_root, results_dir=tmp_path / "results", row_evaluator=slow, settings=FAST))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("e")
        await wait_for(pilot, started.is_set, what="first batch")
        await wait_for(pilot, lambda: any("━" in cells(screen, row.key)[1] for row in screen.state.rows), what="a progress bar")
        form = screen.query_one("#eval-settings")
        assert form.disabled  # settings are locked while evaluating
        await pilot.press("c")
        await wait_for(pilot, lambda: not screen.state.evaluating, what="the worker to stop")
        assert not list(runs_root.glob(f"*/{results.CACHE_FILE}"))
        assert not list(runs_root.glob("*/.*.tmp"))
        assert not screen.state.results
        assert any("cancelled" in cells(screen, row.key)[1] for row in screen.state.rows)
        assert any("cancelled" in note for note in app.notes)
        assert not form.disabled


async def test_export_writes_valid_files_named_after_what_they_show(runs_root, tmp_path, monkeypatch):
    monkeypatch.setenv("SSH_CONNECTION", "10.0.0.2 50000 10.0.0.1 22")
    specs = listing.checkpoint_rows(runs_root)
    truth = {s.key: evaluate_row(s, FAST) for s in specs}  # cached before the screen opens
    results_dir = tmp_path / "results"
    app = Host(lambda: EvaluateScreen(runs_root, results_dir=results_dir, settings=FAST))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        good = [row for row in screen.state.rows if row.result is not None and row.result.ok]
        assert len(good) == 2 and all(row.result.cached for row in good)  # the group and local_transformer
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog), what="export dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(screen.last_export), timeout=30, what="export")
        (folder,) = results_dir.iterdir()
        assert folder.name.startswith("accuracy-") and "-v2-8ex-len16-" in folder.name
        assert "forgetnet" in folder.name and "local_transformer" in folder.name
        names = {p.name for p in screen.last_export}
        assert {"accuracy_by_task.png", "accuracy_heatmap.svg", "results.csv", "results.md", "evaluate_screen.svg"} <= names
        assert (folder / "accuracy_by_task.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        shot = ET.parse(folder / "evaluate_screen.svg").getroot()
        assert shot.tag.endswith("svg")
        assert "forgetnet · changing_facts ×3 seeds" in (folder / "evaluate_screen.svg").read_text().replace("&#160;", " ")
        records = list(csv.DictReader(io.StringIO((folder / "results.csv").read_text())))
        assert len(records) == 2 * len(FAST.tasks)
        local = next(s for s in specs if s.model == "local_transformer")
        for rec in records:
            if rec["model"] == "local_transformer":
                assert float(rec["accuracy"]) == truth[local.key].tasks[rec["task"]]["accuracy"]
        note = next(n for n in app.notes if n.startswith("Exported"))
        assert str(folder) in note and "on the server" in note and "results.csv" in note


async def test_settings_are_validated_beside_the_fields(runs_root, tmp_path):
    app = Host(lambda: EvaluateScreen(runs_root, results_dir=tmp_path / "results", settings=FAST))
    async with app.run_test(size=(160, 40)) as pilot:
        screen = await loaded(pilot)
        seq_len = screen.query_one("#setting-seq_len", Input)
        seq_len.value = "9"
        await pilot.pause()
        error = screen.query_one("#error-seq_len", Label)
        assert error.display and "at least 14" in str(error.render())
        assert screen.state.settings == FAST  # an invalid form leaves the settings as they were
        seq_len.value = "200"
        await pilot.pause()
        assert "600 exceeds max_seq_len 512" in str(screen.query_one("#error-extrapolation_len", Label).render())
        screen.query_one("#setting-extrapolation_len", Input).value = "300"
        await pilot.pause()
        assert not screen.query_one("#error-seq_len", Label).display
        assert screen.state.settings.seq_len == 200 and screen.state.settings.extrapolation_length == 300
        assert "len 200/300" in str(screen.query_one("#eval-title", Label).render())


async def test_the_matrix_fits_80x24(runs_root, tmp_path):
    evaluate_row(RowSpec.for_run(next(p for p in runs_root.iterdir() if p.name.startswith("local"))), FAST)
    app = Host(lambda: EvaluateScreen(runs_root, results_dir=tmp_path / "results", settings=FAST))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        assert screen.query_one("#eval-settings-pane").has_class("-hidden")  # o shows it
        table = screen.query_one(EvalMatrix)
        assert table.region.width == 80 and table.region.height >= 8
        await pilot.press("o")
        assert not screen.query_one("#eval-settings-pane").has_class("-hidden")
        assert app.focused is screen.query_one("#setting-examples")
        await pilot.press("escape")
        assert app.focused is table


async def test_repeated_seeds_are_folded_said_and_exported_beside_the_runs(runs_root, tmp_path, monkeypatch):
    """A second sweep of seeds 1 and 2 (copies of those runs): one group of 3 seeds, 5 runs, told and exported so."""
    for spec in listing.checkpoint_rows(runs_root):
        if spec.run_dir.name != "broken-run":
            evaluate_row(spec, FAST)
    for spec in listing.checkpoint_rows(runs_root):
        if spec.model == "forgetnet" and spec.seed in (1, 2):
            shutil.copytree(spec.run_dir, runs_root / f"{spec.run_dir.name}-again")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    app = Host(lambda: EvaluateScreen(runs_root, settings=FAST))  # no results_dir: the default
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        group = next(row for row in screen.state.rows if row.kind == "group")
        assert group.label == "forgetnet · changing_facts ×3 seeds (5 runs)"
        assert group.result.n_seeds == 3 and group.result.n_runs == 5
        by_seed = {}
        for spec in screen.state.specs:
            if spec.key in group.members:
                by_seed.setdefault(spec.seed, []).append(screen.state.results[spec.key].tasks["multi_hop"]["accuracy"])
        mean, low, high = stats.mean_interval([sum(v) / len(v) for _, v in sorted(by_seed.items())])
        cell = group.result.tasks["multi_hop"]
        assert (cell["accuracy"], cell["ci_low"], cell["ci_high"]) == (pytest.approx(mean), pytest.approx(low), pytest.approx(high))
        assert cells(screen, group.key)[1] == "✓ 3 seeds"
        assert any("seed 1 ×2, seed 2 ×2" in note and "averaged" in note for note in app.notes)
        table = screen.query_one(EvalMatrix)
        table.move_cursor(row=table.get_row_index(group.key))
        await pilot.pause()
        assert "averaged first" in str(screen.query_one("#eval-detail").render())
        await pilot.press("enter")  # expanded: the export lists the mean and each run once
        await pilot.pause()
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ExportDialog), what="export dialog")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(screen.last_export), timeout=30, what="export")
        (folder,) = (runs_root.parent / "results").iterdir()
        assert not (elsewhere / "results").exists()
        records = list(csv.DictReader(io.StringIO((folder / "results.csv").read_text())))
        labels = [r["label"] for r in records if r["task"] == "multi_hop"]
        assert len(labels) == len(set(labels)) == 1 + 5 + 1  # the group, its 5 runs, local_transformer
        mean_row = next(r for r in records if r["label"] == group.label and r["task"] == "multi_hop")
        assert mean_row["n_seeds"] == "3" and mean_row["n_runs"] == "5"
        assert "5 runs of 3 seeds (seed 1 ×2, seed 2 ×2)" in (folder / "results.md").read_text()
        assert any(n.startswith("Exported") and "Repeated seeds" in n for n in app.notes)


def test_the_lab_exports_beside_its_runs_directory_or_to_results_dir(tmp_path, monkeypatch):
    from forgetnet_tui.app import ForgetNetLab, build_parser

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert ForgetNetLab(runs_dir=tmp_path / "data" / "runs").results_dir == tmp_path / "data" / "results"
    assert ForgetNetLab(runs_dir="runs").results_dir == tmp_path / "results"  # the runs directory's parent, spelled out
    args = build_parser().parse_args(["--runs-dir", "data/runs", "--results-dir", "out/figs"])
    app = ForgetNetLab(runs_dir=args.runs_dir, results_dir=args.results_dir)
    assert app.results_dir == tmp_path / "out" / "figs" and app.results_dir.is_absolute()
    assert build_parser().parse_args([]).results_dir is None
    assert EvaluateScreen(tmp_path / "data" / "runs").export_root() == tmp_path / "data" / "results"


async def test_the_evaluate_screen_exports_where_the_app_says(runs_root, tmp_path):
    from forgetnet_tui.app import ForgetNetLab

    app = ForgetNetLab(runs_dir=runs_root, results_dir=tmp_path / "figs", screen="evaluate", resolve_device=False)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        assert screen.export_root() == tmp_path / "figs"


def test_difficulty_values_are_checked_for_the_task():
    from forgetnet_tui.dialogs.difficulty import parse_values

    settings = EvalSettings(seq_len=64)
    assert parse_values("records", "16, 4,8", "associative_lookup", settings) == ([4, 8, 16], None)
    assert "do not fit" in parse_values("records", "4,30", "associative_lookup", settings)[1]
    assert "whole numbers" in parse_values("keys", "4,x", "changing_facts", settings)[1]
    assert "twice" in parse_values("keys", "4,4", "changing_facts", settings)[1]
    assert parse_values("overwrites", "", "changing_facts", settings)[1].startswith("give at least one value")


async def test_difficulty_dialog_scores_every_row_at_each_value_and_exports_the_figure(runs_root, tmp_path):
    from forgetnet_tui.dialogs.difficulty import DifficultyDialog, render_table

    app = Host(lambda: EvaluateScreen(runs_root, results_dir=tmp_path / "results", settings=FAST))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DifficultyDialog), what="difficulty dialog")
        dialog = app.screen
        dialog.query_one("#difficulty-task").value = "associative_lookup"
        dialog.query_one("#difficulty-values", Input).value = "2, 4"
        await pilot.pause()
        assert dialog.checked_values() == [2, 4]
        await pilot.press("enter")  # in the values field: score (e does the same when the field has no focus)
        await wait_for(pilot, lambda: dialog.samples and not dialog.running, timeout=60, what="scoring")
        good = [line for line in dialog.lines if all(spec.run_dir.name != "broken-run" for spec in line.specs)]
        assert {(s.line, s.x) for s in dialog.samples} == {(line.label, x) for line in good for x in (2, 4)}
        group = next(line for line in dialog.lines if "×3 seeds" in line.label)
        assert len([s for s in dialog.samples if s.line == group.label]) == 6  # 3 seeds x 2 values
        table = render_table(dialog.lines, dialog.samples, [2, 4], "associative_lookup", 100).plain
        assert group.label[:20] in table and "·" in table  # the broken row has no numbers
        cached = results.cached_result(group.specs[0].run_dir, EvalSettings(examples=8, seq_len=16, batch_size=8,
                                      tasks=("associative_lookup",), knobs=TaskKnobs(records=4)))
        assert cached is not None  # each (checkpoint, knob value) lands in the run's cache
        await pilot.press("x")
        await wait_for(pilot, lambda: any("Exported to" in n for n in app.notes), timeout=30, what="export")
        pngs = list((tmp_path / "results").glob("difficulty-records-associative_lookup-*/difficulty_records.png"))
        assert len(pngs) == 1 and pngs[0].stat().st_size > 10_000
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
