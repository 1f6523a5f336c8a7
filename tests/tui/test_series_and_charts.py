"""Chart data and drawing without the app: smoothing, downsampling, curves, ticks, odd data."""

from __future__ import annotations

import math

import pytest

from forgetnet_tui.run_listing import RunLister, RunTail
from forgetnet_tui.series import Curve, RunSeries, downsample, ema_debiased, format_age, format_duration
from forgetnet_tui.widgets.charts import ChartSpec, ColourBook, Line, nice_ticks, render_chart

from .helpers import train_records, write_run


def test_debiased_ema():
    assert ema_debiased([1.0, 1.0, 1.0]) == pytest.approx([1.0, 1.0, 1.0])  # no pull towards zero at the start
    smoothed = ema_debiased([0.0, 10.0], weight=0.5)
    assert smoothed == pytest.approx([0.0, 10.0 * 0.5 / 0.75])
    assert ema_debiased([]) == []
    with pytest.raises(ValueError):
        ema_debiased([1.0], weight=1.0)


def test_downsample_keeps_the_newest_point():
    xs, ys = downsample(list(range(1000)), [float(i) for i in range(1000)], 100)
    assert len(xs) <= 100 and xs[0] == 0 and xs[-1] == 999 and ys[-1] == 999.0
    assert downsample([1, 2], [1.0, 2.0], 100) == ([1, 2], [1.0, 2.0])


def test_series_ignores_bad_values_and_replaces_resumed_steps():
    series = RunSeries()
    used = series.add([*train_records(5), {"kind": "train", "step": "x"}, {"kind": "weird", "step": 1}, {"kind": "train", "step": 6, "loss": None}])
    assert used == 7  # 5 train + 1 eval + step 6 (whose loss is missing)
    assert series.curves["loss"].xs == [1, 2, 3, 4, 5]
    series.add([{"kind": "train", "step": 3, "loss": 9.0}])  # a resume re-logs from step 3
    assert series.curves["loss"].xs == [1, 2, 3] and series.curves["loss"].ys[-1] == 9.0
    assert series.best_eval_accuracy == 0.2
    assert len(Curve()) == 0


def test_ticks_and_formats():
    assert nice_ticks(1, 300, 4) == [100, 200, 300]
    assert nice_ticks(5, 5, 4) == [5]
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "-"
    assert format_age(42) == "42s" and format_age(7200) == "2h"


@pytest.mark.parametrize(
    "lines",
    [
        (),
        (Line([], [], 39),),
        (Line([1], [0.5], 39),),
        (Line([1, 2, 3], [1.0, 1.0, 1.0], 39),),
        (Line([1, 2, 3], [float("nan"), float("inf"), -1.0], 39),),
        (Line(list(range(5000)), [math.sin(i) for i in range(5000)], 39), Line([1, 4000], [0.0, 1.0], 208, "·")),
    ],
)
@pytest.mark.parametrize("log_y", [False, True])
def test_render_chart_never_raises(lines, log_y):
    text = render_chart(ChartSpec(lines, log_y=log_y), 40, 10)
    assert len(text.plain.splitlines()) <= 10
    assert all(len(line) <= 40 for line in text.plain.splitlines())


def test_colour_book_is_stable():
    book = ColourBook()
    first = [book.colour(name) for name in ("a", "b", "c")]
    assert len(set(first)) == 3
    assert [book.colour(name) for name in ("c", "a", "b")] == [first[2], first[0], first[1]]


def test_run_listing_reads_only_what_was_appended(tmp_path):
    run = write_run(tmp_path, steps=10)
    lister = RunLister(tmp_path)
    [info] = lister.list()
    assert info.last_loss == pytest.approx(0.4) and info.best_eval_accuracy == pytest.approx(0.4)
    tail = lister._tails[run][0]
    offset = tail.tail.offset
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write('{"kind": "train", "step": 11, "loss": 0.1}\n')
    [info] = lister.list()
    assert info.last_loss == pytest.approx(0.1) and tail.tail.offset > offset


def test_run_tail_notices_a_replaced_file(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"kind": "train", "step": 1, "loss": 1}\n{"kind": "train", "step": 2, "loss": 2}\n')
    tail = RunTail(path)
    assert len(tail.read_new()[0]) == 2
    replacement = tmp_path / "new.jsonl"  # what a resume does: rewrite, then the trainer appends past the old size
    replacement.write_text('{"kind": "train", "step": 1, "loss": 1}\n{"kind": "train", "step": 2, "loss": 5}\n{"kind": "train", "step": 3, "loss": 3}\n')
    replacement.replace(path)
    records, bad = tail.read_new()
    assert tail.reset and bad == 0 and [r["step"] for r in records] == [1, 2, 3]
