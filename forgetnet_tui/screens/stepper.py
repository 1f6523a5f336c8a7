"""Stepper screen: walk a model through one example token by token and watch what it believes, reads, writes and erases.

The model runs once per (model, example) in a worker thread
(forgetnet_core.stepper.build_stepper_trace, which also probes its beliefs);
every key afterwards only moves a cursor over the precomputed arrays and
redraws. Slot memories are shown as slots, delta-rule memories as one head's
state update at a time (``h`` switches heads), Transformers by their beliefs
and predictions alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Static
from textual.worker import get_current_worker

from ..dialogs.model_picker import ModelPicker
from ..messages import ExportWritten, TraceFailed, TracesComputed
from ..widgets.header import LabHeader
from ..widgets.keybar import KeyBar
from ..widgets.stepper_panel import ModelPanel
from ..widgets.stepper_strip import TokenStrip
from ..widgets.stepper_view import TraceView

SPEEDS = (1, 2, 4, 8, 16, 32)  # play speeds, tokens per second
DEFAULT_SPEED = 2  # index into SPEEDS (4 tokens/s)


class _PanelScroll(VerticalScroll, can_focus=False):
    """Scrolls the panels on small terminals without taking the arrow keys from the stepper."""


@dataclass
class Loaded:
    """What one worker run produced: the traces of the primary (and compared) model on one example."""

    source: Any  # ModelSource of the primary model
    primary: Any  # StepperTrace
    compare: Any  # StepperTrace | None


class StepperScreen(Screen):
    """Step one example through a model (or two, side by side); the trace is computed once, stepping only indexes it."""

    TITLE = "forgetnet-lab · Stepper"
    # In the key bar's order; a narrow bar keeps the first ones (then ? Keys) and drops the rest.
    BINDINGS = [
        Binding("right", "step(1)", "Step", key_display="←→", tooltip="Step forward"),
        Binding("left", "step(-1)", "Back", show=False, tooltip="Step back"),
        Binding("space", "play", "Play", tooltip="Play / pause"),
        Binding("j", "next_event", "Event", tooltip="The next event: a fact about the queried key, an overwrite, the query"),
        Binding("b", "next_belief_change", "Belief", tooltip="The next change of belief: learned, overwritten, stale, lost"),
        Binding("m", "pick_model", "Model", tooltip="Pick the model: a run's checkpoint, a bundled checkpoint, a fresh model"),
        Binding("c", "compare", "Compare", tooltip="Compare with a second model side by side on the same example (c again ends it)"),
        Binding("x", "export", "Export", tooltip="Export an SVG of the screen and PNGs of the beliefs and the memory under results/"),
        Binding("h", "next_head", "Head", tooltip="The next head of a delta-rule memory"),
        Binding("home", "go_start", "Start", show=False, tooltip="The first token"),
        Binding("end", "go_end", "End", show=False, tooltip="The last token (where the verdict is)"),
        Binding("plus,equals_sign", "speed(1)", "Faster", show=False, key_display="+", tooltip="Play faster (up to 32 tokens/s)"),
        Binding("minus", "speed(-1)", "Slower", show=False, key_display="-", tooltip="Play slower (down to 1 token/s)"),
        Binding("J", "previous_event", "Previous event", show=False, tooltip="The previous event"),
        Binding("B", "previous_belief_change", "Previous belief change", show=False, tooltip="The previous change of belief"),
        Binding("H", "previous_head", "Previous head", show=False, tooltip="The previous head of a delta-rule memory"),
        Binding("n", "new_example", "New example", show=False, tooltip="A new example (the next seed)"),
        Binding("pageup", "scroll_panels(-1)", "Scroll up", show=False, tooltip="Scroll the panels up (small terminals)"),
        Binding("pagedown", "scroll_panels(1)", "Scroll down", show=False, tooltip="Scroll the panels down"),
    ]
    PALETTE_ACTIONS = (
        ("Stepper: next event", "Jump to the next token that matters: a fact about the queried key, an overwrite, the query (j)", "next_event"),
        ("Stepper: next belief change", "Jump to where the model's belief about a key changes: learned, an overwrite that takes, a stale value that survives, a lost fact (b)", "next_belief_change"),
        ("Stepper: next head", "Show the next head of a delta-rule memory (h)", "next_head"),
        ("Stepper: new example", "The next seed's example (n)", "new_example"),
        ("Stepper: pick model", "A run's checkpoint, a bundled checkpoint or a fresh model (m)", "pick_model"),
        ("Stepper: compare models", "Two models side by side on the same example (c)", "compare"),
        ("Stepper: export", "SVG of the screen, PNGs of the beliefs and of the memory over time, under results/ beside the runs (x)", "export"),
    )
    CSS_PATH = "stepper.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]

    def __init__(self, checkpoint: str | None = None, task: str = "changing_facts", seed: int = 0, suite: str = "v2") -> None:
        super().__init__()
        self.checkpoint = checkpoint
        self.task_name = task
        self.seed = seed
        self.suite = suite
        self.source: Any = None  # ModelSource of the primary model (resolved in the worker when None)
        self.compare_source: Any = None  # ModelSource of the compared model, or None
        self.trace: Any = None  # StepperTrace shown on the left
        self.compare_trace: Any = None  # StepperTrace shown on the right in compare mode
        self.cursor = 0
        self.head = 0  # the delta-rule head shown (each model takes it modulo its own heads)
        self.speed_index = DEFAULT_SPEED
        self.playing = False
        self._play_timer: Timer | None = None
        self._generation = 0
        self._models: dict[Any, Any] = {}  # ModelSource -> (model, label); only touched by the (exclusive) worker
        self._traces: dict[tuple, Any] = {}  # (source, task, seed, suite) -> StepperTrace; worker fills, UI reads
        self._cache_lock = threading.Lock()

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield LabHeader("stepper")
        yield Static("", id="stepper-status")
        yield TokenStrip(id="stepper-strip")
        with _PanelScroll(id="panels-scroll"):
            with Horizontal(id="panels"):
                yield ModelPanel(id="panel-a")
                yield ModelPanel(id="panel-b")
        yield KeyBar()

    def on_mount(self) -> None:
        self._strip = self.query_one(TokenStrip)
        self._panel_a = self.query_one("#panel-a", ModelPanel)
        self._panel_b = self.query_one("#panel-b", ModelPanel)
        self.recompute()

    @property
    def runs_dir(self) -> Path:
        return Path(getattr(self.app, "runs_dir", Path("runs")))

    @property
    def results_dir(self) -> Path:
        """The app's results folder (results/ beside the runs directory, or --results-dir)."""
        from forgetnet_core.matrix import results_root

        folder = getattr(self.app, "results_dir", None)
        return Path(folder) if folder is not None else results_root(self.runs_dir)

    # ------------------------------------------------------------------ computing traces

    def recompute(self) -> None:
        """Trace the current example through the chosen model(s) in a worker; the result arrives as TracesComputed."""
        self._generation += 1
        self.query_one("#panels").loading = True
        self._compute(self._generation, self.source, self.compare_source, self.task_name, self.seed, self.suite)

    @work(thread=True, exclusive=True, exit_on_error=False, group="stepper-trace")
    def _compute(self, generation: int, source: Any, compare: Any, task: str, seed: int, suite: str) -> None:
        try:
            from forgetnet_core.checkpoints import default_source

            if source is None:
                source = default_source(self.checkpoint)
            primary = self._trace_for(source, task, seed, suite)
            other = self._trace_for(compare, task, seed, suite) if compare is not None else None
        except Exception as exc:  # noqa: BLE001 - shown to the user, the screen stays usable
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.post_message(TraceFailed(generation, message))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(TracesComputed(generation, Loaded(source, primary, other)))

    def _trace_for(self, source: Any, task: str, seed: int, suite: str) -> Any:
        """The StepperTrace of `source` on (task, seed, suite), from the cache or computed now (worker thread)."""
        from forgetnet_core.stepper import build_stepper_trace

        key = (source, task, seed, suite)
        with self._cache_lock:
            if key in self._traces:
                return self._traces[key]
            if source not in self._models:
                self._models[source] = source.load("cpu")
            model, label = self._models[source]
            trace = build_stepper_trace(model, task, seed, suite, label=label)
            if len(self._traces) > 32:
                self._traces.clear()
            self._traces[key] = trace
            return trace

    def on_traces_computed(self, message: TracesComputed) -> None:
        if message.generation != self._generation:
            return
        self.query_one("#panels").loading = False
        self.trace = message.loaded.primary
        self.source = message.loaded.source
        self.compare_trace = message.loaded.compare
        self.set_class(self.compare_trace is not None, "-compare")
        self.cursor = min(self.cursor, self.trace.seq_len - 1)
        self.show_cursor()
        self.refresh_bindings()  # h works only with a delta-rule memory on screen

    def on_trace_failed(self, message: TraceFailed) -> None:
        if message.generation != self._generation:
            return
        self.query_one("#panels").loading = False
        self.notify(message.error, title="Stepper: could not trace the model", severity="error", timeout=8)

    # ------------------------------------------------------------------ showing the cursor

    def show_cursor(self) -> None:
        """Redraw every view at self.cursor (pure indexing of the precomputed traces)."""
        if self.trace is None:
            return
        self._strip.show(self.trace, self.cursor)
        self._panel_a.show(self.trace, self.cursor)
        if self.compare_trace is not None:
            self._panel_b.show(self.compare_trace, self.cursor)
        state = f"playing at {SPEEDS[self.speed_index]} tok/s" if self.playing else f"paused · speed {SPEEDS[self.speed_index]} tok/s"
        example = f"{self.task_name} ({self.suite}) seed {self.seed}"
        compare = " · comparing two models (their names head the panels)" if self.compare_trace is not None else ""
        self.query_one("#stepper-status", Static).update(Text(f"{example} · {state}{compare}", no_wrap=True, overflow="ellipsis"))

    def move_to(self, t: int) -> None:
        if self.trace is None:
            return
        self.cursor = max(0, min(int(t), self.trace.seq_len - 1))
        self.show_cursor()

    # ------------------------------------------------------------------ actions

    def action_step(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_go_start(self) -> None:
        self.move_to(0)

    def action_go_end(self) -> None:
        self.move_to(self.trace.seq_len - 1 if self.trace is not None else 0)

    def action_next_event(self) -> None:
        if self.trace is None:
            return
        t = self.trace.next_event(self.cursor)
        if t is None:
            self.notify("No more events in this example (home goes back to the start).", timeout=3)
        else:
            self.move_to(t)

    def action_previous_event(self) -> None:
        if self.trace is None:
            return
        t = self.trace.previous_event(self.cursor)
        self.move_to(0 if t is None else t)

    def _shown_traces(self) -> list[Any]:
        return [tr for tr in (self.trace, self.compare_trace) if tr is not None]

    def action_next_belief_change(self) -> None:
        """Move to the next change of belief (of either model in compare mode)."""
        found = [t for tr in self._shown_traces() if tr.beliefs is not None
                 for t in [tr.beliefs.next_change(self.cursor)] if t is not None]
        if found:
            self.move_to(min(found))
        elif self.trace is not None:
            self.notify("No more changes of belief in this example (B goes back).", timeout=3)

    def action_previous_belief_change(self) -> None:
        found = [t for tr in self._shown_traces() if tr.beliefs is not None
                 for t in [tr.beliefs.previous_change(self.cursor)] if t is not None]
        if found:
            self.move_to(max(found))
        elif self.trace is not None:
            self.move_to(0)

    def action_next_head(self) -> None:
        self.show_head(self.head + 1)

    def action_previous_head(self) -> None:
        self.show_head(self.head - 1)

    def show_head(self, head: int) -> None:
        """Show head `head` (modulo the heads) of the delta-rule memories on screen."""
        heads = max((tr.heads for tr in self._shown_traces()), default=0)
        if not heads:
            return
        self.head = head % heads
        self._panel_a.set_head(self.head)
        self._panel_b.set_head(self.head)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("next_head", "previous_head"):  # only with a delta-rule memory on screen (else not in the key bar)
            return any(tr.memory_kind == "matrix" for tr in self._shown_traces())
        return True

    def action_scroll_panels(self, direction: int) -> None:
        scroll = self.query_one("#panels-scroll", VerticalScroll)
        scroll.scroll_relative(y=direction * max(1, scroll.size.height - 2), animate=False)

    def action_play(self) -> None:
        if self.playing:
            self._stop_playing()
        else:
            if self.trace is not None and self.cursor >= self.trace.seq_len - 1:
                self.cursor = 0
            self.playing = True
            self._restart_timer()
        self.show_cursor()

    def _restart_timer(self) -> None:
        if self._play_timer is not None:
            self._play_timer.stop()
        self._play_timer = self.set_interval(1.0 / SPEEDS[self.speed_index], self._tick, name="stepper-play")

    def _stop_playing(self) -> None:
        self.playing = False
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None

    def _tick(self) -> None:
        if self.trace is None:
            return
        if self.cursor >= self.trace.seq_len - 1:
            self._stop_playing()
            self.show_cursor()
            return
        self.move_to(self.cursor + 1)

    def action_speed(self, delta: int) -> None:
        self.speed_index = max(0, min(len(SPEEDS) - 1, self.speed_index + delta))
        if self.playing:
            self._restart_timer()
        self.show_cursor()

    def on_screen_suspend(self) -> None:
        self._stop_playing()

    def action_new_example(self) -> None:
        self.seed += 1
        self.cursor = 0
        self.recompute()

    def action_pick_model(self) -> None:
        def chosen(source: Any) -> None:
            if source is not None:
                self.source = source
                self.recompute()

        self.app.push_screen(ModelPicker("Step through which model?", self.runs_dir), chosen)

    def action_compare(self) -> None:
        if self.compare_source is not None:
            self.set_compare(None)
            return

        def chosen(source: Any) -> None:
            if source is not None:
                self.set_compare(source)

        self.app.push_screen(ModelPicker("Compare with which model? (same example, side by side)", self.runs_dir), chosen)

    def set_compare(self, source: Any) -> None:
        """Show `source` beside the primary model on the same example (None ends compare mode)."""
        self.compare_source = source
        if source is None:
            self.compare_trace = None
            self.set_class(False, "-compare")
            self.show_cursor()
            self.refresh_bindings()
        else:
            self.recompute()

    def set_model(self, source: Any) -> None:
        """Step through `source` (a forgetnet_core.stepper.ModelSource) instead."""
        self.source = source
        self.recompute()

    def action_export(self) -> None:
        if self.trace is None:
            return
        from forgetnet_core.stepper_figures import (
            export_names,  # torch is loaded already: the trace came from it
        )

        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        compare = self.compare_source if self.compare_trace is not None else None
        base, png_names = export_names(self.source, compare, self.task_name, self.seed, self.cursor, stamp)
        out = self.results_dir
        out.mkdir(parents=True, exist_ok=True)
        svg = Path(self.app.save_screenshot(filename=f"{base}.svg", path=str(out)))
        pngs = []  # (trace, what, path): every model's beliefs, and the memory of each model that has one
        for tr, name in zip((self.trace, self.compare_trace), png_names):
            if tr is None:
                continue
            if tr.has_memory:
                pngs.append((tr, "memory", out / name))
            pngs.append((tr, "beliefs", out / name.replace(".png", "-beliefs.png")))
        self._export_pngs(pngs, self.cursor, svg)

    @work(thread=True, exit_on_error=False, group="stepper-export")
    def _export_pngs(self, pngs: list[tuple[Any, str, Path]], cursor: int, svg: Path) -> None:
        from forgetnet_core.stepper_figures import save_belief_png, save_slot_time_png

        paths = [svg]
        try:
            for tr, what, path in pngs:
                save = save_slot_time_png if what == "memory" else save_belief_png
                paths.append(save(tr, path, cursor))
        except Exception as exc:  # noqa: BLE001
            self.post_message(ExportWritten(paths, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(ExportWritten(paths))

    def on_export_written(self, message: ExportWritten) -> None:
        listing = "\n".join(str(p) for p in message.paths)
        if message.error:
            self.notify(f"{listing}\nPNG failed: {message.error}", title="Stepper export", severity="warning", timeout=10)
        else:
            self.notify(listing, title="Stepper export written", timeout=10)


def time_keypress(screen: StepperScreen, key_delta: int = 1) -> float:
    """Seconds to move the cursor and redraw every visible stepper view into terminal lines (Strips).

    That is all a keypress costs the app besides Textual's compositing and the
    terminal write: the trace is precomputed, so this is indexing plus drawing.
    """
    started = time.perf_counter()
    screen.action_step(key_delta)
    for widget in screen.query(TraceView):
        if widget.display and widget.trace is not None and widget.region.width:
            for y in range(widget.region.height):
                widget.render_line(y)
    return time.perf_counter() - started
