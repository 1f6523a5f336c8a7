"""Train screen: live loss, accuracy and memory charts of a run (plus overlaid runs) tailed from metrics.jsonl."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from forgetnet_core.listing import newest_run
from forgetnet_core.runs import (
    CONFIG_FILE,
    METRICS_JSONL,
    MetricsTail,
    effective_state,
    read_json,
    read_status,
)

from ..formatting import format_accuracy, format_number
from ..messages import ChartResized, ChartsRendered, DefaultRunFound, MetricsPolled
from ..series import (
    CHUNK_BYTES,
    EMPTY_SNAPSHOT,
    RunSeries,
    SeriesSnapshot,
    SeriesView,
)
from ..widgets.charts import (
    AUX_COLOUR,
    ERASE_COLOUR,
    HELD_OUT_COLOUR,
    POINTS,
    SURPRISE_COLOUR,
    ChartSpec,
    ColourBook,
    Line,
    LineChart,
    chart_legend,
    render_chart,
    step_label,
)
from ..widgets.header import LabHeader
from ..widgets.keybar import KeyBar
from ..widgets.progress import Progress, ProgressLine

if TYPE_CHECKING:
    from ..app import ForgetNetLab

LOAD_POST_INTERVAL = 0.2  # while a long file loads, show what is read so far this often (seconds)


class FeedSource:
    """The reading side of one watched run: its tail of metrics.jsonl (a chunk a read) and the series it grows.

    Only the poll worker touches it, and `lock` keeps that to one thread even
    when a cancelled worker is still finishing its chunk as the next starts.
    """

    def __init__(self, path: Path) -> None:
        self.reader = MetricsTail(path / METRICS_JSONL, max_bytes=CHUNK_BYTES)
        self.series = RunSeries()
        self.lock = threading.Lock()
        self.posted = -1  # series.version last sent to the UI


@dataclass
class Feed:
    """One run being watched, as the UI thread sees it: the latest snapshot of its series, status and config."""

    path: Path
    source: FeedSource
    series: SeriesSnapshot = EMPTY_SNAPSHOT
    status: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    state: str = "?"
    bad_lines: int = 0
    reading: float | None = None  # fraction of metrics.jsonl read while a long file loads, else None


@dataclass
class FeedUpdate:
    """What one poll found for one run (made in the worker)."""

    path: Path
    source: FeedSource
    series: SeriesSnapshot | None  # None: unchanged
    bad: int
    status: dict[str, Any] | None
    state: str
    config: dict[str, Any] | None
    reading: float | None = None  # the fraction read, while more of the file remains


@dataclass(frozen=True)
class RunView:
    """One run as the charts draw it."""

    colour: int
    series: SeriesSnapshot
    primary: bool = True
    label: str = ""  # names an overlay in the chart legends
    model: str = "?"


@dataclass(frozen=True)
class ChartOptions:
    smooth: bool
    log_loss: bool


class TrainScreen(Screen):
    """Watch runs train. The first run is the main one (progress, Stop); others are overlaid in their own colours."""

    TITLE = "forgetnet-lab · Train"
    CSS_PATH = "train.tcss"
    BINDINGS = [
        Binding("s", "toggle_smooth", "Smooth", tooltip="Smoothing on/off (a debiased exponential moving average)"),
        Binding("g", "toggle_log", "Log loss", tooltip="Log scale on the loss chart on/off"),
        Binding("o", "pick_overlay", "Overlay", tooltip="Choose runs to draw on the same charts (space toggles, c clears, esc applies)"),
        Binding("x", "stop_run", "Stop", tooltip="Stop this run gracefully: it checkpoints, then ends `stopped`"),
    ]

    PALETTE_ACTIONS = (
        ("Charts: toggle smoothing", "Debiased exponential moving average over the raw curves (s)", "toggle_smooth"),
        ("Charts: toggle log-scale loss", "Log scale on the loss chart's y axis (g)", "toggle_log"),
        ("Charts: overlay runs", "Choose runs to draw on the same charts (o)", "pick_overlay"),
        ("Run: stop", "Stop this run: checkpoint, then `stopped` (x)", "stop_run"),
    )

    smooth: reactive[bool] = reactive(False, init=False)
    log_loss: reactive[bool] = reactive(False, init=False)

    def __init__(
        self,
        runs_dir: Path,
        colours: ColourBook | None = None,
        tail_interval: float = 0.25,
        redraw_interval: float = 0.4,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.colours = colours or ColourBook()
        self.tail_interval = tail_interval
        self.redraw_interval = redraw_interval
        self.feeds: dict[Path, Feed] = {}
        self.primary: Path | None = None
        self.dirty = False
        self.redraws = 0
        self._drawn_data = False  # the charts show data of the current runs (until then, data is drawn on arrival)
        self._poll_worker: Worker | None = None
        self._lab_timers: list[Timer] = []
        self._looked_for_default = False
        self._shown: dict[str | None, Text] = {}
        self._ready = False  # widgets composed (is_mounted only turns True after on_mount returns)

    @property
    def lab(self) -> "ForgetNetLab":
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield LabHeader("train")
        yield ProgressLine("No run selected.", id="progress")
        yield Static("", id="run-error", markup=False)
        with Grid(id="charts"):
            yield LineChart(id="chart-loss")
            yield LineChart(id="chart-accuracy")
            yield LineChart(id="chart-memory")
            with VerticalScroll(id="run-details"):
                yield Static("", id="legend")
                yield Static("", id="details")
        yield KeyBar()

    def on_mount(self) -> None:
        self._ready = True
        for chart_id, title in (("loss", "loss"), ("accuracy", "accuracy"), ("memory", "memory")):
            self.query_one(f"#chart-{chart_id}", LineChart).border_title = title
        self.query_one("#run-details").border_title = "run"
        self._lab_timers = [
            self.set_interval(self.tail_interval, self.poll, name="train-tail"),
            self.set_interval(self.redraw_interval, self._redraw_if_dirty, name="train-redraw"),
        ]
        self._show_progress()
        self._show_details()

    def on_screen_suspend(self) -> None:
        for timer in self._lab_timers:
            timer.pause()

    def on_screen_resume(self) -> None:
        for timer in self._lab_timers:
            timer.resume()
        if not self.feeds and not self._looked_for_default:
            self._looked_for_default = True
            self._find_default_run()
        self.poll()  # new data marks the charts dirty; the cached charts show at once meanwhile

    # ------------------------------------------------------------------ which runs

    def show_runs(self, primary: Path, overlays: list[Path] | tuple[Path, ...] = ()) -> None:
        """Watch `primary` (progress line, Stop key) and draw `overlays` on the same charts."""
        self._looked_for_default = True
        wanted = [Path(primary), *[Path(p) for p in overlays if Path(p) != Path(primary)]]
        old = self.feeds
        self.feeds = {p: old[p] if p in old else Feed(p, FeedSource(p)) for p in wanted}
        if set(old) - set(self.feeds) and self._poll_worker is not None:
            self._poll_worker.cancel()  # stop loading a run no longer watched; it ends after its current chunk
        self.primary = wanted[0]
        for path in wanted:
            self.colours.colour(path.name)
        self._drawn_data = any(feed.series.has_data for feed in self.feeds.values())
        self._show_progress()
        self._show_details()
        self.poll()
        self.request_redraw()

    @property
    def overlays(self) -> list[Path]:
        return [p for p in self.feeds if p != self.primary]

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-default")
    def _find_default_run(self) -> None:
        self.post_message(DefaultRunFound(newest_run(self.runs_dir)))

    def on_default_run_found(self, message: DefaultRunFound) -> None:
        if message.path is not None and not self.feeds:
            self.show_runs(message.path)

    # ------------------------------------------------------------------ tailing

    def poll(self) -> None:
        """Read what every watched run appended since the last poll, off the UI thread (one poll at a time)."""
        if not self.feeds or (self._poll_worker is not None and not self._poll_worker.is_finished):
            return
        feeds = [(f.path, f.source, f.config is None) for f in self.feeds.values()]
        self._poll_worker = self._poll(feeds)

    # `description`: by default Textual describes a worker by repr() of its arguments, on the UI thread.
    @work(thread=True, exit_on_error=False, group="train-tail", description="read the watched runs' new lines")
    def _poll(self, feeds: list[tuple[Path, FeedSource, bool]]) -> None:
        """Read each run's new lines a chunk at a time; a long file posts what it has every LOAD_POST_INTERVAL."""
        worker = get_current_worker()
        updates = []
        for path, source, need_config in feeds:
            status = read_status(path)
            state = effective_state(status) if path.exists() else "deleted"
            config = read_json(path / CONFIG_FILE) if need_config else None
            bad = 0
            with source.lock:
                posted_at = time.monotonic()
                while not worker.is_cancelled:
                    records, chunk_bad = source.reader.read_new()
                    if source.reader.reset:
                        source.series.clear()
                    source.series.add(records)
                    bad += chunk_bad
                    if not source.reader.more:
                        break
                    if time.monotonic() - posted_at > LOAD_POST_INTERVAL:  # a long file: draw what is read so far
                        self.post_message(MetricsPolled([self._update(path, source, bad, status, state, config)]))
                        bad, posted_at = 0, time.monotonic()
                updates.append(self._update(path, source, bad, status, state, config))
        self.post_message(MetricsPolled(updates))

    @staticmethod
    def _update(path: Path, source: FeedSource, bad: int, status: dict[str, Any] | None, state: str, config: dict[str, Any] | None) -> FeedUpdate:
        """A FeedUpdate with a snapshot of the series if it changed since the last one sent. Call with source.lock held."""
        snapshot = None
        if source.series.version != source.posted:
            snapshot = source.series.snapshot()
            source.posted = source.series.version
        reading = source.reader.fraction_read if source.reader.more else None
        return FeedUpdate(path=path, source=source, series=snapshot, bad=bad, status=status, state=state, config=config, reading=reading)

    def on_metrics_polled(self, message: MetricsPolled) -> None:
        changed = loaded = False
        for update in message.updates:
            feed = self.feeds.get(update.path)
            if feed is None or feed.source is not update.source:
                continue  # a run no longer watched (or watched afresh since)
            if update.series is not None:
                feed.series = update.series
                changed = True
            loaded = loaded or (feed.reading is not None and update.reading is None)
            feed.reading = update.reading
            if update.bad:
                feed.bad_lines += update.bad
                self.notify(
                    f"Skipped {update.bad} unreadable line{'s' if update.bad != 1 else ''} in {update.path.name}/metrics.jsonl",
                    severity="warning",
                    timeout=4,
                )
            if update.config is not None:
                feed.config = update.config
            if update.state != feed.state or update.status != feed.status:
                changed = changed or update.state != feed.state
                feed.status, feed.state = update.status, update.state
        if changed:
            if self._drawn_data and not loaded:
                self.dirty = True  # the redraw timer draws it
            else:
                self.request_redraw()  # the first data of these runs, or the rest of a long file: draw it now
        self._show_progress()
        self._show_details()

    def _show_progress(self) -> None:
        if not self._ready:
            return
        progress = self.query_one(ProgressLine)
        error = self.query_one("#run-error", Static)
        feed = self.feeds.get(self.primary) if self.primary else None
        if feed is None:
            progress.show_message("No run selected: open one from the Runs screen (1, then Enter).")
            error.display = False
            return
        progress.show(Progress.from_run(feed.status, feed.config, feed.series, feed.state))
        message = (feed.status or {}).get("error")
        if feed.state == "failed":
            self._set(error, Text(f"✗ run failed: {message or 'no error message recorded (see output.log)'}"), layout=True)
            error.display = True
        elif feed.state == "stale":
            self._set(error, Text("⚠ stale: status says running but its process is gone (resume it from the Runs screen)"), layout=True)
            error.display = True
        elif feed.state == "deleted":
            self._set(error, Text("this run directory no longer exists"), layout=True)
            error.display = True
        else:
            error.display = False

    def _show_details(self) -> None:
        if not self._ready:
            return
        legend = Text()
        details = Text()
        for path, feed in self.feeds.items():
            colour = self.colours.colour(path.name)
            legend.append("■ ", style=f"color({colour})")
            label = run_label(path.name, feed.config)
            legend.append(label + ("" if path == self.primary else " (overlay)") + "\n", style="bold" if path == self.primary else "")
        feed = self.feeds.get(self.primary) if self.primary else None
        if feed is not None:
            config = feed.config or {}
            status = feed.status or {}
            series = feed.series
            last = series.last_train or {}
            last_eval = series.last_eval or {}
            rows = [
                ("model", config.get("model", "?")),
                ("task", f"{config.get('task', '?')} ({config.get('suite', '?')})"),
                ("params", status.get("parameter_count", "?")),
                ("loss", format_number(last.get("loss") if isinstance(last.get("loss"), (int, float)) else None)),
                ("train acc", format_accuracy(last.get("accuracy"))),
                ("held-out", format_accuracy(last_eval.get("eval_accuracy"))),
                ("best held-out", format_accuracy(series.best_eval_accuracy)),
                ("lr / batch", f"{config.get('lr', '?')} / {config.get('batch_size', '?')}"),
                ("seed", config.get("seed", "?")),
            ]
            if feed.bad_lines:
                rows.append(("skipped lines", feed.bad_lines))
            for key, value in rows:
                details.append(f"{key:>13} ", style="dim")
                details.append(f"{value}\n")
        details.append(f"{'charts':>13} ", style="dim")
        details.append(f"{chart_mode(feed, self.smooth)}\n")
        details.append(f"{'loss axis':>13} ", style="dim")
        details.append("log" if self.log_loss else "linear")
        if feed is not None and feed.reading is not None:
            details.append(f"\n{'reading':>13} ", style="dim")
            details.append(f"metrics.jsonl {feed.reading:.0%}")
        self._set(self.query_one("#legend", Static), legend, layout=True)
        self._set(self.query_one("#details", Static), details, layout=True)

    def _set(self, widget: Static, text: Text, layout: bool = False) -> None:
        """Update a Static only when its content changed; `layout` only where the height may change."""
        if self._shown.get(widget.id) == text:
            return
        self._shown[widget.id] = text
        widget.update(text, layout=layout)

    # ------------------------------------------------------------------ drawing

    def request_redraw(self) -> None:
        """Redraw now (a key was pressed, the size changed, first data); data arriving later only sets `dirty`."""
        self.dirty = False
        if not self._ready:
            return
        charts = {name: self.query_one(f"#chart-{name}", LineChart).plot_size for name in ("loss", "accuracy", "memory")}
        runs = self._run_views()
        if any(run.series.has_data for run in runs):
            self._drawn_data = True
        self._render_charts(runs, charts, ChartOptions(self.smooth, self.log_loss))

    def _run_views(self) -> list[RunView]:
        """The runs as the charts draw them: snapshots are immutable, so the worker gets them as they are."""
        models = [str((feed.config or {}).get("model") or path.name) for path, feed in self.feeds.items()]
        labels = short_labels(models)
        return [
            RunView(self.colours.colour(path.name), feed.series, path == self.primary, label, model)
            for (path, feed), label, model in zip(self.feeds.items(), labels, models)
        ]

    def _redraw_if_dirty(self) -> None:
        if self.dirty:
            self.request_redraw()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-charts", description="draw the Train screen's charts")
    def _render_charts(self, runs: list[RunView], sizes: dict[str, tuple[int, int]], options: ChartOptions) -> None:
        specs, titles = build_specs(runs, options)
        texts, legends = {}, {}
        for name, spec in specs.items():
            if get_current_worker().is_cancelled:
                return
            width, height = sizes[name]
            texts[name] = render_chart(spec, width, height)
            legends[name] = chart_legend(spec)
        if not get_current_worker().is_cancelled:
            self.post_message(ChartsRendered(texts, titles, legends))

    def on_charts_rendered(self, message: ChartsRendered) -> None:
        self.redraws += 1
        for name, text in message.texts.items():
            chart = self.query_one(f"#chart-{name}", LineChart)
            self._set(chart, text)
            chart.border_title = message.titles[name]
            chart.border_subtitle = message.legends[name]

    @on(ChartResized)
    def _chart_resized(self) -> None:
        self.request_redraw()

    # ------------------------------------------------------------------ actions

    def watch_smooth(self) -> None:
        self.request_redraw()
        self._show_details()

    def watch_log_loss(self) -> None:
        self.request_redraw()
        self._show_details()

    def action_toggle_smooth(self) -> None:
        self.smooth = not self.smooth

    def action_toggle_log(self) -> None:
        self.log_loss = not self.log_loss

    def action_stop_run(self) -> None:
        if self.primary is None:
            self.notify("No run selected", severity="warning")
            return
        self.lab.stop_run(self.primary)

    def action_pick_overlay(self) -> None:
        from ..dialogs.overlay_picker import OverlayPicker

        def chosen(paths: list[Path] | None) -> None:
            if paths is not None and self.primary is not None:
                self.show_runs(self.primary, paths)

        self.app.push_screen(OverlayPicker(self.runs_dir, self.primary, self.overlays), chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop_run":
            feed = self.feeds.get(self.primary) if self.primary else None
            return True if feed is not None and feed.state == "running" else None
        return True


def run_label(name: str, config: dict[str, Any] | None) -> str:
    """`model · task · stamp` for the usual <model>-<task>-<stamp> names (wraps at the dots), else the name."""
    config = config or {}
    prefix = f"{config.get('model')}-{config.get('task')}-"
    if name.startswith(prefix) and len(name) > len(prefix):
        return f"{config['model']} · {config['task']} · {name[len(prefix):]}"
    return name


def chart_mode(feed: Feed | None, smooth: bool) -> str:
    """`raw` or `smoothed`, with what that means at the main run's resolution: `smoothed · EMA ~10k steps`."""
    if feed is None:
        return "smoothed" if smooth else "raw"
    curves = feed.series.curves
    view = curves["answer_loss"] if len(curves["answer_loss"]) else curves["loss"]
    log_every = (feed.config or {}).get("log_every")
    steps_a_line = log_every if isinstance(log_every, int) and log_every > 0 else 1
    if smooth:
        return f"smoothed · EMA ~{step_label(view.smoothing_span * steps_a_line)} steps"
    return f"raw · {step_label(view.width * steps_a_line)} steps a point" if view.width > 1 else "raw"


def short_labels(models: list[str]) -> list[str]:
    """Legend names for runs: the model, numbered where two runs share one (forgetnet, forgetnet 2)."""
    seen: dict[str, int] = {}
    out = []
    for model in models:
        seen[model] = seen.get(model, 0) + 1
        out.append(model if seen[model] == 1 else f"{model} {seen[model]}")
    return out


def build_specs(runs: list[RunView], options: ChartOptions) -> tuple[dict[str, ChartSpec], dict[str, str]]:
    """The three charts' specs from each run's snapshot: pure, so a worker can call it and a test can read it.

    The main run's main series (answer loss, train-batch accuracy, write
    strength) take its run colour, its other series fixed colours of their own
    (aux loss, held-out, surprise, erase); an overlaid run draws its main
    series and its held-out points, in its colour. Held-out points go on top.
    The aux loss never stretches the loss axis (its start can be ten times the
    answer loss): it is cut off there. Series a run does not log (nulls) are
    left out, legend included.
    """

    def line(view: SeriesView, colour: int, label: str, z: int, style: str = "line", fits_top: bool = True) -> Line:
        # Raw: each bucket's mean, over a band of its min and max (spikes included); smoothed: the smoothed series alone.
        if options.smooth and style != POINTS:  # held-out points are few and each is already an average
            return Line(view.xs, view.smooth_mean, colour, label, style, fits_top=fits_top, z=z)
        return Line(view.xs, view.mean, colour, label, style, view.lo, view.hi, fits_top, z)

    loss: list[Line] = []
    accuracy: list[Line] = []
    memory: list[Line] = []
    for run in runs:
        c, colour = run.series.curves, run.colour
        answer = "answer_loss" if len(c["answer_loss"]) else "loss"
        if run.primary:
            loss += [line(c[answer], colour, "answer loss" if answer == "answer_loss" else "loss", 2), line(c["aux_loss"], AUX_COLOUR, "aux loss", 1, fits_top=False)]
            accuracy += [line(c["accuracy"], colour, "train batch", 2), line(c["eval_accuracy"], HELD_OUT_COLOUR, "held-out", 4, POINTS)]
            memory += [
                line(c["write_strength"], colour, "write strength", 2),
                line(c["erase_strength"], ERASE_COLOUR, "erase strength", 1),
                line(c["surprise"], SURPRISE_COLOUR, "surprise", 1),
            ]
        else:  # one legend entry a run: its line and its held-out points share the label
            loss.append(line(c[answer], colour, run.label, 0))
            accuracy += [line(c["accuracy"], colour, run.label, 0), line(c["eval_accuracy"], colour, run.label, 3, POINTS)]
            memory.append(line(c["write_strength"], colour, run.label, 0))
    mode = "smoothed" if options.smooth else "raw"
    primary = next((run for run in runs if run.primary), None)
    no_memory = primary is not None and primary.series.has_data and not primary.series.has_memory_stats

    def present(lines: list[Line]) -> tuple[Line, ...]:
        return tuple(l for l in lines if len(l.xs))

    memory_lines = present(memory)
    specs = {
        "loss": ChartSpec(present(loss), log_y=options.log_loss),
        "accuracy": ChartSpec(present(accuracy), y_include=(0.0,), y_max=1.0, percent=True),
        "memory": ChartSpec(
            memory_lines,
            y_include=(0.0,),
            empty=f"no memory: {primary.model} has none" if no_memory and primary is not None else "waiting for data…",
            note=f"{primary.model}: no memory" if no_memory and primary is not None and memory_lines else "",
        ),
    }
    titles = {
        "loss": f"loss · {mode} · {'log' if options.log_loss else 'linear'}",
        "accuracy": f"accuracy · {mode}",
        "memory": f"memory · {mode}",
    }
    return specs, titles
