"""Screens on keys 1-4, key help, quitting, the command palette, main()'s options, and 80x24 rendering."""

from __future__ import annotations

import subprocess
import sys

import pytest
from textual.widgets import Input

from forgetnet_core.config import format_field
from forgetnet_tui.app import ForgetNetLab, build_parser
from forgetnet_tui.dialogs.help import HelpScreen
from forgetnet_tui.screens.evaluate import EvaluateScreen
from forgetnet_tui.screens.runs import RunsScreen
from forgetnet_tui.screens.stepper import StepperScreen
from forgetnet_tui.screens.train import TrainScreen
from forgetnet_tui.widgets.charts import LineChart
from forgetnet_tui.widgets.config_form import FORM_DEFAULT, ConfigForm
from forgetnet_tui.widgets.runs_table import RunsTable

from .helpers import wait_for, write_run


async def test_number_keys_switch_screens(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, RunsScreen)
        for key, kind in (("2", TrainScreen), ("3", EvaluateScreen), ("4", StepperScreen), ("1", RunsScreen)):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, kind), key
        # The same screen object comes back: its state (form, selection) survives switching.
        runs = app.screen
        await pilot.press("2", "1")
        assert app.screen is runs


async def test_digits_go_into_a_focused_text_field(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        steps = app.screen.query_one("#field-steps", Input)
        steps.focus()
        await pilot.press("end", "2", "q")
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen) and app.is_running
        assert steps.value == format_field(FORM_DEFAULT.steps) + "2q"
        await pilot.press("escape", "2")  # escape leaves the field; then 2 switches screens
        assert isinstance(app.screen, TrainScreen)


async def test_question_mark_lists_the_keys_of_the_current_screen(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = {row[0] for row in app.screen.rows}
        descriptions = " ".join(row[1] for row in app.screen.rows)
        assert {"s", "g", "o", "x", "1", "2", "3", "4", "q", "?", "ctrl+p"} <= keys
        assert "Smoothing on/off" in descriptions and "Stop this run gracefully" in descriptions
        await pilot.press("escape")
        assert isinstance(app.screen, TrainScreen)
        await pilot.press("1", "question_mark")
        rows = {(row[0], row[2]) for row in app.screen.rows}
        screen_keys = {key for key, where in rows if where == "this screen"}
        assert {"enter", "space", "x", "r", "d", "l", "esc", "e", "c", "n"} <= screen_keys  # Stop/Resume even with no run
        assert {("←", "on a choice (model, task, ...)"), ("→", "on a choice (model, task, ...)")} <= rows
        assert ("a letter", "on a choice (model, task, ...)") in rows and not any(where == "in the form" and key == "pgup" for key, where in rows)
        assert ("enter", "in the runs table") in rows
        assert any("(not now)" in row[1] for row in app.screen.rows if row[0] == "r")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("screen", ["runs", "train", "evaluate", "stepper"])
async def test_the_key_help_speaks_in_words_of_the_labs_own_keys(make_app, screen, size):
    """No Textual internals (super+c, ^pgup), no raw binding strings (plus,equals_sign), a phrase for every key."""
    app = make_app(screen=screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        app.action_help()
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the key help")
        rows = app.screen.rows
        keys = [row[0] for row in rows]
        for key in keys:
            assert "," not in key and "_" not in key and "super" not in key and "^" not in key, key
        assert len(keys) == len(set((row[0], row[2]) for row in rows))
        assert {"1", "2", "3", "4", "?", "q"} <= set(keys)
        assert all(len(row[1]) >= 4 for row in rows)  # words, not a bare label
        if screen == "stepper":
            assert {"←", "→", "+ / =", "-", "pgup", "pgdn", "home", "end", "h", "b", "j"} <= set(keys)
        if screen == "evaluate":
            assert {"e", "x", "a", "w", "f", "o", "d", "s", "S", "g", "r", "R", "del / backspace", "space"} <= set(keys)
        await wait_for(pilot, lambda: bool(app.screen.query(".dialog")), what="the help's box")
        await pilot.pause()
        dialog = app.screen.query_one(".dialog")
        assert dialog.region.right <= size[0] and dialog.region.bottom <= size[1]  # the help fits the terminal


def bar_text(app) -> str:
    from forgetnet_tui.widgets.keybar import KeyBar

    return str(app.screen.query_one(KeyBar).render())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_key_bar_shows_the_keys_that_work_where_focus_is(make_app, runs_dir, size):
    write_run(runs_dir, state="stopped")
    app = make_app()
    async with app.run_test(size=size) as pilot:
        table = app.screen.query_one(RunsTable)
        await wait_for(pilot, lambda: table.current_run is not None, what="the run row")
        await pilot.pause()
        bar = bar_text(app)
        assert "r Resume" in bar and "l Launch" in bar and "? Keys" in bar and "esc" not in bar
        model = app.screen.query_one("#field-model")
        model.focus()
        await pilot.pause()
        bar = bar_text(app)
        assert "Resume" not in bar and "Launch" not in bar and " q " not in bar  # letters pick an option here
        assert "←→ Option" in bar and "enter List" in bar and "esc Table" in bar and "? Keys" in bar
        before = model.value
        await pilot.press("r")  # picks a model starting with r; resumes nothing
        assert model.value != before and model.value.startswith("r") and isinstance(app.screen, RunsScreen)
        app.screen.query_one("#field-steps", Input).focus()
        await pilot.pause()
        bar = bar_text(app)
        assert "esc Table" in bar and "? Keys" not in bar and "Resume" not in bar  # a text field takes ? and letters
        await pilot.press("escape")
        await pilot.pause()
        assert table.has_focus and "r Resume" in bar_text(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@pytest.mark.parametrize("screen", ["runs", "train", "evaluate", "stepper"])
async def test_every_screen_has_the_header_and_a_key_bar_whose_entries_are_whole(make_app, runs_dir, size, screen):
    from forgetnet_tui.keys import bar_entries
    from forgetnet_tui.widgets.header import LabHeader
    from forgetnet_tui.widgets.keybar import KeyBar

    write_run(runs_dir)
    app = make_app(screen=screen)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        header = app.screen.query_one(LabHeader)
        assert all(f"{n} {label}" in str(header.render()) for n, label in ((1, "Runs"), (2, "Train"), (3, "Evaluate"), (4, "Stepper")))
        bar = app.screen.query_one(KeyBar)
        text = str(bar.render())
        assert len(text) <= size[0] and "…" not in text
        shown = [f"{e.key} {e.label}" for e in bar_entries(app.screen)]
        visible = [entry for entry in shown if entry in text]
        assert visible and "? Keys" in visible  # whatever is shown is whole, and ? is always there
        if screen == "evaluate":
            assert "x Export" in text and "e Evaluate" in text


async def test_q_quits(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


async def test_palette_lists_screens_and_actions(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Screen: Runs", "Screen: Train", "Screen: Evaluate", "Screen: Stepper"} <= set(titles)
        assert "Run: launch from the form" in titles and "Run: stop" in titles
        await pilot.press("2")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Charts: toggle smoothing" in titles and "Charts: overlay runs" in titles
        # Running a palette command does what it says.
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screen: Stepper")
        command.callback()
        await pilot.pause()
        assert isinstance(app.screen, StepperScreen)


@pytest.mark.parametrize("screen", ["runs", "train", "evaluate", "stepper"])
async def test_every_screen_renders_at_80x24(make_app, runs_dir, screen):
    write_run(runs_dir)
    app = make_app(screen=screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.screen.id is None or True
        if screen == "runs":
            await wait_for(pilot, lambda: app.screen.query_one(RunsTable).row_count == 1, what="the run row")
            assert app.screen.query_one(ConfigForm).region.height >= 5
            assert app.screen.query_one(RunsTable).region.height >= 4
        if screen == "train":
            chart = app.screen.query_one("#chart-loss", LineChart)
            await wait_for(pilot, lambda: app.screen.redraws > 0 and "┤" in str(chart.render()), what="a drawn chart")
            assert chart.region.width >= 30 and chart.region.height >= 8
        svg = app.export_screenshot()
        assert "forgetnet-lab" in svg


async def test_header_shows_the_device(make_app):
    app = make_app(resolve_device=True)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: app.device_label is not None, timeout=30, what="the device")
        assert "CPU" in app.device_label or "cuda" in app.device_label.lower() or app.device_label
        assert app.device_label.replace(" ", "&#160;") in app.export_screenshot()


def test_main_options():
    args = build_parser().parse_args(["--runs-dir", "x", "--screen", "stepper", "--checkpoint", "c.pt", "--task", "multi_hop", "--seed", "3", "--suite", "v1"])
    assert (args.runs_dir, args.screen, args.checkpoint, args.task, args.seed, args.suite) == ("x", "stepper", "c.pt", "multi_hop", 3, "v1")
    assert build_parser().parse_args([]).runs_dir == "runs"
    with pytest.raises(ValueError):
        ForgetNetLab(screen="nope")
    assert build_parser().parse_args(["--threads", "3"]).threads == 3 and build_parser().parse_args([]).threads is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--threads", "0"])


def test_main_passes_threads_to_the_launcher_and_sets_the_labs_own(monkeypatch, tmp_path):
    from forgetnet_tui import app as app_module

    seen = {}
    monkeypatch.setattr(app_module.ForgetNetLab, "run", lambda self: seen.update(threads=self.launcher.threads))
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert app_module.main(["--runs-dir", str(tmp_path), "--threads", "3"]) == 0
    assert seen == {"threads": 3}
    assert __import__("os").environ["OMP_NUM_THREADS"] == "1"  # the lab's own work: the policy, not --threads


def test_the_labs_worker_threads_use_one_cpu_thread():
    """The Stepper and Difficulty workers import torch in a thread after main() set the policy."""
    code = (
        "from forgetnet_tui.app import use_lab_threads; use_lab_threads()\n"
        "import threading, torch\n"
        "out = []; t = threading.Thread(target=lambda: out.append(torch.get_num_threads())); t.start(); t.join()\n"
        "print(out[0])"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "1"


async def test_screens_3_and_4_are_built_with_their_documented_signatures(runs_dir, monkeypatch):
    """The app depends only on EvaluateScreen(runs_dir) and StepperScreen(checkpoint, task, seed, suite)."""
    from textual.screen import Screen

    import forgetnet_tui.screens.evaluate as evaluate_module
    import forgetnet_tui.screens.stepper as stepper_module
    from forgetnet_tui.app import StepperOptions

    made = {}

    class FakeEvaluate(Screen):
        def __init__(self, runs_dir):
            super().__init__()
            made["evaluate"] = runs_dir

    class FakeStepper(Screen):
        def __init__(self, checkpoint=None, task="changing_facts", seed=0, suite="v2"):
            super().__init__()
            made["stepper"] = (checkpoint, task, seed, suite)

    monkeypatch.setattr(evaluate_module, "EvaluateScreen", FakeEvaluate)
    monkeypatch.setattr(stepper_module, "StepperScreen", FakeStepper)
    app = ForgetNetLab(runs_dir=runs_dir, screen="stepper", stepper=StepperOptions("c.pt", "multi_hop", 3, "v1"), resolve_device=False)
    async with app.run_test() as pilot:
        await pilot.press("3")
        assert isinstance(app.screen, FakeEvaluate)
    assert made == {"evaluate": runs_dir, "stepper": ("c.pt", "multi_hop", 3, "v1")}


def test_importing_the_app_does_not_import_torch():
    code = "import sys, forgetnet_tui.app, forgetnet_tui.screens.runs, forgetnet_tui.screens.train; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("size", [(80, 24), (130, 40)])
async def test_header_and_key_bar_span_the_screen_in_both_layouts(make_app, size):
    from forgetnet_tui.widgets.header import LabHeader
    from forgetnet_tui.widgets.keybar import KeyBar

    app = make_app()
    async with app.run_test(size=size) as pilot:
        for key in ("1", "2"):
            await pilot.press(key)
            header = app.screen.query_one(LabHeader).region
            bar = app.screen.query_one(KeyBar).region
            assert (header.x, header.y, header.width) == (0, 0, size[0])
            assert (bar.x, bar.y, bar.width) == (0, size[1] - 1, size[0])
        # Runs screen: side by side when wide, stacked when narrow.
        await pilot.press("1")
        table = app.screen.query_one("#table-pane").region
        form = app.screen.query_one("#form-pane").region
        assert (form.x > table.x) if size[0] >= 110 else (form.y > table.y)
