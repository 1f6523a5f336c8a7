"""Sweeps in the TUI: one collapsible row with its progress on the Runs screen, and a sweep in one step on Evaluate."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from textual.widgets import Input

from forgetnet_core import runs
from forgetnet_core.config import EvalSettings, TrainConfig
from forgetnet_core.listing import RunLister
from forgetnet_core.sweep import create_sweep, evaluate_run
from forgetnet_core.train import train
from forgetnet_tui.dialogs.confirm import ConfirmScreen
from forgetnet_tui.dialogs.sweep_picker import SweepPicker
from forgetnet_tui.screens.evaluate import EvaluateScreen
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.runs_table import SWEEP_KEY, RunsTable

from .helpers import wait_for, write_run

BASE = TrainConfig(steps=2, seq_len=16, batch_size=2, d_model=16, memory_slots=4, eval_every=0, eval_batches=1, device="cpu")
SETTINGS = EvalSettings(examples=4, seq_len=16, tasks=("changing_facts", "multi_hop"))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """runs/grid: forgetnet x3 seeds trained and evaluated, no_forget s1 trained, s2 trained (made `running` per test), s3 pending."""
    root = tmp_path_factory.mktemp("sweep-runs")
    folder = create_sweep(root, BASE, ["forgetnet", "no_forget"], ["changing_facts"], [1, 2, 3], name="grid", eval_settings=SETTINGS.to_dict())
    for model, seed, evaluate in (("forgetnet", 1, True), ("forgetnet", 2, True), ("forgetnet", 3, True), ("no_forget", 1, False), ("no_forget", 2, False)):
        run_dir = folder / f"{model}-changing_facts-s{seed}"
        train(BASE.replace(model=model, seed=seed), run_dir=run_dir)
        with open(run_dir / runs.METRICS_JSONL, "a") as fh:  # a held-out score for the best-accuracy column
            fh.write(json.dumps({"kind": "eval", "step": 2, "eval_accuracy": seed / 10 + (0.5 if model == "forgetnet" else 0)}) + "\n")
        if evaluate:
            assert evaluate_run(run_dir, SETTINGS).ok
    return root


@pytest.fixture
def sweep_root(built: Path, runs_dir: Path) -> Path:
    """A copy of the built sweep in the app's runs dir, with no_forget s2 running (this process) and one plain run."""
    shutil.copytree(built / "grid", runs_dir / "grid")
    runs.write_status(runs_dir / "grid" / "no_forget-changing_facts-s2", state="running", pid=os.getpid(), step=1, total_steps=2, started=time.time())
    write_run(runs_dir, "forgetnet-changing_facts-20200101-000000")
    return runs_dir


def texts(table: RunsTable, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


def test_listing_counts_the_sweep_and_rereads_only_what_changed(sweep_root):
    lister = RunLister(sweep_root)
    listing = lister.scan()
    [plain] = listing.runs
    [sweep] = listing.sweeps
    assert plain.name == "forgetnet-changing_facts-20200101-000000"
    assert sweep.name == "grid" and sweep.total == 6 and sweep.done == 4
    assert sweep.counts == {"evaluated": 3, "finished": 1, "running": 1, "pending": 1}
    assert sweep.best is not None and sweep.best.name == "forgetnet-changing_facts-s3" and sweep.best_eval_accuracy == pytest.approx(0.8)
    assert sweep.members[0].state == "running" and sweep.members[-1].state == "pending"  # newest first, pending last
    assert len(lister.list()) == 7  # the flat list (list_runs' order) still holds every run
    # Nothing changed: a rescan parses no file; one status write costs one read.
    reads = lister.json_reads
    lister.scan()
    assert lister.json_reads == reads
    runs.write_status(sweep_root / "grid" / "no_forget-changing_facts-s2", state="stopped")
    [sweep] = lister.scan().sweeps
    assert lister.json_reads == reads + 1 and sweep.counts["stopped"] == 1 and "running" not in sweep.counts


async def test_runs_screen_shows_a_sweep_as_one_row_that_expands_into_its_runs(make_app, sweep_root):
    app = make_app()
    group = SWEEP_KEY + str(sweep_root / "grid")
    member = str(sweep_root / "grid" / "forgetnet-changing_facts-s1")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="the sweep row and the plain run")
        row = texts(table, group)
        assert row[1:8] == ["▸ sweep", "4/6", "", "80.0%", row[5], "grid", "1 running · 0 failed"]
        assert row[8] == "" and row[9] == "6 runs: 2 models × 1 tasks × 3 seeds · 3 evaluated · 1 finished · 1 pending"
        table.move_cursor(row=table.get_row_index(group))
        await pilot.pause()
        title = str(app.screen.query_one("#runs-title").render())
        assert "Sweep grid · 4/6 done · 1 running · 0 failed · 1 pending" in title
        assert app.screen.active_bindings["enter"].binding.description == "Expand sweep"
        assert app.screen.active_bindings["x"].enabled is False  # run keys wait for a run
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Sweep: expand or collapse" in titles

        await pilot.press("enter")
        await wait_for(pilot, lambda: table.row_count == 8, what="the sweep's six runs")
        assert texts(table, group)[1] == "▾ sweep"
        states = [texts(table, str(m.path))[1] for m in table.current_sweep.members]
        assert states[0] == "├ running" and states[-1] == "└ pending" and states.count("├ evaluated") == 3
        assert app.screen.active_bindings["enter"].binding.description == "Collapse sweep"

        # A member is an ordinary run: space marks it, enter opens it on the Train screen.
        table.select_path(Path(member))
        await pilot.pause()
        assert app.screen.active_bindings["enter"].binding.description == "Open run"
        assert "› forgetnet-changing_facts-s1" in str(app.screen.query_one("#runs-title").render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TrainScreen), what="the Train screen")
        assert app.screen.primary == Path(member)

        # Back on Runs: still expanded; e on a member folds the sweep and lands on its row.
        await pilot.press("1")
        await pilot.pause()
        table = app.screen.query_one(RunsTable)
        assert table.current_key == member
        await pilot.press("e")
        await wait_for(pilot, lambda: table.row_count == 2, what="the sweep folded")
        assert table.current_key == group and table.on_sweep_row

        # Delete a member that never started: it goes, the sweep still counts its cell as pending.
        table.select_path(sweep_root / "grid" / "no_forget-changing_facts-s3")
        await pilot.pause()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the confirmation")
        await pilot.press("y")
        await wait_for(pilot, lambda: not (sweep_root / "grid" / "no_forget-changing_facts-s3").exists(), what="the delete")
        await wait_for(pilot, lambda: table.row_count == 7, what="the row gone")
        assert table.sweeps[group].counts["pending"] == 1


async def test_evaluate_loads_a_sweep_in_one_step_from_its_caches(make_app, sweep_root):
    app = make_app(screen="evaluate")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        await wait_for(pilot, lambda: screen.state.loaded, what="the runs directory's rows")
        assert screen.state.settings != SETTINGS and not screen.state.results  # the default settings: nothing cached for them
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, SweepPicker) and app.screen.folders, what="the sweep picker")
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state.sweep == "grid", what="the sweep loaded")
        assert screen.state.settings == SETTINGS and screen.query_one("#setting-examples", Input).value == "4"
        assert screen.state.group_seeds and not screen.state.evaluating
        assert len(screen.state.specs) == 5  # every cell with a checkpoint; the pending one has none
        groups = {row.label: row for row in screen.state.rows if row.kind == "group"}
        assert set(groups) == {"forgetnet · changing_facts ×3 seeds", "no_forget · changing_facts ×2 seeds"}
        done = groups["forgetnet · changing_facts ×3 seeds"]
        assert done.result is not None and done.result.n_seeds == 3 and done.result.cached
        assert "✓ 3 seeds" in str(screen.matrix.get_row(done.key)[1])
        assert set(done.result.tasks) == set(SETTINGS.tasks) and list(screen.matrix.columns)[2:4] == list(SETTINGS.tasks)
        assert groups["no_forget · changing_facts ×2 seeds"].result is None  # trained, not evaluated by the sweep yet
        assert "sweep grid" in str(screen.query_one("#eval-title").render())
        await pilot.pause()
        assert screen.state.settings == SETTINGS  # the form's echo of the new values changed nothing


def test_the_runs_table_says_where_a_run_trains(tmp_path):
    """A sweep cell placed on a GPU of another machine (a sweep through Ray) shows its host and device."""
    import time

    from forgetnet_core import runs
    from forgetnet_core.listing import list_runs
    from forgetnet_tui.widgets.runs_table import COLUMNS, row_cells

    run_dir = tmp_path / "cell"
    run_dir.mkdir()
    runs.write_json_atomic(run_dir / runs.CONFIG_FILE, TrainConfig().to_dict())
    runs.write_status(run_dir, state="running", step=1, total_steps=9, host="gpu-box-2", device="cuda:0", updated=time.time())
    (info,) = list_runs(tmp_path, metrics=False)
    assert info.state == "running"  # another host: its heartbeat says so, not a pid here
    assert "where" in dict(COLUMNS) and str(row_cells(info, marked=False)["where"]) == "gpu-box-2/cuda:0"
