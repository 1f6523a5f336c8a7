"""A first run with an empty runs directory, and text that must never be cut, at 80x24 and 120x40."""

from __future__ import annotations

import textwrap

import pytest
from rich.text import Text
from textual.widgets import Input

from forgetnet_core import runs
from forgetnet_core.config import TASK_NAMES
from forgetnet_tui.screens.evaluate import EvaluateScreen
from forgetnet_tui.screens.stepper import StepperScreen
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.eval_matrix import EvalMatrix
from forgetnet_tui.widgets.runs_table import RunsTable
from forgetnet_tui.widgets.stepper_panel import Readout

from .helpers import train_records, wait_for, write_run

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


def fits(widget, text: str) -> bool:
    """Whether `text`, wrapped at the widget's content width, fits in its content height (nothing cut)."""
    size = widget.content_size
    lines = sum(len(textwrap.wrap(part, size.width) or [""]) for part in text.split("\n"))
    return size.width > 0 and lines <= size.height


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_a_first_run_evaluates_the_bundled_checkpoints(make_app, runs_dir, size):
    app = make_app(screen="evaluate")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, EvaluateScreen)
        await wait_for(pilot, lambda: screen.state.loaded, what="the rows")
        state = screen.state
        assert state.bundled and [s.label for s in state.specs] == ["gated_delta_net · bundled", "forgetnet · bundled"]
        matrix = screen.query_one(EvalMatrix)
        assert matrix.display and matrix.row_count == 2 and not screen.query_one("#eval-empty").display
        assert [c.key.value for c in matrix.columns.values()][2:7] == list(TASK_NAMES)  # their tasks as columns
        label_width = matrix.columns[next(k for k in matrix.columns if k.value == "label")].get_render_width(matrix)
        assert all(len(s.label) + 2 <= label_width for s in state.specs)  # labels whole
        title = str(screen.query_one("#eval-title").render())
        assert title.startswith("bundled checkpoints · 2 rows") and fits(screen.query_one("#eval-title"), title)
        assert "e evaluates" in str(screen.query_one("#eval-detail").render())
        assert (app.results_dir / "bundled" / "gated_delta_net-changing_facts" / "checkpoint.pt").exists()
        assert not list(runs_dir.iterdir())  # the runs directory stays the user's

        await pilot.press("e")
        await wait_for(pilot, lambda: not state.evaluating and len(state.results) == 2, timeout=120, what="the evaluation")
        delta = state.results[state.specs[0].key].tasks["changing_facts"]["accuracy"]
        assert delta > 0.9  # the bundled gated_delta_net solves changing_facts
        row = matrix.get_row(state.specs[0].key)
        assert str(row[1]) == "✓ evaluated" and str(row[3]).startswith(f"{100 * delta:.1f}% [")


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_an_empty_runs_screen_says_what_to_do_first(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        hint = app.screen.query_one("#runs-empty")
        await wait_for(pilot, lambda: app.screen.scans > 0, what="a scan")
        await pilot.pause()
        text = str(hint.render())
        assert hint.display and "press l" in text and "forgetnet train --recipe recall" in text
        assert fits(hint, text)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_a_state_that_grows_widens_its_column(make_app, runs_dir, size):
    run = write_run(runs_dir, state="running", records=train_records(3) + [{"kind": "eval", "step": 3, "eval_accuracy": 0.0063}])
    app = make_app()
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.current_run is not None and table.current_run.state == "running", what="the run")
        row = table.get_row(str(run))
        assert str(row[4]) == "0.6%"  # accuracies as on the Train screen, never 6.3e-03
        runs.write_status(run, state="finished")
        await wait_for(pilot, lambda: table.current_run.state == "finished", what="finished")
        await pilot.pause()
        column = next(c for k, c in table.columns.items() if k.value == "state")
        assert column.get_render_width(table) - 2 * table.cell_padding >= len("finished")


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_form_errors_are_shown_whole(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        for name, value in (("steps", "0"), ("lr", "-1"), ("seq_len", "9999"), ("batch_size", "many")):
            app.screen.query_one(f"#field-{name}", Input).value = value
        await wait_for(pilot, lambda: len(app.screen.query(".field-error")) == 4, what="four error lines")
        await pilot.pause()
        errors = list(app.screen.query(".field-error"))
        for error in errors:
            text = str(error.render())
            assert text.startswith("↳ ") and fits(error, text), (error.id, text, error.content_size)
        assert "must be a positive" in str(app.screen.query_one("#error-steps").render())


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_compare_verdict_is_shown_whole(make_app, size):
    from forgetnet_core.checkpoints import bundled_sources

    app = make_app(screen="stepper")
    async with app.run_test(size=size) as pilot:
        screen = app.screen
        assert isinstance(screen, StepperScreen)
        await wait_for(pilot, lambda: screen.trace is not None, timeout=60, what="the trace")
        screen.set_compare(bundled_sources()[1])
        await wait_for(pilot, lambda: screen.compare_trace is not None, timeout=60, what="the compared trace")
        await pilot.press("end")
        await pilot.pause()
        for panel, trace in (("#panel-a", screen.trace), ("#panel-b", screen.compare_trace)):
            readout = next(r for r in screen.query_one(panel).query(Readout) if r.display and r.parent.display)
            width = readout.content_size.width
            visible = screen.query_one("#panels-scroll").scrollable_content_region
            assert readout.region.right <= visible.right, (panel, readout.region, visible)  # not under the scrollbar
            text: Text = readout.render()
            assert all(line.cell_len <= width for line in text.split("\n")), (panel, width)
            verdict = trace.verdict.describe()
            assert " ".join(verdict.split()) in " ".join(text.plain.split()), (panel, verdict)


async def test_the_train_screen_and_the_runs_table_write_accuracies_alike(make_app, runs_dir):
    records = train_records(5)
    for r in records:
        if r["kind"] == "eval":
            r["eval_accuracy"] = 0.375
    run = write_run(runs_dir, records=records)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.current_run is not None, what="the run")
        assert str(table.get_row(str(run))[4]) == "37.5%"
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TrainScreen)
        await wait_for(pilot, lambda: "37.5%" in str(screen.query_one("#details").render()), what="the details")



def test_an_accuracy_cell_fits_its_column_whatever_the_numbers():
    from forgetnet_tui.widgets.eval_matrix import TASK_WIDTH, accuracy_cell

    for acc, low, high in ((1.0, 1.0, 1.0), (0.0, 0.0, 0.02), (0.613, 0.531, 0.694), (0.999, 0.98, 1.0)):
        cell = accuracy_cell({"accuracy": acc, "ci_low": low, "ci_high": high})
        assert cell.cell_len <= TASK_WIDTH, cell.plain
    assert accuracy_cell({"accuracy": 1.0, "ci_low": 1.0, "ci_high": 1.0}).plain == "100.0% [100,100]"
