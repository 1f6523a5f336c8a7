"""Chart data for the Train screen: bounded metric series grown chunk by chunk from metrics.jsonl (min/max buckets, smoothing) and the run's pace.

A long run logs a line per step: 300,000 lines, 66 MB. Nothing here keeps
them. The Train screen reads the file a megabyte at a time (runs.MetricsTail
with max_bytes=CHUNK_BYTES), `RunSeries.add`
turns each chunk of records into columns (numpy, imported lazily: the app
starts without it) and folds them into one `BucketSeries` per metric, which
holds at most MAX_BUCKETS buckets of min, max and sum whatever the length of
the run. The UI thread only ever sees `SeriesSnapshot`s: immutable, a few
thousand numbers, cheap to draw and to hand between threads.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Sequence

# Columns kept from each record kind. Training lines come every log_every steps,
# held-out lines every eval_every steps (see docs/DESIGN.md, metrics.jsonl).
# A model without a statistic logs null (or nothing) for it: that series stays empty.
TRAIN_KEYS = ("loss", "answer_loss", "aux_loss", "accuracy", "write_strength", "erase_strength", "surprise")
EVAL_KEYS = ("eval_loss", "eval_accuracy")
MEMORY_KEYS = ("write_strength", "erase_strength", "surprise")

MAX_BUCKETS = 1024  # a long series keeps between MAX_BUCKETS/2 and MAX_BUCKETS buckets (TensorBoard keeps ~1,000 points)
# Time constants (in logged lines) of the EMAs every series carries: weight = 1 - 1/span. The smoothing
# toggle shows the one nearest 10 buckets: a short run gets TensorBoard's 0.9 per point; on a
# 300,000-line run a 10-line EMA would not show at 500 lines a bucket, so it gets the 10,000-line one.
SMOOTHING_SPANS = (10, 100, 1_000, 10_000, 100_000)
PACE_WINDOW_S = 30.0  # steps/s is averaged over the last this-many seconds of training...
PACE_WINDOW_LINES = 2048  # ...or over this many training lines, whichever is shorter
CHUNK_BYTES = 1 << 20  # ~4,500 lines: one chunk is parsed in ~10 ms, so the UI thread never waits long for the GIL


def span_weight(span: int) -> float:
    return 1.0 - 1.0 / span


def smoothing_span(width: int) -> int:
    """The EMA span shown for buckets of `width` points: the nearest (in log scale) to 10 buckets."""
    return min(SMOOTHING_SPANS, key=lambda span: abs(math.log(span / (10.0 * width))))


# --------------------------------------------------------------------------- bounded series


@dataclass(frozen=True)
class SeriesView:
    """An immutable copy of a BucketSeries: one entry per bucket. For a short series every bucket is one point."""

    xs: list[int]  # each bucket's last step (the newest step is always the last x)
    lo: list[float]  # smallest raw value in the bucket: dips stay visible
    hi: list[float]  # largest raw value in the bucket: spikes stay visible
    mean: list[float]
    smooth_means: dict[int, list[float]]  # span -> each bucket's mean of the debiased EMA (ema_debiased) of all points
    width: int = 1  # points per bucket (the last bucket may hold fewer)
    points: int = 0  # points folded in so far

    def __len__(self) -> int:
        return len(self.xs)

    @property
    def smoothing_span(self) -> int:
        return smoothing_span(self.width)

    @property
    def smooth_mean(self) -> list[float]:
        """The smoothed curve to show at this resolution (span: `smoothing_span`)."""
        return self.smooth_means.get(self.smoothing_span, []) if self.points else []


EMPTY_VIEW = SeriesView([], [], [], [], {})


class BucketSeries:
    """One metric against step in bounded memory: consecutive points merged into buckets keeping min, max and sum.

    Every bucket but the last holds `width` points. When the points would need
    more than `max_buckets` buckets, neighbours merge in pairs and `width`
    doubles, so a series keeps between max_buckets/2 and max_buckets buckets,
    and a one-step spike survives as its bucket's max. The debiased EMAs of the
    full-resolution points (exactly ema_debiased of everything added, one per
    span in `spans`, computed once per point as it arrives) are summed per
    bucket alongside, so showing a smoothed curve costs nothing. Steps must
    increase: a step at or before the last one (a resumed run logging again
    from its checkpoint) first drops the buckets from that step on, including
    all of the bucket that holds it (exact while `width` is 1, i.e. below
    max_buckets points).
    """

    def __init__(self, spans: Sequence[int] = SMOOTHING_SPANS, max_buckets: int = MAX_BUCKETS):
        if any(span < 1 for span in spans):
            raise ValueError(f"smoothing spans must be at least 1 line, got {spans}")
        if max_buckets < 2:
            raise ValueError("max_buckets must be at least 2")
        self.spans = tuple(spans)
        self.max_buckets = max_buckets
        self.clear()

    def clear(self) -> None:
        self.width = 1
        self.count = 0  # points
        self._acc = [0.0 for _ in self.spans]  # per span, the EMA accumulator (before debiasing) after the last point
        # One entry per bucket; the smoothed ones per span. _acc_end: the accumulators after the bucket's last point.
        self._first: list[int] = []
        self._last: list[int] = []
        self._lo: list[float] = []
        self._hi: list[float] = []
        self._sum: list[float] = []
        self._ssum: list[list[float]] = [[] for _ in self.spans]
        self._acc_end: list[list[float]] = [[] for _ in self.spans]

    def __len__(self) -> int:
        return self.count

    def extend(self, xs: Any, ys: Any) -> None:
        """Add points (steps `xs`, finite values `ys`: sequences or numpy arrays of the same length)."""
        import numpy as np

        xs = np.asarray(xs, dtype=np.int64)
        ys = np.asarray(ys, dtype=np.float64)
        while len(xs):
            if self._last and xs[0] <= self._last[-1]:
                self.truncate(int(xs[0]))
            back = np.flatnonzero(xs[1:] <= xs[:-1])  # a step that goes back inside this chunk
            cut = int(back[0]) + 1 if back.size else len(xs)
            self._extend_increasing(xs[:cut], ys[:cut])
            xs, ys = xs[cut:], ys[cut:]

    def truncate(self, step: int) -> None:
        """Drop the points at `step` and after (with the rest of the bucket holding `step`)."""
        if not self._last or self._last[-1] < step:
            return
        keep = bisect_left(self._first, step)  # buckets [keep:] start at or after step
        if keep and self._last[keep - 1] >= step:
            keep -= 1  # this one straddles `step`: it goes too
        for column in self._columns():
            del column[keep:]
        # Every kept bucket came before a dropped one, so each is full.
        self.count = keep * self.width
        self._acc = [ends[-1] if keep else 0.0 for ends in self._acc_end]

    def view(self) -> SeriesView:
        if not self.count:
            return EMPTY_VIEW
        last_n = self.count - self.width * (len(self._first) - 1)
        counts = [self.width] * (len(self._first) - 1) + [last_n]
        return SeriesView(
            xs=list(self._last),
            lo=list(self._lo),
            hi=list(self._hi),
            mean=[s / n for s, n in zip(self._sum, counts)],
            smooth_means={span: [s / n for s, n in zip(sums, counts)] for span, sums in zip(self.spans, self._ssum)},
            width=self.width,
            points=self.count,
        )

    # ------------------------------------------------------------------ internals

    def _columns(self) -> list[list]:
        return [self._first, self._last, self._lo, self._hi, self._sum, *self._ssum, *self._acc_end]

    def _extend_increasing(self, xs: Any, ys: Any) -> None:
        import numpy as np

        n = len(xs)
        if not n:
            return
        smoothed = []
        for k, span in enumerate(self.spans):
            acc, smooth = _ema_continue(ys, span_weight(span), self._acc[k], self.count)
            self._acc[k] = float(acc[-1])
            smoothed.append((acc, smooth))
        total = self.count + n
        while total > self.max_buckets * self.width:
            self._merge_pairs()
        i = 0
        if self._first:
            open_n = self.count - self.width * (len(self._first) - 1)
            if open_n < self.width:  # top up the last bucket first
                i = min(self.width - open_n, n)
                self._last[-1] = int(xs[i - 1])
                self._lo[-1] = min(self._lo[-1], float(ys[:i].min()))
                self._hi[-1] = max(self._hi[-1], float(ys[:i].max()))
                self._sum[-1] += float(ys[:i].sum())
                for (acc, smooth), sums, ends in zip(smoothed, self._ssum, self._acc_end):
                    sums[-1] += float(smooth[:i].sum())
                    ends[-1] = float(acc[i - 1])
        if i < n:  # the rest in new buckets of `width` points (the last one possibly short)
            starts = np.arange(i, n, self.width)
            ends_at = np.minimum(starts + self.width, n) - 1
            offsets = starts - i
            self._first += xs[starts].tolist()
            self._last += xs[ends_at].tolist()
            self._lo += np.minimum.reduceat(ys[i:], offsets).tolist()
            self._hi += np.maximum.reduceat(ys[i:], offsets).tolist()
            self._sum += np.add.reduceat(ys[i:], offsets).tolist()
            for (acc, smooth), sums, ends in zip(smoothed, self._ssum, self._acc_end):
                sums += np.add.reduceat(smooth[i:], offsets).tolist()
                ends += acc[ends_at].tolist()
        self.count = total

    def _merge_pairs(self) -> None:
        """Halve the number of buckets: (0, 1), (2, 3), ... merge; an odd last bucket stays as it is (now short)."""
        n = len(self._first)
        pairs = range(0, n, 2)
        later = [min(j + 1, n - 1) for j in pairs]

        def summed(column: list[float]) -> list[float]:
            return [column[j] + (column[j + 1] if j + 1 < n else 0.0) for j in pairs]

        self._first[:] = self._first[::2]
        self._last[:] = [self._last[j] for j in later]
        self._lo[:] = [min(self._lo[j], self._lo[k]) for j, k in zip(pairs, later)]
        self._hi[:] = [max(self._hi[j], self._hi[k]) for j, k in zip(pairs, later)]
        self._sum[:] = summed(self._sum)
        for sums, ends in zip(self._ssum, self._acc_end):
            sums[:] = summed(sums)
            ends[:] = [ends[j] for j in later]
        self.width *= 2


def _ema_continue(ys: Any, weight: float, acc: float, done: int) -> tuple[Any, Any]:
    """The EMA of `ys` continuing from accumulator `acc` after `done` points: (accumulators, debiased values).

    acc_k = weight * acc_{k-1} + (1 - weight) * y_k, unrolled over blocks:
    acc_k = weight^k * (weight * acc_{-1} + (1 - weight) * cumsum(y_i * weight^-i)),
    with blocks short enough that weight^-i stays far from overflow. Equal to
    ema_debiased over the whole series to float precision.
    """
    import numpy as np

    n = len(ys)
    if weight == 0.0:
        return ys.copy(), ys.copy()
    block, powers, inverse = _ema_powers(weight)
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, block):
        seg = ys[start : start + block]
        m = len(seg)
        out[start : start + m] = powers[:m] * (weight * acc + (1.0 - weight) * np.cumsum(seg * inverse[:m]))
        acc = out[start + m - 1]
    if weight ** (done + 1) < 1e-17:  # the bias correction 1 / (1 - weight^t) is 1.0 to float precision
        return out, out
    t = done + 1 + np.arange(n, dtype=np.float64)
    return out, out / (1.0 - weight**t)


@lru_cache(maxsize=16)
def _ema_powers(weight: float) -> tuple[int, Any, Any]:
    """(block length, weight^k, weight^-k for k < block): blocks end before weight^-k nears overflow."""
    import numpy as np

    block = max(1, min(4096, int(250 / -math.log10(weight))))
    k = np.arange(block, dtype=np.float64)
    return block, weight**k, weight**-k


def ema_debiased(values: Sequence[float], weight: float = 0.9) -> list[float]:
    """Exponential moving average with the start-up bias removed (as TensorBoard smooths). The reference BucketSeries matches.

    s_t = weight * s_{t-1} + (1 - weight) * x_t with s_0 = 0, divided by
    (1 - weight^t) so the first points are not dragged towards zero.
    E.g. [1, 1, 1] -> [1.0, 1.0, 1.0]; a plain EMA would give [0.1, 0.19, 0.271].
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out: list[float] = []
    acc = 0.0
    correction = 1.0
    for x in values:
        acc = weight * acc + (1.0 - weight) * x
        correction *= weight
        out.append(acc / (1.0 - correction))
    return out


# --------------------------------------------------------------------------- pace


class Pace:
    """Steps per second averaged over a window, and training time summed across resumes.

    A training line's `elapsed` counts from the trainer's (re)start, so a
    resumed run's new lines start again near 0. Each drop in `elapsed` opens a
    segment whose clock carries on from the previous segment's last line: the
    clock is training time, without the hours a run sat stopped. Steps/s is
    (steps gained) / (clock gained) over the last PACE_WINDOW_S seconds of
    clock or PACE_WINDOW_LINES lines, whichever is shorter; with a single line
    it is that line's own steps_per_sec.
    """

    def __init__(self) -> None:
        self.offset = 0.0  # training time of the segments before the current one
        self.last_elapsed: float | None = None
        self.window: deque[tuple[float, int]] = deque(maxlen=PACE_WINDOW_LINES)  # (clock, step)
        self.last_rate: float | None = None  # the newest line's own steps_per_sec

    def add(self, steps: Any, elapsed: Any, rates: Any) -> None:
        """Numpy columns of training lines in file order (elapsed and rates NaN where missing)."""
        import numpy as np

        finite_rates = rates[np.isfinite(rates)]
        if finite_rates.size:
            self.last_rate = float(finite_rates[-1])
        ok = np.isfinite(elapsed)
        steps, elapsed = steps[ok], elapsed[ok]
        if not elapsed.size:
            return
        previous = np.concatenate(([self.last_elapsed if self.last_elapsed is not None else -np.inf], elapsed[:-1]))
        clock = np.empty_like(elapsed)
        start = 0
        for drop in np.flatnonzero(elapsed < previous).tolist():  # a restart: few per file
            clock[start:drop] = elapsed[start:drop] + self.offset
            self.offset += float(previous[drop])
            start = drop
        clock[start:] = elapsed[start:] + self.offset
        self.last_elapsed = float(elapsed[-1])
        tail = slice(-PACE_WINDOW_LINES, None)
        self.window.extend(zip(clock[tail].tolist(), steps[tail].tolist()))

    @property
    def training_time(self) -> float | None:
        return None if self.last_elapsed is None else self.offset + self.last_elapsed

    @property
    def steps_per_sec(self) -> float | None:
        if len(self.window) < 2:
            return self.last_rate
        end_clock, end_step = self.window[-1]
        clocks = [c for c, _ in self.window]
        first = min(bisect_left(clocks, end_clock - PACE_WINDOW_S), len(clocks) - 2)
        start_clock, start_step = self.window[first]
        if end_clock <= start_clock or end_step <= start_step:
            return self.last_rate
        return (end_step - start_step) / (end_clock - start_clock)


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class SeriesSnapshot:
    """What the Train screen shows of one run at one moment: immutable, safe to pass between threads."""

    curves: dict[str, SeriesView]
    last_train: dict[str, Any] | None = None
    last_eval: dict[str, Any] | None = None
    best_eval_accuracy: float | None = None
    steps_per_sec: float | None = None  # averaged over the pace window
    training_time: float | None = None  # seconds, summed across resumes
    version: int = 0

    @property
    def has_memory_stats(self) -> bool:
        return any(len(self.curves[key]) for key in MEMORY_KEYS)

    @property
    def has_data(self) -> bool:
        return any(len(view) for view in self.curves.values())


EMPTY_SNAPSHOT = SeriesSnapshot(curves={key: EMPTY_VIEW for key in (*TRAIN_KEYS, *EVAL_KEYS)})


class RunSeries:
    """All series of one run, its latest records and its pace, grown chunk by chunk.

    Owned by whichever thread reads the run's file (the Train screen's poll
    worker, one at a time); others get `snapshot()`s.
    """

    def __init__(self) -> None:
        self.version = 0
        self.clear()

    def clear(self) -> None:
        self.curves: dict[str, BucketSeries] = {key: BucketSeries() for key in (*TRAIN_KEYS, *EVAL_KEYS)}
        self.last_train: dict[str, Any] | None = None
        self.last_eval: dict[str, Any] | None = None
        self.best_eval_accuracy: float | None = None
        self.pace = Pace()
        self.version += 1

    def add(self, records: Iterable[dict[str, Any]]) -> int:
        """Fold in records (in file order); return how many were used (others lack an integer step or a known kind)."""
        import numpy as np

        train: list[dict[str, Any]] = []
        held_out: list[dict[str, Any]] = []
        for record in records:
            if type(record.get("step")) is not int:  # bools and floats are not steps
                continue
            kind = record.get("kind")
            if kind == "train":
                train.append(record)
            elif kind == "eval":
                held_out.append(record)
        for group, keys in ((train, TRAIN_KEYS), (held_out, EVAL_KEYS)):
            if not group:
                continue
            steps = np.fromiter((r["step"] for r in group), dtype=np.int64, count=len(group))
            for key in keys:
                ys = _column(group, key)
                ok = np.isfinite(ys)
                if ok.all():
                    self.curves[key].extend(steps, ys)
                elif ok.any():
                    self.curves[key].extend(steps[ok], ys[ok])
            if group is train:
                self.last_train = train[-1]
                self.pace.add(steps, _column(train, "elapsed"), _column(train, "steps_per_sec"))
            else:
                self.last_eval = held_out[-1]
                accuracies = _column(held_out, "eval_accuracy")
                accuracies = accuracies[np.isfinite(accuracies)]
                if accuracies.size:
                    best = float(accuracies.max())
                    self.best_eval_accuracy = best if self.best_eval_accuracy is None else max(best, self.best_eval_accuracy)
        used = len(train) + len(held_out)
        if used:
            self.version += 1
        return used

    def snapshot(self) -> SeriesSnapshot:
        return SeriesSnapshot(
            curves={key: series.view() for key, series in self.curves.items()},
            last_train=self.last_train,
            last_eval=self.last_eval,
            best_eval_accuracy=self.best_eval_accuracy,
            steps_per_sec=self.pace.steps_per_sec,
            training_time=self.pace.training_time,
            version=self.version,
        )


def _column(records: list[dict[str, Any]], key: str) -> Any:
    """records[i][key] as a float array, NaN where missing, null or not a number."""
    import numpy as np

    values = [r.get(key) for r in records]
    try:
        return np.array(values, dtype=np.float64)
    except (TypeError, ValueError):  # a string or a list somewhere: the slow, careful way
        return np.array([float(v) if _finite(v) else math.nan for v in values], dtype=np.float64)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
