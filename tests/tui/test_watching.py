"""Watching runs written by others: the live runs table, stale and failed runs, bad metrics lines, chart options, overlays."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from textual.content import Content

from forgetnet_tui.dialogs.overlay_picker import OverlayPicker
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.charts import LineChart
from forgetnet_tui.widgets.runs_table import RunsTable

from .helpers import train_records, wait_for, write_run

WRITER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    root, name, state, pid = Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    run = root / name
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "no_forget", "task": "multi_hop", "steps": 40}))
    (run / "status.json").write_text(json.dumps({"state": state, "pid": pid, "step": 7, "total_steps": 40,
                                                 "started": time.time(), "updated": time.time()}))
    with open(run / "metrics.jsonl", "w") as fh:
        fh.write(json.dumps({"kind": "train", "step": 7, "loss": 2.5}) + "\\n")
        fh.write(json.dumps({"kind": "eval", "step": 7, "eval_accuracy": 0.375}) + "\\n")
    """
)


def write_from_another_process(root, name, state, pid):
    subprocess.run([sys.executable, "-c", WRITER, str(root), name, state, str(pid)], check=True)


def cells(table: RunsTable, key: str) -> list[str]:
    return [str(c) for c in table.get_row(key)]


async def test_runs_table_picks_up_runs_written_by_another_process(make_app, runs_dir):
    app = make_app()
    async with app.run_test(size=(160, 30)) as pilot:
        table = app.screen.query_one(RunsTable)
        assert table.row_count == 0
        # A live run (its pid is this test process) and one whose process died without saying so.
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        write_from_another_process(runs_dir, "no_forget-multi_hop-20260101-000001", "running", __import__("os").getpid())
        write_from_another_process(runs_dir, "no_forget-multi_hop-20260101-000002", "running", dead.pid)
        await wait_for(pilot, lambda: table.row_count == 2, what="both runs in the table")
        live = str(runs_dir / "no_forget-multi_hop-20260101-000001")
        gone = str(runs_dir / "no_forget-multi_hop-20260101-000002")
        row = cells(table, live)
        assert row[1:10] == ["running", "7/40", "2.500", "37.5%", row[5], "no_forget", "multi_hop", row[8], "no_forget-multi_hop-20260101-000001"]
        assert cells(table, gone)[1] == "stale"

        # The live run keeps writing: the table follows without a keypress.
        run = runs_dir / "no_forget-multi_hop-20260101-000001"
        with open(run / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps({"kind": "train", "step": 9, "loss": 1.25}) + "\n")
        status = json.loads((run / "status.json").read_text())
        (run / "status.json").write_text(json.dumps({**status, "step": 9}))
        await wait_for(pilot, lambda: cells(table, live)[2:4] == ["9/40", "1.250"], what="the row to update")
        await pilot.press("down")
        chosen = table.current_key
        (run / "status.json").write_text(json.dumps({**status, "step": 10}))
        await wait_for(pilot, lambda: cells(table, live)[2] == "10/40", what="another update")
        assert table.current_key == chosen  # the cursor stays on its run while rows update


async def test_truncated_and_corrupt_metrics_lines_are_skipped_with_a_notice(make_app, runs_dir):
    records = train_records(10)
    lines = [json.dumps(r) for r in records]
    lines.insert(3, '{"kind": "train", "step": 3.5, "loss": ')  # a torn line in the middle
    lines.insert(6, "not json at all")
    run = runs_dir / "forgetnet-changing_facts-20260101-000000"
    write_run(runs_dir, state="running", records=[])
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n" + '{"kind": "train", "step": 11, "lo')  # trailing partial line
    app = make_app(screen="train")
    notices: list[str] = []
    original = app.notify
    app.notify = lambda message, *a, **k: (notices.append(message), original(message, *a, **k))[1]
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.primary is not None and screen.feeds[screen.primary].series.last_train is not None, what="records")
        feed = screen.feeds[screen.primary]
        assert feed.series.last_train["step"] == 10 and feed.bad_lines == 2
        assert any("Skipped 2 unreadable lines" in n for n in notices)
        # The writer finishes the partial line: it is read then, once.
        with open(run / "metrics.jsonl", "a") as fh:
            fh.write('ss": 0.5, "answer_loss": 0.4, "aux_loss": 1.0, "accuracy": 1.0}\n')
        await wait_for(pilot, lambda: feed.series.last_train["step"] == 11, what="the completed line")
        assert feed.bad_lines == 2
        await wait_for(pilot, lambda: "skipped lines" in str(screen.query_one("#details").render()), what="details")
        assert app.is_running


async def test_a_failed_run_shows_its_error(make_app, runs_dir):
    write_run(runs_dir, state="failed", error="non-finite loss (nan) at step 7; the last good checkpoint is kept")
    app = make_app(screen="train")
    async with app.run_test(size=(80, 24)) as pilot:
        error = app.screen.query_one("#run-error")
        await wait_for(pilot, lambda: error.display, what="the error line")
        assert "non-finite loss (nan) at step 7" in str(error.render())
        assert "failed" in str(app.screen.query_one("#progress").render())


async def test_smoothing_log_scale_and_overlays(make_app, runs_dir):
    a = write_run(runs_dir, name="forgetnet-changing_facts-20260101-000001", steps=60)
    b = write_run(runs_dir, name="tiny_transformer-changing_facts-20260101-000002", steps=40)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.row_count == 2, what="rows")
        table.select_path(a)
        await pilot.press("space")  # mark a, then open b with a overlaid
        table.select_path(b)
        await pilot.press("enter")
        assert isinstance(app.screen, TrainScreen)
        screen = app.screen
        assert screen.primary == b and screen.overlays == [a]
        loss = screen.query_one("#chart-loss", LineChart)
        await wait_for(pilot, lambda: loss.border_title == "loss · raw · linear" and "┤" in str(loss.render()), what="charts")
        colour_a, colour_b = app.colours.colour(a.name), app.colours.colour(b.name)
        assert colour_a != colour_b
        legend = screen.query_one("#legend").render()
        assert "(overlay)" in str(legend)
        # Each chart's legend names the overlaid run too, in its run colour (both runs are forgetnet: numbered).
        await wait_for(pilot, lambda: "forgetnet 2" in (loss.border_subtitle or ""), what="the overlay in the legend")
        subtitle = Content.from_markup(loss.border_subtitle)
        assert subtitle.plain == "━ answer loss  ━ aux loss ▲5  ━ forgetnet 2"  # aux is 5.0 at step 1, above the answer losses: cut off
        key = subtitle.plain.rindex("━")
        assert any(span.start <= key < span.end and "rgb" in str(span.style) for span in subtitle.spans)

        await pilot.press("s")
        await wait_for(pilot, lambda: loss.border_title == "loss · smoothed · linear", what="smoothed charts")
        await pilot.press("g")
        await wait_for(pilot, lambda: loss.border_title == "loss · smoothed · log", what="log loss")
        await pilot.press("s", "g")
        await wait_for(pilot, lambda: loss.border_title == "loss · raw · linear", what="back to raw")

        await pilot.press("o")  # the overlay picker: clear the overlay, then close
        await wait_for(pilot, lambda: isinstance(app.screen, OverlayPicker), what="the picker")
        await wait_for(pilot, lambda: app.screen.query_one("SelectionList").option_count == 1, what="picker options")
        await pilot.press("c", "escape")
        assert app.screen is screen and screen.overlays == []
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, OverlayPicker) and app.screen.query_one("SelectionList").option_count == 1, what="picker")
        await pilot.press("space", "escape")
        assert screen.overlays == [a]
        # Colours are stable: the same run keeps its colour however the overlay changes.
        assert (app.colours.colour(a.name), app.colours.colour(b.name)) == (colour_a, colour_b)
