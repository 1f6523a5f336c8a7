"""The stepper's PNG export: the title fits, the token colours are explained, compare mode names both models' runs."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from forgetnet_core.checkpoints import ModelSource, fresh_model, fresh_source
from forgetnet_core.stepper import build_stepper_trace
from forgetnet_core.stepper_figures import (
    MARK_MEANINGS,
    export_names,
    slot_time_figure,
    source_slug,
)

LONG_LABEL = "forgetnet_delta_no_surprise · changing_facts · forgetnet_delta_no_surprise-changing_facts-20261126-101500"


@pytest.fixture(scope="module")
def trace():
    model = fresh_model("forgetnet", seed=3)
    return build_stepper_trace(model, "changing_facts", seed=6, suite="v2", seq_len=32, label=LONG_LABEL)


def test_the_title_is_not_clipped_and_the_token_colours_have_a_legend(trace):
    fig = slot_time_figure(trace, upto=12)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    title = fig._suptitle
    box, page = title.get_window_extent(renderer), fig.bbox
    assert page.x0 <= box.x0 and box.x1 <= page.x1 and box.y1 <= page.y1, "the title runs off the figure"
    assert "no_surprise-changing_facts-20261126-101500" in title.get_text().replace("\n", "")  # all of it, wrapped
    (legend,) = fig.legends
    names = [t.get_text() for t in legend.get_texts()]
    kinds = set(trace.marks.values())
    assert kinds and {MARK_MEANINGS[k] for k in kinds} <= set(names)  # every colour on the axis is explained
    assert "cursor (t=12)" in names
    assert legend.get_window_extent(renderer).y0 >= page.y0 - 1
    # The legend's swatches have the colours the tick labels use.
    ticks = {t.get_text(): t.get_color() for t in fig.axes[1].get_xticklabels() if t.get_fontweight() == "bold"}
    handle_colours = {h.get_color() for h in legend.legend_handles}
    assert set(ticks.values()) <= handle_colours


def test_compare_exports_are_named_by_both_models_runs():
    a = ModelSource("checkpoint", "forgetnet", "/runs/forgetnet-changing_facts-20260101-000000/checkpoint.pt", "a")
    b = ModelSource("checkpoint", "no_forget", "/runs/no_forget-changing_facts-20260102-000000/checkpoint.pt", "b")
    assert source_slug(a) == "forgetnet-changing_facts-20260101-000000"
    assert source_slug(fresh_source("fifo_memory")) == "fresh-fifo_memory"
    base, pngs = export_names(a, b, "changing_facts", 0, 12, "20260103-120000")
    assert base == ("stepper-forgetnet-changing_facts-20260101-000000-vs-no_forget-changing_facts-20260102-000000"
                    "-changing_facts-seed0-t12-20260103-120000")
    assert pngs == [f"{base}-forgetnet-changing_facts-20260101-000000.png", f"{base}-no_forget-changing_facts-20260102-000000.png"]
    # A model compared with itself still gives two files; one model gives one.
    assert len(set(export_names(a, a, "changing_facts", 0, 1, "x")[1])) == 2
    base, pngs = export_names(a, None, "changing_facts", 0, 12, "20260103-120000")
    assert pngs == [f"{base}.png"] and "-vs-" not in base
