"""The Stepper's belief view (every model) and delta-rule memories (matrix views, heads, compare with a slot memory).

What a widget shows comes from a pure render function, so each test reads the
shown text and checks it against ``StepperTrace.view(t)``, formatted here
independently. Sizes: 120x40 and 80x24 (where the belief view sits on top of
the panel and the rest scrolls).
"""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from forgetnet_core.checkpoints import (
    bundled_path,
    bundled_sources,
    checkpoint_source,
    fresh_source,
)
from forgetnet_core.stepper import build_stepper_trace
from forgetnet_tui.screens.stepper import StepperScreen
from forgetnet_tui.widgets.memory_views import MemoryHeatmap, Timeline
from forgetnet_tui.widgets.stepper_beliefs import (
    CHANGE_GLYPHS,
    QUERY_GROUND,
    STATUS_COLOURS,
    BeliefView,
    parse_belief_cells,
    render_beliefs,
)
from forgetnet_tui.widgets.stepper_matrix import (
    HeadBars,
    MatrixView,
    head_scale,
    render_matrix,
)
from forgetnet_tui.widgets.stepper_palette import DIVERGING, value_colours
from forgetnet_tui.widgets.stepper_panel import ModelPanel, Readout
from forgetnet_tui.widgets.stepper_strip import TokenStrip

from .helpers import wait_for

SLOT_CHECKPOINT = str(bundled_path("forgetnet"))
SIZES = pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])


def plain(widget) -> str:
    return widget.render().plain


def shown(panel, kind):
    """The instance of `kind` in `panel` that the layout shows (the Readout and BeliefView come twice)."""
    for widget in panel.query(kind):
        node, visible = widget, True
        while node is not panel:
            visible = visible and node.display
            node = node.parent
        if visible:
            return widget
    raise AssertionError(f"no {kind.__name__} shown in {panel}")


async def open_stepper(make_app, checkpoint=None, **stepper):
    from forgetnet_tui.app import StepperOptions

    return make_app(screen="stepper", stepper=StepperOptions(checkpoint=checkpoint, **stepper))


async def ready(pilot, app) -> StepperScreen:
    await wait_for(pilot, lambda: isinstance(app.screen, StepperScreen) and app.screen.trace is not None,
                   timeout=30, what="the stepper's trace")
    await pilot.pause()
    return app.screen


def assert_beliefs_shown(view: BeliefView, st, t: int) -> None:
    """The cells of the shown belief view are st.view(t).beliefs, in order, each with its key, value, p, status."""
    rows = st.view(t).beliefs
    names = st.vocab_names
    cells = parse_belief_cells(plain(view))
    assert len(cells) == len(rows), (cells, rows)
    for cell, row in zip(cells, rows):
        assert (cell[0] == "▶") == row.queried
        fields = cell[1:].split()
        assert fields[0] == names[row.key]
        if row.believed < 0:
            assert fields[1] == "—"
        else:
            assert fields[1:4] == [names[row.believed], f"{row.probability:.2f}", row.status]
        if row.change:
            assert fields[-1] == CHANGE_GLYPHS[row.change]
        else:
            assert fields[-1] in ("right", "stale", "wrong", "—")


def assert_strip_says(screen, st, t: int) -> None:
    strip = plain(screen.query_one(TokenStrip)).splitlines()[1]
    changes = sorted(st.beliefs.changes_at(t), key=lambda c: c.key != st.beliefs.query_key)
    if changes:  # the first change's text, as far as the line reaches
        text = f"{CHANGE_GLYPHS[changes[0].kind]} {changes[0].text}"
        tail = strip[strip.index(text[:10]):]
        assert tail.startswith(text) or text.startswith(tail.rstrip())  # whole, or cut by the line's end


@SIZES
@pytest.mark.parametrize("model", ["matrix", "slot"])
async def test_belief_view_follows_the_cursor_and_b_jumps_between_changes(make_app, size, model):
    app = await open_stepper(make_app, checkpoint=SLOT_CHECKPOINT if model == "slot" else None)
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot, app)
        st = screen.trace
        assert st.memory_kind == model and "bundled" in st.model_label
        panel = screen.query_one("#panel-a", ModelPanel)
        beliefs = shown(panel, BeliefView)
        if size[0] < 110:
            assert beliefs.has_class("top-beliefs")  # on a small terminal the beliefs come first
        assert beliefs.region.y < screen.size.height - 1  # on screen without scrolling
        assert_beliefs_shown(beliefs, st, 0)
        changes = sorted({c.t for c in st.beliefs.changes})
        assert len(changes) >= 2
        visited = changes[:4]
        for expected in visited:  # b: the next change of belief
            await pilot.press("b")
            await pilot.pause()
            assert screen.cursor == expected
            assert_beliefs_shown(beliefs, st, expected)
            assert_strip_says(screen, st, expected)
            header = plain(beliefs).splitlines()[0]
            first = sorted(st.beliefs.changes_at(expected), key=lambda c: c.key != st.beliefs.query_key)[0]
            assert header.startswith(f"{CHANGE_GLYPHS[first.kind]} {first.text}"[: len(header)])
        await pilot.press("B")  # B: the previous one
        assert screen.cursor == visited[-2]
        await pilot.press("right")  # inside a record: the belief from the boundary before, no change marked
        await pilot.pause()
        t = screen.cursor
        assert_beliefs_shown(beliefs, st, t)
        if not st.beliefs.changes_at(t):
            assert plain(beliefs).splitlines()[0].startswith("beliefs")
        await pilot.press("end")  # after the query the beliefs stay those at the query
        await pilot.pause()
        assert_beliefs_shown(beliefs, st, st.seq_len - 1)
        assert st.verdict.describe() in plain(shown(panel, Readout))


@SIZES
async def test_matrix_memory_in_its_own_terms(make_app, size):
    app = await open_stepper(make_app)  # the default: the bundled gated_delta_net
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot, app)
        st = screen.trace
        assert st.model_name == "gated_delta_net" and st.memory_kind == "matrix" and st.heads == 4
        panel = screen.query_one("#panel-a", ModelPanel)
        assert panel.has_class("-matrix")
        assert panel.query_one(MatrixView).display and panel.query_one(HeadBars).display
        assert not panel.query_one(MemoryHeatmap).display  # no slot views for a matrix memory
        # j: the example's events work as for any model
        await pilot.press("j", "j")
        await pilot.pause()
        t = screen.cursor
        assert t == st.next_event(st.next_event(0)) and st.view(t).events
        status = plain(screen.query_one(TokenStrip)).splitlines()[1]
        assert status.startswith(f"t {t}/{st.seq_len - 1} {st.names[t]}")
        assert st.events[[e.t for e in st.events].index(t)].text[:20] in status
        v = st.view(t)
        matrix = plain(panel.query_one(MatrixView)).splitlines()
        assert matrix[0].startswith("head 0/4") and f"α {v.alpha[0]:.3f}" in matrix[0] and f"β {v.beta[0]:.2f}" in matrix[0]
        assert f"|Sq| {v.read_strength[0]:.2f}" in matrix[0]
        assert matrix[1].split() == ["α·S(t-1)", "+", "written", "−", "erased", "=", "S(t)"]
        assert len(matrix) == 2 + 8  # 16 x 16 states, two rows a line
        bars = plain(panel.query_one(HeadBars)).splitlines()
        erased = np.sqrt((v.erased ** 2).sum(axis=(1, 2)))
        for h in range(4):
            row = bars[1 + h]
            assert row.startswith(("▶" if h == 0 else " ") + f"h{h}")
            for number in (f"{v.read_strength[h]:.2f}", f"{v.beta[h]:.2f}", f"{1 - v.alpha[h]:.3f}", f"{erased[h]:.2f}"):
                assert number in row
        timeline = plain(panel.query_one(Timeline)).splitlines()
        assert len(timeline) == 3 * 4 + 2  # beta, 1-alpha, |Sq| per head, then surprise and the axis
        assert timeline[0].startswith("β   0") and timeline[4].startswith("1-α 0") and timeline[8].startswith("|Sq|0")
        assert timeline[0][6 : 6 + t + 1] == "█" * (t + 1) and timeline[0][6 + t + 1 :].strip() == ""
        assert timeline[-1][6 + t] == "▲"
        text = plain(shown(panel, Readout))
        assert f"write β {v.gate_mean:.3f}" in text and f"forget 1-α {v.erase_mean:.3f}" in text
        # h: the next head, in the matrices, the bars and the timeline
        await pilot.press("h")
        await pilot.pause()
        assert screen.head == 1
        assert plain(panel.query_one(MatrixView)).startswith("head 1/4")
        assert plain(panel.query_one(HeadBars)).splitlines()[2].startswith("▶h1")
        await pilot.press("H", "H")
        assert screen.head == 3
        await pilot.pause()
        assert plain(panel.query_one(MatrixView)).startswith("head 3/4")


def test_matrix_cells_are_the_state_in_the_heads_colour_scale():
    model, label = bundled_sources()[0].load("cpu")
    st = build_stepper_trace(model, "changing_facts", 3, "v2", label=label)
    t, head = 20, 2
    v = st.view(t)
    scale = head_scale(st, head)
    lines = render_matrix(st, t, 70, head).split("\n")
    console = Console()
    blocks = {"α·S(t-1)": v.alpha[head] * st.memory_before[t, head], "+ written": v.written[head],
              "− erased": v.erased[head], "= S(t)": v.memory[head]}
    for b, (name, m) in enumerate(blocks.items()):
        x = b * (16 + 2)
        assert lines[1].plain[x : x + len(name)] == name
        for r in (0, 6, 14):
            for c in (0, 7, 15):
                style = lines[2 + r // 2].get_style_at_offset(console, x + c)
                assert lines[2 + r // 2].plain[x + c] == "▀"  # top half: row r, bottom half: row r+1
                assert style.color.triplet.hex == DIVERGING[value_colours(m[r, c] / scale)]
                assert style.bgcolor.triplet.hex == DIVERGING[value_colours(m[r + 1, c] / scale)]
    np.testing.assert_allclose(blocks["α·S(t-1)"] + v.written[head] - v.erased[head], v.memory[head], atol=1e-6)
    narrow = render_matrix(st, t, 27, head).plain.splitlines()  # compare mode: S(t) and the net write, stacked
    assert narrow[1].strip() == "S(t)" and narrow[10].strip() == "written−erased" and len(narrow) == 19


def test_belief_colours_and_the_queried_key():
    source = checkpoint_source(SLOT_CHECKPOINT)
    model, label = source.load("cpu")
    console = Console()
    seen = set()
    for seed in range(6):  # forgetnet keeps stale values and loses facts: every status appears
        st = build_stepper_trace(model, "changing_facts", seed, "v2", label=label)
        for t in range(0, st.beliefs.positions, 3):
            lines = render_beliefs(st, t, 46).split("\n")[1:]  # two cells a line
            rows = st.view(t).beliefs
            for i, row in enumerate(rows):
                line, x = lines[i // 2], (i % 2) * 24
                if row.believed >= 0:
                    status_at = x + 15  # "▶k22 v30  0.71 " then the status
                    assert line.plain[status_at : status_at + len(row.status)] == row.status
                    colour = line.get_style_at_offset(console, status_at).color.triplet.hex
                    assert colour == STATUS_COLOURS[row.status]
                    seen.add(row.status)
                ground = line.get_style_at_offset(console, x + 2).bgcolor
                assert (ground is not None and ground.triplet.hex == QUERY_GROUND) == row.queried
    assert seen == {"right", "stale", "wrong", "unset"}


async def test_transformer_has_beliefs_and_exports_them(make_app, tmp_path):
    app = await open_stepper(make_app)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await ready(pilot, app)
        screen.set_model(fresh_source("tiny_transformer"))
        await wait_for(pilot, lambda: screen.trace.model_name == "tiny_transformer", what="the transformer")
        st = screen.trace
        panel = screen.query_one("#panel-a", ModelPanel)
        assert panel.has_class("-no-memory") and not panel.query_one(MatrixView).display
        assert screen.check_action("next_head", ()) is False  # h: not in the key bar without a delta-rule memory
        await pilot.press("b")
        await pilot.pause()
        t = screen.cursor
        assert t == st.beliefs.next_change(0)
        assert_beliefs_shown(shown(panel, BeliefView), st, t)
        await pilot.press("x")
        results = tmp_path / "results"
        await wait_for(pilot, lambda: list(results.glob("stepper-*-beliefs.png")), timeout=30, what="the belief PNG")
        await wait_for(pilot, lambda: any("beliefs.png" in str(n.message) for n in app._notifications), what="the notice")
        assert len(list(results.glob("stepper-*.png"))) == 1  # no memory figure: it keeps no memory


@SIZES
async def test_compare_a_delta_rule_model_with_forgetnet(make_app, tmp_path, size):
    app = await open_stepper(make_app)
    async with app.run_test(size=size) as pilot:
        screen = await ready(pilot, app)
        forgetnet = next(s for s in bundled_sources() if s.model == "forgetnet")
        screen.set_compare(forgetnet)
        await wait_for(pilot, lambda: screen.compare_trace is not None, timeout=30, what="the compared trace")
        await pilot.pause()
        a, b = screen.query_one("#panel-a", ModelPanel), screen.query_one("#panel-b", ModelPanel)
        assert a.has_class("-matrix") and b.has_class("-slot") and b.display
        if size[0] >= 110:
            assert a.region.x < b.region.x  # side by side
        else:
            assert a.region.y < b.region.y  # stacked
        assert screen.compare_trace.tokens == screen.trace.tokens  # same example
        changes = sorted({c.t for tr in (screen.trace, screen.compare_trace) for c in tr.beliefs.changes})
        await pilot.press("b", "b", "b")  # b: either model's next change of belief
        await pilot.pause()
        t = screen.cursor
        assert t == changes[2]
        for panel, st in ((a, screen.trace), (b, screen.compare_trace)):
            assert_beliefs_shown(shown(panel, BeliefView), st, t)
            assert shown(panel, Readout).cursor == t
            assert f"surprise {st.view(t).surprise:.3f}" in plain(shown(panel, Readout))
        matrix = plain(a.query_one(MatrixView)).splitlines()  # one matrix panel: S(t) and the net write
        assert matrix[1].strip() == "S(t)" and "written−erased" in matrix[10]
        assert "3ch/cell" in plain(b.query_one(MemoryHeatmap))  # beside one slot panel
        assert not b.query_one(MatrixView).display
        await pilot.press("h")
        await pilot.pause()
        assert plain(a.query_one(MatrixView)).startswith("h1/4")
        await pilot.press("x")
        results = tmp_path / "results"
        await wait_for(pilot, lambda: len(list(results.glob("stepper-*.png"))) == 4, timeout=40, what="four PNGs")
        names = sorted(p.name for p in results.glob("stepper-*.png"))
        assert [n for n in names if n.endswith("-bundled-gated_delta_net.png")]  # heads x time
        assert [n for n in names if n.endswith("-bundled-forgetnet.png")]  # slots x time
        assert len([n for n in names if n.endswith("-beliefs.png")]) == 2


def test_a_belief_change_that_does_not_fit_is_counted_not_cut():
    from forgetnet_tui.widgets.stepper_beliefs import belief_header

    source = bundled_sources()[0]
    model, label = source.load("cpu")
    st = build_stepper_trace(model, "changing_facts", 5, "v2", label=label)
    t = next(t for t in range(st.seq_len) if st.beliefs is not None and len(st.beliefs.changes_at(t)) > 1)
    wide, narrow = belief_header(st, t, 200).plain, belief_header(st, t, 50).plain
    first = sorted(st.beliefs.changes_at(t), key=lambda c: c.key != st.beliefs.query_key)[0].text
    more = len(st.beliefs.changes_at(t)) - 1
    assert first in wide and first in narrow and f"+{more} more" in narrow and "…" not in narrow and len(narrow) <= 50
