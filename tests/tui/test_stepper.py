"""The Stepper screen through Pilot: shown numbers equal the trace, stepping, events, compare, models, export, 80x24.

These tests step the slot-memory model (the bundled forgetnet); the default
delta-rule model, beliefs and compare across memory kinds are in
test_stepper_beliefs.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from textual.widgets import OptionList

from forgetnet_core.checkpoints import bundled_path, fresh_source
from forgetnet_core.config import MODEL_NAMES
from forgetnet_core.stepper_figures import source_slug
from forgetnet_tui.dialogs.model_picker import ModelPicker
from forgetnet_tui.screens.stepper import StepperScreen, time_keypress
from forgetnet_tui.widgets.memory_views import MemoryHeatmap, SlotBars, Timeline
from forgetnet_tui.widgets.stepper_panel import ModelPanel, Readout
from forgetnet_tui.widgets.stepper_strip import TokenStrip
from forgetnet_tui.widgets.stepper_view import TraceView

from .helpers import wait_for


def plain(widget) -> str:
    return widget.render().plain


SLOT_CHECKPOINT = str(bundled_path("forgetnet"))  # the bundled ForgetNet: a slot memory


async def open_stepper(make_app, size=(120, 40), **stepper):
    """The app on the Stepper screen; by default on the bundled forgetnet (pass checkpoint=None for the default model)."""
    from forgetnet_tui.app import StepperOptions

    stepper.setdefault("checkpoint", SLOT_CHECKPOINT)
    app = make_app(screen="stepper", stepper=StepperOptions(**stepper))
    return app


async def ready(pilot, app) -> StepperScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, StepperScreen) and app.screen.trace is not None,
                   timeout=20, what="the stepper's trace")
    await pilot.pause()
    return app.screen


def readout(screen: StepperScreen, panel: str = "#panel-a") -> Readout:
    return next(r for r in screen.query_one(panel, ModelPanel).query(Readout) if r.display)


async def test_shown_numbers_equal_the_trace_and_keys_step(make_app):
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        st = screen.trace
        assert st.model_name == "forgetnet" and "bundled" in st.model_label and st.memory_kind == "slot"
        assert screen.cursor == 0
        await pilot.press("right", "right", "right", "left")
        assert screen.cursor == 2
        # j: the next event (a fact about the queried key, an overwrite, the query); J the previous one
        events = [e.t for e in st.events]
        assert events[0] == 0 and len(events) >= 4  # seed 0: k12 is set at t=0, overwritten later
        await pilot.press("j")
        second = min(e for e in events if e > 2)
        assert screen.cursor == second and st.view(second).events
        await pilot.press("j")
        assert screen.cursor == min(e for e in events if e > second)
        await pilot.press("J")
        assert screen.cursor == second
        await pilot.pause()

        t = screen.cursor
        view = st.view(t)
        strip = plain(screen.query_one(TokenStrip))
        assert f"t {t}/{st.seq_len - 1} {view.name}" in strip and st.event_text(t) in strip
        text = plain(readout(screen))
        assert f"surprise {view.surprise:.3f}" in text
        assert f"gate {view.gate_mean:.3f}" in text and f"erase {view.erase_mean:.3f}" in text
        assert f"read s{view.read_slot:02d} {view.read[view.read_slot]:.2f}" in text
        assert f"write s{view.write_slot:02d} {view.write[view.write_slot]:.2f}" in text
        for (tok, p), (ans, q) in zip(view.top_tokens, view.top_answers):
            assert f"{st.vocab_names[tok]:>4} {p:.2f}" in text and f"{st.vocab_names[ans]:>4} {q:.2f}" in text
        bars = plain(screen.query_one("#panel-a SlotBars", SlotBars)).splitlines()
        for s in range(16):
            row = bars[1 + s]
            assert row.startswith(f"s{s:02d}")
            for value, fmt in ((view.read[s], "{:.2f}"), (view.write[s], "{:.2f}"),
                               (view.effective_erase[s], "{:.3f}"), (view.effective_write[s], "{:.3f}")):
                assert fmt.format(value) in row
        memory = plain(screen.query_one("#panel-a MemoryHeatmap", MemoryHeatmap)).splitlines()
        assert f"memory after t={t}" in memory[0] and f"changed {int(view.changed.sum())} cells" in memory[0]
        assert len(memory) == 17
        for s in range(16):  # one '•' per changed cell (64 channels, one cell each at this width)
            assert memory[1 + s][4:].count("•") == int(view.changed[s].sum())
        timeline = plain(screen.query_one("#panel-a Timeline", Timeline)).splitlines()
        assert len(timeline) == 8 + 8 + 2
        assert timeline[0].startswith("β  0") and timeline[8].startswith("α  0")
        assert len(timeline[0]) - 5 == st.seq_len  # all 64 columns fit; the ones after t are blank
        assert timeline[0][5 : 5 + t + 1].count("▀") == t + 1 and timeline[0][5 + t + 1 :].strip() == ""
        assert timeline[-1][5 + t] == "▲"

        await pilot.press("end")
        assert screen.cursor == st.seq_len - 1
        await pilot.pause()
        verdict = st.verdict
        assert verdict.describe() in plain(readout(screen))
        await pilot.press("home")
        assert screen.cursor == 0

        # Play: space starts, the cursor advances on its own, space pauses.
        await pilot.press("plus", "plus", "plus", "plus")  # 32 tokens/s
        await pilot.press("space")
        await wait_for(pilot, lambda: screen.cursor >= 3, timeout=5, what="playing")
        await pilot.press("space")
        stopped = screen.cursor
        await pilot.pause(0.2)
        assert screen.cursor == stopped and not screen.playing
        await pilot.press("minus")
        assert screen.speed_index == 4  # 32 is the top speed; one step down is 16 tokens/s

        # n: the next seed's example, traced again in the worker.
        await pilot.press("n")
        await wait_for(pilot, lambda: screen.trace is not st and screen.trace is not None, what="a new example")
        assert screen.seed == 1 and screen.trace.seed == 1 and screen.cursor == 0


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@pytest.mark.parametrize("checkpoint", [SLOT_CHECKPOINT, None], ids=["slot", "matrix"])
async def test_a_keypress_moves_the_cursor_and_redraws_every_view(make_app, size, checkpoint):
    """What time_keypress times (benchmarks/stepper_keypress.py prints how long it takes): stepping redraws each
    visible view at the new cursor, from the precomputed trace."""
    app = await open_stepper(make_app, checkpoint=checkpoint)  # None: the default, the bundled gated_delta_net
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot, app)
        assert screen.trace.memory_kind == ("slot" if checkpoint else "matrix")
        strip = screen.query_one(TokenStrip)
        for step in (1, 1, -1):
            before = screen.cursor
            assert time_keypress(screen, step) >= 0.0
            assert screen.cursor == before + step and strip.cursor == screen.cursor
            assert f"t {screen.cursor}/" in plain(strip)
        await pilot.press("right")
        assert screen.cursor == 2 and all(view.cursor == 2 for view in screen.query_one("#panel-a").query(TraceView))


async def test_compare_two_models_side_by_side(make_app):
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        await pilot.press("right", "right")
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.sources, what="the picker")
        picker = app.screen
        labels = [s.label for s in picker.sources]
        assert any("bundled" in label for label in labels)
        assert sum("fresh" in label for label in labels) == len(MODEL_NAMES)  # every architecture, delta rules too
        bundled = [s.model for s in picker.sources if s.kind == "bundled"]
        assert bundled == ["gated_delta_net", "forgetnet"]  # both bundled checkpoints, the default first
        target = next(i for i, s in enumerate(picker.sources) if s.kind == "fresh" and s.model == "no_forget")
        options = picker.query_one(OptionList)
        await pilot.press(*["down"] * (target - (options.highlighted or 0)), "enter")
        await wait_for(pilot, lambda: screen.compare_trace is not None, what="the compared trace")
        await pilot.pause()
        assert screen.has_class("-compare")
        a, b = screen.query_one("#panel-a", ModelPanel), screen.query_one("#panel-b", ModelPanel)
        assert b.display and b.region.width > 30 and a.region.x < b.region.x
        assert screen.compare_trace.model_name == "no_forget"
        assert screen.compare_trace.tokens == screen.trace.tokens  # same example
        await pilot.press("right")
        await pilot.pause()
        t = screen.cursor
        assert t == 3
        for panel, st in ((a, screen.trace), (b, screen.compare_trace)):
            shown = next(r for r in panel.query(Readout) if r.display)
            assert shown.cursor == t and shown.trace is st
            assert f"surprise {st.view(t).surprise:.3f}" in plain(shown)
            heat = panel.query_one(MemoryHeatmap)
            assert heat.cursor == t and "3ch/cell" in plain(heat)
        np.testing.assert_allclose(screen.compare_trace.effective_erase, 0.0)  # no_forget never erases
        await pilot.press("c")  # c again leaves compare mode
        await pilot.pause()
        assert not screen.has_class("-compare") and not b.display


async def test_transformer_says_it_has_no_memory(make_app):
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.set_model(fresh_source("tiny_transformer"))
        await wait_for(pilot, lambda: screen.trace.model_name == "tiny_transformer", what="the transformer")
        await pilot.press("right")
        await pilot.pause()
        panel = screen.query_one("#panel-a", ModelPanel)
        assert panel.has_class("-no-memory")
        assert not panel.query_one(MemoryHeatmap).display and not panel.query_one(SlotBars).display
        note = str(panel.query_one(".no-memory").render())
        assert "keeps no memory" in note
        text = plain(readout(screen))
        assert "no memory" in text and f"surprise {screen.trace.view(1).surprise:.3f}" in text
        assert "β" not in plain(panel.query_one(Timeline))  # no read/write heatmaps, only surprise and the axis
        assert not panel.query_one("MatrixView").display and not panel.query_one("HeadBars").display


async def test_export_writes_svg_and_pngs(make_app, tmp_path, runs_dir, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # exports go beside the runs directory, not into the current one
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        await pilot.press("j", "x")
        results = runs_dir.parent / "results"
        await wait_for(pilot, lambda: len(list(results.glob("stepper-*.png"))) == 2, timeout=30, what="the PNGs")
        svg = list(results.glob("stepper-*.svg"))
        assert len(svg) == 1 and "forgetnet-lab" in svg[0].read_text()
        (beliefs,) = results.glob("stepper-*-beliefs.png")  # the belief timeline
        (memory,) = set(results.glob("stepper-*.png")) - {beliefs}  # the slot-by-time figure
        assert beliefs.name == memory.name.replace(".png", "-beliefs.png")
        for png in (beliefs, memory):
            assert png.read_bytes()[:4] == b"\x89PNG"
        await wait_for(pilot, lambda: any(beliefs.name in str(n.message) for n in app._notifications), what="the notice")
        assert screen.cursor == screen.trace.next_event(0) and f"-t{screen.cursor}-" in memory.name
    assert not (elsewhere / "results").exists()


async def test_compare_export_names_both_models_runs(make_app, tmp_path):
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.set_compare(fresh_source("no_forget"))
        await wait_for(pilot, lambda: screen.compare_trace is not None, what="the compared trace")
        await pilot.press("x")
        results = tmp_path / "results"
        await wait_for(pilot, lambda: len(list(results.glob("stepper-*.png"))) == 4, timeout=30, what="four PNGs")
        a = source_slug(screen.source)
        assert a == "bundled-forgetnet"
        (svg,) = results.glob("stepper-*.svg")
        assert svg.name.startswith(f"stepper-{a}-vs-fresh-no_forget-changing_facts-seed0-")
        pngs = sorted(p.name for p in results.glob("stepper-*.png"))
        for model in (a, "fresh-no_forget"):  # each model: its memory over time and its beliefs
            assert [p for p in pngs if p.endswith(f"-{model}.png")] and [p for p in pngs if p.endswith(f"-{model}-beliefs.png")]
        assert all(p.startswith(svg.stem) for p in pngs)


async def test_renders_at_80x24(make_app):
    app = await open_stepper(make_app)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await ready(pilot, app)
        await pilot.press("j", "right", "end")
        screen.set_compare(fresh_source("fifo_memory"))
        await wait_for(pilot, lambda: screen.compare_trace is not None, what="compare at 80x24")
        await pilot.press("left", "home")
        await pilot.pause()
        assert "Stepper" in app.export_screenshot()


async def test_bad_checkpoint_is_reported_not_fatal(make_app, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    app = await open_stepper(make_app, checkpoint=str(bad))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: any("checkpoint" in str(n.message) for n in app._notifications),
                       what="the error notice")
        assert app.screen.trace is None
        app.screen.set_model(fresh_source("fifo_memory"))
        await wait_for(pilot, lambda: app.screen.trace is not None, what="recovery")


def test_the_stepper_screen_imports_no_torch():
    code = "import sys, forgetnet_tui.screens.stepper; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_m_picks_a_checkpoint_from_the_runs_dir(make_app, runs_dir):
    import json

    from forgetnet_core import runs
    from forgetnet_core.checkpoints import fresh_model

    run = runs_dir / "fifo_memory-changing_facts-20260101-000000"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"model": "fifo_memory", "task": "changing_facts"}))
    model = fresh_model("fifo_memory", seed=5)
    runs.save_checkpoint(run / "checkpoint.pt", {"config": {"model": "fifo_memory"}, "model_state": model.state_dict(), "step": 1})
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        await pilot.press("j", "m")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.sources, what="the picker")
        assert app.screen.sources[0].path == str(run / "checkpoint.pt")  # runs first, newest first
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.trace.model_name == "fifo_memory", what="the run's model")
        assert screen.cursor == screen.trace.events[1].t  # same example, same cursor
        assert run.name in screen.trace.model_label
        writes = screen.trace.write
        assert all(int(writes[t].argmax()) == t % 16 for t in range(screen.trace.seq_len))  # fifo: slot t mod S
        await pilot.press("m", "escape")  # esc keeps the model
        await pilot.pause()
        assert isinstance(app.screen, StepperScreen) and screen.trace.model_name == "fifo_memory"
