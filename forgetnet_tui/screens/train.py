"""Train screen: live loss, accuracy and memory charts of a run (plus overlaid runs) tailed from metrics.jsonl."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import Worker, get_current_worker

from forgetnet_core.runs import CONFIG_FILE, METRICS_JSONL, effective_state, read_json, read_status

from ..run_listing import RunTail, newest_run

from ..series import Curve, RunSeries, downsample, ema_debiased, format_number
from ..widgets.header import LabHeader
from ..widgets.keybar import KeyBar
from ..widgets.charts import (
    PRIMARY_MARKER,
    SECONDARY_MARKER,
    ChartSpec,
    ColourBook,
    Line,
    LineChart,
    render_chart,
)
from ..widgets.progress import Progress, ProgressLine

if TYPE_CHECKING:
    from ..app import ForgetNetLab

SMOOTHING = 0.9  # EMA weight of the smoothing toggle


@dataclass
class Feed:
    """One run being watched: its tail of metrics.jsonl and what has been read so far (UI thread owns it)."""

    path: Path
    tail: RunTail
    series: RunSeries = field(default_factory=RunSeries)
    status: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    state: str = "?"
    bad_lines: int = 0


@dataclass
class FeedUpdate:
    """What one poll of one run found (made in a worker thread)."""

    path: Path
    records: list[dict[str, Any]]
    bad: int
    reset: bool
    status: dict[str, Any] | None
    state: str
    config: dict[str, Any] | None


@dataclass(frozen=True)
class ChartOptions:
    smooth: bool
    log_loss: bool


class TrainScreen(Screen):
    """Watch runs train. The first run is the main one (progress, Stop); others are overlaid in their own colours."""

    TITLE = "forgetnet-lab · Train"
    BINDINGS = [
        Binding("s", "toggle_smooth", "Smooth"),
        Binding("g", "toggle_log", "Log loss"),
        Binding("o", "pick_overlay", "Overlay"),
        Binding("x", "stop_run", "Stop"),
    ]

    PALETTE_ACTIONS = (
        ("Charts: toggle smoothing", "Debiased exponential moving average over the raw curves (s)", "toggle_smooth"),
        ("Charts: toggle log-scale loss", "Log scale on the loss chart's y axis (g)", "toggle_log"),
        ("Charts: overlay runs", "Choose runs to draw on the same charts (o)", "pick_overlay"),
        ("Run: stop", "Stop this run: checkpoint, then `stopped` (x)", "stop_run"),
    )

    smooth: reactive[bool] = reactive(False, init=False)
    log_loss: reactive[bool] = reactive(False, init=False)

    class Polled(Message):
        def __init__(self, generation: int, updates: list[FeedUpdate]) -> None:
            super().__init__()
            self.generation = generation
            self.updates = updates

    class ChartsRendered(Message):
        def __init__(self, texts: dict[str, Text], titles: dict[str, str]) -> None:
            super().__init__()
            self.texts = texts
            self.titles = titles

    class DefaultRunFound(Message):
        def __init__(self, path: Path | None) -> None:
            super().__init__()
            self.path = path

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
        self.generation = 0
        self.dirty = False
        self.redraws = 0
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
        self.feeds = {p: old[p] if p in old else Feed(p, RunTail(p / METRICS_JSONL)) for p in wanted}
        self.primary = wanted[0]
        for path in wanted:
            self.colours.colour(path.name)
        self.generation += 1
        self._show_progress()
        self._show_details()
        self.poll()
        self.request_redraw()

    @property
    def overlays(self) -> list[Path]:
        return [p for p in self.feeds if p != self.primary]

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-default")
    def _find_default_run(self) -> None:
        self.post_message(self.DefaultRunFound(newest_run(self.runs_dir)))

    def on_train_screen_default_run_found(self, message: DefaultRunFound) -> None:
        if message.path is not None and not self.feeds:
            self.show_runs(message.path)

    # ------------------------------------------------------------------ tailing

    def poll(self) -> None:
        """Read what every watched run appended since the last poll, off the UI thread (one poll at a time)."""
        if not self.feeds or (self._poll_worker is not None and not self._poll_worker.is_finished):
            return
        feeds = [(f.path, f.tail, f.config is None) for f in self.feeds.values()]
        self._poll_worker = self._poll(self.generation, feeds)

    @work(thread=True, exit_on_error=False, group="train-tail")
    def _poll(self, generation: int, feeds: list[tuple[Path, RunTail, bool]]) -> None:
        updates = []
        for path, tail, need_config in feeds:
            records, bad = tail.read_new()
            status = read_status(path)
            updates.append(
                FeedUpdate(
                    path=path,
                    records=records,
                    bad=bad,
                    reset=tail.reset,
                    status=status,
                    state=effective_state(status) if path.exists() else "deleted",
                    config=read_json(path / CONFIG_FILE) if need_config else None,
                )
            )
        self.post_message(self.Polled(generation, updates))

    def on_train_screen_polled(self, message: Polled) -> None:
        if message.generation != self.generation:
            return
        changed = False
        for update in message.updates:
            feed = self.feeds.get(update.path)
            if feed is None:
                continue
            if update.reset:
                feed.series.clear()
                changed = True
            if update.records:
                feed.series.add(update.records)
                changed = True
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
            self.dirty = True
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
        progress.show(Progress.from_run(feed.status, feed.config, feed.series.last_train, feed.state))
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
            rows = [
                ("model", config.get("model", "?")),
                ("task", f"{config.get('task', '?')} ({config.get('suite', '?')})"),
                ("params", status.get("parameter_count", "?")),
                ("loss", format_number(last.get("loss") if isinstance(last.get("loss"), (int, float)) else None)),
                ("train acc", format_number(last.get("accuracy") if isinstance(last.get("accuracy"), (int, float)) else None, 2)),
                ("best held-out", format_number(series.best_eval_accuracy, 2)),
                ("lr / batch", f"{config.get('lr', '?')} / {config.get('batch_size', '?')}"),
                ("seed", config.get("seed", "?")),
            ]
            if feed.bad_lines:
                rows.append(("skipped lines", feed.bad_lines))
            for key, value in rows:
                details.append(f"{key:>13} ", style="dim")
                details.append(f"{value}\n")
        details.append(f"{'charts':>13} ", style="dim")
        details.append(f"{'smoothed' if self.smooth else 'raw'}, loss {'log' if self.log_loss else 'linear'}")
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
        """Redraw now (a key was pressed, the size changed); data arriving only sets `dirty`."""
        self.dirty = False
        if not self._ready:
            return
        charts = {name: self.query_one(f"#chart-{name}", LineChart).plot_size for name in ("loss", "accuracy", "memory")}
        runs = []
        for path, feed in self.feeds.items():
            runs.append((self.colours.colour(path.name), feed.series.snapshot()))
        self._render_charts(runs, charts, ChartOptions(self.smooth, self.log_loss))

    def _redraw_if_dirty(self) -> None:
        if self.dirty:
            self.request_redraw()

    @work(thread=True, exclusive=True, exit_on_error=False, group="train-charts")
    def _render_charts(self, runs: list[tuple[int, dict[str, Curve]]], sizes: dict[str, tuple[int, int]], options: ChartOptions) -> None:
        specs, titles = build_specs(runs, sizes, options)
        texts = {}
        for name, spec in specs.items():
            if get_current_worker().is_cancelled:
                return
            width, height = sizes[name]
            texts[name] = render_chart(spec, width, height)
        if not get_current_worker().is_cancelled:
            self.post_message(self.ChartsRendered(texts, titles))

    def on_train_screen_charts_rendered(self, message: ChartsRendered) -> None:
        self.redraws += 1
        for name, text in message.texts.items():
            chart = self.query_one(f"#chart-{name}", LineChart)
            self._set(chart, text)
            chart.border_title = message.titles[name]
        self.query_one("#chart-loss", LineChart).border_subtitle = f"{_key(PRIMARY_MARKER)} answer  {SECONDARY_MARKER} aux"
        self.query_one("#chart-accuracy", LineChart).border_subtitle = f"{_key(PRIMARY_MARKER)} train batch  {SECONDARY_MARKER} held-out"
        self.query_one("#chart-memory", LineChart).border_subtitle = f"{_key(PRIMARY_MARKER)} write strength  {SECONDARY_MARKER} surprise"

    @on(LineChart.Resized)
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
        from .dialogs import OverlayPicker

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


def _key(marker: str) -> str:
    return "▚" if marker == "hd" else marker


def build_specs(
    runs: list[tuple[int, dict[str, Curve]]], sizes: dict[str, tuple[int, int]], options: ChartOptions
) -> tuple[dict[str, ChartSpec], dict[str, str]]:
    """The three charts' specs from each run's (colour, curves): smoothed and downsampled to the chart width."""

    def line(curves: dict[str, Curve], key: str, colour: int, marker: str, width: int) -> Line:
        curve = curves[key]
        ys = ema_debiased(curve.ys, SMOOTHING) if options.smooth and key != "eval_accuracy" else curve.ys
        xs, ys = downsample(curve.xs, ys, max(16, 2 * width))
        return Line(xs, ys, colour, marker)

    loss, accuracy, memory = [], [], []
    lw, aw, mw = sizes["loss"][0], sizes["accuracy"][0], sizes["memory"][0]
    for colour, curves in runs:
        answer = "answer_loss" if curves["answer_loss"].xs else "loss"
        loss += [line(curves, "aux_loss", colour, SECONDARY_MARKER, lw), line(curves, answer, colour, PRIMARY_MARKER, lw)]
        accuracy += [line(curves, "eval_accuracy", colour, SECONDARY_MARKER, aw), line(curves, "accuracy", colour, PRIMARY_MARKER, aw)]
        memory += [line(curves, "surprise", colour, SECONDARY_MARKER, mw), line(curves, "write_strength", colour, PRIMARY_MARKER, mw)]
    mode = "smoothed" if options.smooth else "raw"
    has_memory = any(l.xs for l in memory)
    has_data = any(l.xs for l in loss)
    specs = {
        "loss": ChartSpec(tuple(loss), log_y=options.log_loss),
        "accuracy": ChartSpec(tuple(accuracy), y_limits=(0.0, 1.0)),
        "memory": ChartSpec(
            tuple(memory),
            y_limits=(0.0, 1.0),
            empty="no memory statistics: transformer baselines have no memory" if has_data and not has_memory else "waiting for data…",
        ),
    }
    titles = {
        "loss": f"loss · {mode} · {'log' if options.log_loss else 'linear'}",
        "accuracy": f"accuracy · {mode}",
        "memory": f"memory · {mode}",
    }
    return specs, titles
