"""Chart data and drawing without the app: bounded series, smoothing, pace across resumes, chunked reading, charts and legends."""

from __future__ import annotations

import math
import random

import pytest

from forgetnet_tui.formatting import (
    format_accuracy,
    format_age,
    format_duration,
    format_interval,
)
from forgetnet_tui.screens.train import ChartOptions, RunView, build_specs
from forgetnet_tui.series import (
    SMOOTHING_SPANS,
    BucketSeries,
    RunSeries,
    ema_debiased,
    smoothing_span,
)
from forgetnet_tui.widgets.charts import (
    AUX_COLOUR,
    CLIP_MARKER,
    HELD_OUT_COLOUR,
    POINT_MARKER,
    POINTS,
    ChartSpec,
    ColourBook,
    Line,
    chart_legend,
    nice_ticks,
    render_chart,
)
from forgetnet_tui.widgets.progress import Progress, progress_text

from .helpers import train_records


def add_in_chunks(series: BucketSeries, xs: list[int], ys: list[float], seed: int = 0) -> None:
    rnd = random.Random(seed)
    i = 0
    while i < len(xs):
        k = rnd.randint(1, 900)
        series.extend(xs[i : i + k], ys[i : i + k])
        i += k


def test_debiased_ema():
    assert ema_debiased([1.0, 1.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0])  # no pull towards zero at the start
    smoothed = ema_debiased([0.0, 10.0], weight=0.5)
    assert smoothed == pytest.approx([0.0, 10.0 * 0.5 / 0.75])
    assert ema_debiased([]) == []
    with pytest.raises(ValueError):
        ema_debiased([1.0], weight=1.0)


def test_bucketed_series_stays_bounded_and_keeps_spikes_and_dips():
    rnd = random.Random(1)
    n = 50_000
    xs = list(range(1, n + 1))
    ys = [1.0 + 0.1 * rnd.random() for _ in xs]
    ys[12_344] = 50.0  # one step's spike (step 12,345)...
    ys[40_000] = -7.0  # ...and one step's dip
    series = BucketSeries(max_buckets=64)
    add_in_chunks(series, xs, ys)
    view = series.view()
    assert 32 <= len(view) <= 64 and view.points == n and view.width == 1024
    assert view.xs[-1] == n  # the newest step is the last x
    spike = view.hi.index(50.0)
    assert view.xs[spike - 1] < 12_345 <= view.xs[spike]  # in the bucket that holds its step
    assert min(view.lo) == -7.0 and sorted(view.hi)[-2] < 1.1  # nothing else reaches it
    counts = [view.width] * (len(view) - 1) + [n - view.width * (len(view) - 1)]
    assert sum(m * c for m, c in zip(view.mean, counts)) == pytest.approx(sum(ys))  # no point lost or counted twice
    # Chunked or all at once: the same buckets.
    whole = BucketSeries(max_buckets=64)
    whole.extend(xs, ys)
    assert whole.view().hi == view.hi and whole.view().lo == view.lo and whole.view().xs == view.xs


@pytest.mark.parametrize("n, max_buckets", [(300, 1024), (20_000, 64)])
def test_incremental_smoothing_equals_smoothing_the_full_series(n, max_buckets):
    rnd = random.Random(n)
    xs = list(range(1, n + 1))
    ys = [math.sin(i / 50) + rnd.gauss(0, 0.3) + (30.0 if i == 1 else 0.0) for i in xs]
    series = BucketSeries(max_buckets=max_buckets)
    add_in_chunks(series, xs, ys, seed=n)
    view = series.view()
    width = view.width
    for span in SMOOTHING_SPANS:
        full = ema_debiased(ys, 1 - 1 / span)
        expected = [sum(full[i : i + width]) / len(full[i : i + width]) for i in range(0, n, width)]
        assert view.smooth_means[span] == pytest.approx(expected, rel=1e-9, abs=1e-12), span
    if width == 1:
        assert view.smooth_mean == pytest.approx(ema_debiased(ys, 0.9), rel=1e-9)  # TensorBoard's 0.9 a point


def test_smoothing_span_follows_the_resolution():
    assert smoothing_span(1) == 10  # a short run: 0.9 a line
    assert smoothing_span(16) == 100
    assert smoothing_span(512) == 10_000  # 300,000 lines in ~586 buckets: an EMA over ~10 buckets' worth of lines
    assert smoothing_span(1 << 20) == 100_000


def test_series_replaces_relogged_steps_and_smooths_what_remains():
    series = BucketSeries()
    series.extend([1, 2, 3, 4, 5], [1.0, 2.0, 3.0, 4.0, 5.0])
    series.extend([3, 4], [9.0, 8.0])  # a resumed run logs again from step 3
    view = series.view()
    assert view.xs == [1, 2, 3, 4] and view.mean == [1.0, 2.0, 9.0, 8.0]
    assert view.smooth_mean == pytest.approx(ema_debiased([1.0, 2.0, 9.0, 8.0]))
    series.extend([2, 3, 1], [5.0, 6.0, 7.0])  # steps going back inside one chunk too
    assert series.view().xs == [1] and series.view().mean == [7.0]


def test_run_series_reads_columns_and_skips_nulls():
    series = RunSeries()
    records = train_records(5)
    records[2] = {**records[2], "loss": None, "surprise": "n/a"}
    used = series.add([*records, {"kind": "train", "step": "x"}, {"kind": "train", "step": True}, {"kind": "weird", "step": 1}])
    assert used == 6  # 5 train + 1 eval
    snap = series.snapshot()
    assert snap.curves["loss"].xs == [1, 2, 4, 5] and snap.curves["surprise"].xs == [1, 2, 4, 5]
    assert len(snap.curves["erase_strength"]) == 0  # never logged: an empty series, not zeros
    assert snap.best_eval_accuracy == 0.2 and snap.last_train["step"] == 5 and snap.has_memory_stats
    transformer = RunSeries()
    transformer.add([{"kind": "train", "step": s, "loss": 1.0, "write_strength": None, "surprise": None} for s in (1, 2)])
    assert not transformer.snapshot().has_memory_stats and transformer.snapshot().has_data


def pace_records(first: int, last: int, rate: float, start_elapsed: float = 0.0) -> list[dict]:
    """Training lines at `rate` steps/s whose steps_per_sec field is a misleading one-line value."""
    return [
        {"kind": "train", "step": s, "loss": 1.0, "steps_per_sec": 999.0 if s % 2 else 1.0, "elapsed": start_elapsed + (s - first + 1) / rate}
        for s in range(first, last + 1)
    ]


def test_pace_averages_over_a_window_and_sums_time_across_a_resume():
    series = RunSeries()
    series.add(pace_records(1, 100, rate=10.0))  # 10 s at 10 steps/s
    snap = series.snapshot()
    assert snap.steps_per_sec == pytest.approx(10.0) and snap.training_time == pytest.approx(10.0)
    # Resumed: the new lines' elapsed starts again from 0; 1,000 steps at 20 steps/s (50 s, longer than the window).
    series.add(pace_records(101, 1100, rate=20.0))
    snap = series.snapshot()
    assert snap.training_time == pytest.approx(60.0)
    assert snap.steps_per_sec == pytest.approx(20.0)  # the last 30 s, not a mix with the first run, not 999 or 1
    status = {"state": "running", "step": 1100, "total_steps": 2000, "started": 0.0, "updated": 5000.0}
    progress = Progress.from_run(status, {"steps": 2000, "device": "auto"}, snap, "running")
    assert progress.elapsed == pytest.approx(60.0) and progress.eta == pytest.approx(900 / 20.0)
    text = progress_text(progress).plain
    assert "20.0 steps/s" in text and "1:00 elapsed" in text and "ETA 0:45" in text


def test_progress_device_comes_from_config_until_status_has_one():
    config = {"steps": 10, "device": "cuda:1"}
    assert Progress.from_run({"state": "running", "step": 0}, config, None, "running").device == "cuda:1"
    assert Progress.from_run({"state": "running", "device": "cuda:0"}, config, None, "running").device == "cuda:0"
    assert Progress.from_run(None, None, None, "pending").device == "?"
    # No line with `elapsed` yet: wall time from status.json.
    assert Progress.from_run({"started": 100.0, "updated": 107.0}, config, None, "running").elapsed == pytest.approx(7.0)


def test_ticks_and_formats():
    assert nice_ticks(1, 300, 4) == [100, 200, 300]
    assert nice_ticks(5, 5, 4) == [5]
    assert nice_ticks(0, 1, 5, whole=False) == [0.0, 0.25, 0.5, 0.75, 1.0] or nice_ticks(0, 1, 5, whole=False) == [0.0, 0.5, 1.0]
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "-"
    assert format_age(42) == "42s" and format_age(7200) == "2h"
    # One format for accuracies, small or large: never 6.3e-03 beside 0.03.
    assert [format_accuracy(v) for v in (0.0063, 0.03, 0.375, 1.0, None)] == ["0.6%", "3.0%", "37.5%", "100.0%", "-"]
    assert format_interval(0.531, 0.694) == "[53,69]" and format_interval(None, 0.5) == ""


@pytest.mark.parametrize(
    "lines",
    [
        (),
        (Line([], [], 39),),
        (Line([1], [0.5], 39),),
        (Line([1, 2, 3], [1.0, 1.0, 1.0], 39),),
        (Line([1, 2, 3], [float("nan"), float("inf"), -1.0], 39),),
        (Line([3, 1, 2], [None, "x", 0.5], 39, lo=[None, 0, float("nan")], hi=[1, 2, 3]),),
        (Line(list(range(5000)), [math.sin(i) for i in range(5000)], 39), Line([1, 4000], [0.0, 1.0], 208, "held-out", POINTS)),
    ],
)
@pytest.mark.parametrize("log_y", [False, True])
@pytest.mark.parametrize("size", [(40, 10), (16, 4), (80, 3)])
def test_render_chart_never_raises(lines, log_y, size):
    width, height = size
    text = render_chart(ChartSpec(lines, log_y=log_y, y_include=(0.0,) if len(lines) == 1 else (), y_max=1.0 if len(lines) == 1 else None), width, height)
    assert len(text.plain.splitlines()) <= height
    assert all(len(line) <= width for line in text.plain.splitlines())
    chart_legend(ChartSpec(lines, log_y=log_y))


def plot_cells(text, gutter_end: str = "│┤") -> list[str]:
    """The plot area of each row (after the y axis), axis rows dropped."""
    rows = []
    for line in text.plain.splitlines():
        cut = max(line.find(c) for c in gutter_end)
        if cut >= 0 and "└" not in line:
            rows.append(line[cut + 1 :])
    return rows


def test_a_flat_line_is_one_row_of_dots_with_no_stray_glyphs():
    text = render_chart(ChartSpec((Line(list(range(1, 500)), [0.5] * 499, 39, "flat"),), y_include=(0.0, 1.0)), 60, 12)
    rows = plot_cells(text)
    marked = [i for i, row in enumerate(rows) if row.strip()]
    assert len(marked) == 1  # one row: no columns of strokes across the plot
    assert set(rows[marked[0]]) <= {chr(c) for c in range(0x2800, 0x2900)}
    assert "|" not in text.plain


def test_a_one_step_spike_in_a_long_series_stays_visible():
    series = BucketSeries()
    xs = list(range(1, 300_001))
    ys = [1.0] * len(xs)
    ys[150_000] = 5.0
    series.extend(xs, ys)
    view = series.view()
    text = render_chart(ChartSpec((Line(view.xs, view.mean, 39, "loss", lo=view.lo, hi=view.hi),)), 60, 12)
    rows = plot_cells(text)
    assert rows[0].strip()  # the spike reaches the top row...
    assert rows[-1].strip()  # ...from the flat line at the bottom
    assert sum(1 for ch in rows[0] if ch.strip()) == 1  # in one column


def test_held_out_points_are_drawn_on_top_in_their_own_colour():
    xs = list(range(0, 1001, 10))
    spec = ChartSpec(
        (Line(xs[::10], [0.5] * 11, HELD_OUT_COLOUR, "held-out", POINTS, z=3), Line(xs, [0.5] * len(xs), 39, "train batch", z=2)),
        y_include=(0.0, 1.0),
        percent=True,
    )
    text = render_chart(spec, 60, 12)
    assert text.plain.count(POINT_MARKER) == 11
    for span in text.spans:
        if POINT_MARKER in text.plain[span.start : span.end]:
            assert str(span.style) == f"color({HELD_OUT_COLOUR})"
    assert "100%┤" in text.plain and "0%┤" in text.plain  # accuracies as percentages on the axis too


def test_the_aux_loss_is_cut_off_not_flattening_the_answer_loss():
    xs = list(range(1, 1001))
    answer = Line(xs, [2.0 - s / 1000 for s in xs], 39, "answer loss", z=2)
    # A spike at step 1, then ten times the answer loss for a while (a transformer's first hundred steps), then below it.
    aux = Line(xs, [40.0 if s == 1 else (20.0 - s / 20 if s < 300 else 0.5) for s in xs], AUX_COLOUR, "aux loss", fits_top=False, z=1)
    spec = ChartSpec((answer, aux))
    text = render_chart(spec, 60, 14)
    labels = [float(line.split("┤")[0]) for line in text.plain.splitlines() if "┤" in line]
    assert max(labels) <= 2.5 and min(labels) <= 0.5  # the axis fits the answer loss, and the aux loss's lows
    top = plot_cells(text)[0]
    assert top[0] == CLIP_MARKER and top.count(CLIP_MARKER) >= 10  # the cut-off stretch is marked along the top edge
    assert CLIP_MARKER not in top[-20:]  # not where the aux loss is in range
    legend = chart_legend(spec).plain
    assert legend == f"━ answer loss  ━ aux loss {CLIP_MARKER}40"
    # Alone on the chart (no answer loss logged), it is fitted after all.
    assert CLIP_MARKER not in render_chart(ChartSpec((aux,)), 60, 14).plain


def test_accuracy_axis_starts_at_zero_and_never_passes_100_percent():
    low = ChartSpec((Line([1, 2, 3], [0.01, 0.05, 0.08], 39),), y_include=(0.0,), y_max=1.0, percent=True)
    labels = [line.split("┤")[0].strip() for line in render_chart(low, 40, 12).plain.splitlines() if "┤" in line]
    assert labels[-1] == "0%" and labels[0] in ("8%", "6%") and "100%" not in labels  # early accuracies use the height
    high = ChartSpec((Line([1, 2, 3], [0.2, 0.9, 1.0], 39),), y_include=(0.0,), y_max=1.0, percent=True)
    assert "100%┤" in render_chart(high, 40, 12).plain and "104%" not in render_chart(high, 40, 12).plain


def run_snapshot(steps: int, memory: dict[str, float | None], evals: bool = True):
    series = RunSeries()
    records = []
    for s in range(1, steps + 1):
        records.append({"kind": "train", "step": s, "loss": 2.0, "answer_loss": 1.5, "aux_loss": 0.5, "accuracy": s / steps, **memory})
        if evals and s % 10 == 0:
            records.append({"kind": "eval", "step": s, "eval_accuracy": s / steps})
    series.add(records)
    return series.snapshot()


def legend_entries(legend) -> dict[str, str]:
    """label -> colour style of each legend key."""
    plain = legend.plain
    out = {}
    for span in legend.spans:
        key = plain[span.start : span.end].strip()
        if key and set(key) <= {"━", POINT_MARKER}:
            label = plain[span.end :].split("  ")[0].strip().split(f" {CLIP_MARKER}")[0]
            out[label] = str(span.style)
    return out


def test_legends_name_every_series_in_distinct_colours_and_skip_null_series():
    book = ColourBook()
    delta = run_snapshot(50, {"write_strength": 0.3, "erase_strength": 0.2, "surprise": None})
    transformer = run_snapshot(40, {"write_strength": None, "surprise": None})
    runs = [
        RunView(book.colour("a"), delta, primary=True, label="forgetnet_delta", model="forgetnet_delta"),
        RunView(book.colour("b"), transformer, primary=False, label="tiny_transformer", model="tiny_transformer"),
    ]
    specs, titles = build_specs(runs, ChartOptions(smooth=False, log_loss=False))
    expected = {
        "loss": {"answer loss", "aux loss", "tiny_transformer"},
        "accuracy": {"train batch", "held-out", "tiny_transformer"},  # the overlay's line and points: one entry
        "memory": {"write strength", "erase strength"},  # surprise is null: no empty entry for it; the transformer has none
    }
    for name, labels in expected.items():
        entries = legend_entries(chart_legend(specs[name]))
        assert set(entries) == labels, name
        assert len(set(entries.values())) == len(entries), f"{name}: two series share a colour"
        assert entries["tiny_transformer" if name != "memory" else "write strength"] == f"color({runs[1 if name != 'memory' else 0].colour})"
    assert chart_legend(specs["accuracy"]).plain.endswith(f"━{POINT_MARKER} tiny_transformer")
    assert titles["loss"] == "loss · raw · linear"


def test_a_run_without_memory_says_so():
    transformer = run_snapshot(20, {"write_strength": None, "surprise": None}, evals=False)
    specs, _ = build_specs([RunView(39, transformer, model="tiny_transformer")], ChartOptions(False, False))
    assert specs["memory"].lines == ()
    assert render_chart(specs["memory"], 40, 10).plain == "no memory: tiny_transformer has none"
    # With a memory model overlaid, its curve is drawn and the legend says the main run has none.
    forgetnet = run_snapshot(20, {"write_strength": 0.4, "surprise": 0.1}, evals=False)
    runs = [RunView(39, transformer, model="tiny_transformer"), RunView(77, forgetnet, primary=False, label="forgetnet", model="forgetnet")]
    specs, _ = build_specs(runs, ChartOptions(False, False))
    assert chart_legend(specs["memory"]).plain == "━ forgetnet  tiny_transformer: no memory"


def test_smoothing_draws_the_smoothed_series_and_leaves_held_out_points_alone():
    snap = run_snapshot(30, {"write_strength": 0.3})
    raw, _ = build_specs([RunView(39, snap)], ChartOptions(False, False))
    smooth, titles = build_specs([RunView(39, snap)], ChartOptions(True, False))
    assert titles["accuracy"] == "accuracy · smoothed"
    train_raw, held_raw = raw["accuracy"].lines
    train_smooth, held_smooth = smooth["accuracy"].lines
    assert train_smooth.ys == pytest.approx(ema_debiased(list(train_raw.ys))) and train_smooth.ys != train_raw.ys
    assert train_raw.hi is not None and train_smooth.hi is None  # the raw band (spikes) only on the raw charts
    assert held_smooth.ys == held_raw.ys


def test_colour_book_is_stable():
    book = ColourBook()
    first = [book.colour(name) for name in ("a", "b", "c")]
    assert len(set(first)) == 3
    assert [book.colour(name) for name in ("c", "a", "b")] == [first[2], first[0], first[1]]
