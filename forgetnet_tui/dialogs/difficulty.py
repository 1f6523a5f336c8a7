"""Difficulty dialog (Evaluate screen, `d`): the matrix's rows scored at several values of one task knob, drawn as
accuracy against the knob, a line per row: where each memory breaks. Exports the figure and its points."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from forgetnet_core.config import EvalSettings
from forgetnet_core.difficulty import (
    KNOBS,
    Sample,
    curves,
    interval_caption,
    result_counts,
)
from forgetnet_core.matrix import MatrixRow, RowSpec
from forgetnet_core.results import RowResult

from ..formatting import format_accuracy
from ..messages import ChoiceChanged, DifficultyExported, KnobScored
from ..widgets.charts import RUN_COLOURS, ChartSpec, Line, chart_legend, render_chart
from ..widgets.choice import ChoiceField

# A first guess of values worth sweeping, per knob (the user edits them).
DEFAULT_VALUES = {
    "records": "4,8,12,16,20",
    "keys": "2,4,8,16,24",
    "values": "4,8,16,32,48",
    "overwrites": "1,2,3,4",
    "min_distance": "0,16,32,48",
}
CHART_HEIGHT = 10


@dataclass(frozen=True)
class DifficultyLine:
    """One line of the figure: a matrix row (a run, or a seed group) and the runs behind it."""

    label: str
    model: str
    specs: tuple[RowSpec, ...]


def lines_from_rows(rows: Sequence[MatrixRow], specs: dict[str, RowSpec]) -> list[DifficultyLine]:
    """The top-level lines of the matrix (a group is one line over its seeds; expanded members are not repeated)."""
    out = []
    for row in rows:
        if row.kind == "member":
            continue
        members = tuple(specs[k] for k in row.members if k in specs)
        if members:
            out.append(DifficultyLine(row.label, row.model, members))
    return out


def parse_values(knob: str, text: str, task: str, settings: EvalSettings) -> tuple[list[int], str | None]:
    """The knob values typed as a comma list, each checked for `task` at the settings' length; (values, error)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        return [], "give at least one value, e.g. " + DEFAULT_VALUES[knob]
    values: list[int] = []
    for item in items:
        try:
            value = int(item)
        except ValueError:
            return [], f"expected whole numbers, got {item!r}"
        if value in values:
            return [], f"{value} is given twice"
        errors = replace(settings.knobs, **{knob: value}).validate(task, settings.length_of(task), settings.suite)
        if errors:
            return [], f"{knob} {value}: {errors[0].message}"
        values.append(value)
    return sorted(values), None


def settings_at(settings: EvalSettings, knob: str, value: int, task: str) -> EvalSettings:
    """The matrix's settings with one knob set, scoring one task."""
    return replace(settings, knobs=replace(settings.knobs, **{knob: value}), tasks=(task,))


def render_difficulty(lines: Sequence[DifficultyLine], samples: Sequence[Sample], knob: str, task: str,
                      width: int, height: int = CHART_HEIGHT) -> tuple[Text, Text]:
    """(chart, legend): accuracy against the knob, a line per row, its 95% interval across seeds as a band."""
    data = curves(samples).get(task, {})
    chart_lines = []
    for i, line in enumerate(lines):
        points = data.get(line.label)
        if not points:
            continue
        chart_lines.append(Line(
            xs=[p.x for p in points], ys=[p.mean for p in points], colour=RUN_COLOURS[i % len(RUN_COLOURS)],
            label=line.label, lo=[p.low for p in points], hi=[p.high for p in points],
        ))
    spec = ChartSpec(lines=tuple(chart_lines), y_include=(0.0, 1.0), y_max=1.0, percent=True,
                     empty=f"e scores every row at each {knob.replace('_', ' ')} value on {task}")
    return render_chart(spec, width, height), chart_legend(spec)


def render_table(lines: Sequence[DifficultyLine], samples: Sequence[Sample], values: Sequence[int], task: str,
                 width: int) -> Text:
    """Mean accuracy per row (line) and value: the numbers behind the chart."""
    data = curves(samples).get(task, {})
    label_w = max(12, min(34, width - 7 * len(values) - 2))
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append("row".ljust(label_w), style="bold")
    for v in values:
        out.append(f"{v:>7}", style="bold")
    for line in lines:
        out.append("\n" + line.label[:label_w].ljust(label_w))
        points = {p.x: p for p in data.get(line.label, [])}
        for v in values:
            p = points.get(v)
            out.append(f"{format_accuracy(p.mean):>7}" if p else f"{'·':>7}", style="" if p else "dim")
    return out


class DifficultyDialog(ModalScreen[None]):
    """Pick a knob, its values and a task; `e` scores every row at each value (cached per checkpoint); `x` exports."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("e", "evaluate", "Evaluate"),
        Binding("x", "export", "Export"),
        Binding("c", "cancel_evaluation", "Cancel"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(self, lines: list[DifficultyLine], settings: EvalSettings, evaluator: Callable[..., RowResult],
                 export_root: Path, device: Any = "cpu") -> None:
        super().__init__()
        self.lines = lines
        self.settings = settings
        self.evaluator = evaluator
        self.export_root = export_root
        self.device = device
        self.samples: list[Sample] = []
        self.values: list[int] = []
        self._generation = 0
        self._stop: threading.Event | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        tasks = self.settings.tasks
        task = "changing_facts" if "changing_facts" in tasks else tasks[0]
        with Vertical(classes="dialog"):
            yield Label("Accuracy against a task knob: where each memory breaks", classes="dialog-title")
            with Horizontal(classes="knob-row"):
                yield Label("knob")
                yield ChoiceField(KNOBS, "records", id="difficulty-knob")
                yield Label(" task")
                yield ChoiceField(tasks, task, id="difficulty-task")
            with Horizontal(classes="knob-row"):
                yield Label("values")
                yield Input(DEFAULT_VALUES["records"], compact=True, id="difficulty-values")
            yield Static("", id="difficulty-error")
            yield Static("", id="difficulty-chart")
            yield Static("", id="difficulty-legend")
            yield Static("", id="difficulty-table")
            yield Static("", id="difficulty-status")
            yield Label(f"{len(self.lines)} rows · enter/e: score each at every value (cached) · x: export · c: cancel · "
                        "esc: close", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one("#difficulty-values", Input).focus()
        self.redraw()

    # ------------------------------------------------------------------ the form

    @property
    def knob(self) -> str:
        return self.query_one("#difficulty-knob", ChoiceField).value

    @property
    def task(self) -> str:
        return self.query_one("#difficulty-task", ChoiceField).value

    def checked_values(self) -> list[int] | None:
        values, error = parse_values(self.knob, self.query_one("#difficulty-values", Input).value, self.task, self.settings)
        self.query_one("#difficulty-error", Static).update(Text(f"↳ {error}") if error else "")
        return None if error else values

    @on(ChoiceChanged, "#difficulty-knob")
    def _knob_changed(self, event: ChoiceChanged) -> None:
        event.stop()
        self.query_one("#difficulty-values", Input).value = DEFAULT_VALUES[event.value]
        self.samples = []
        self.redraw()

    @on(ChoiceChanged, "#difficulty-task")
    def _task_changed(self, event: ChoiceChanged) -> None:
        event.stop()
        self.redraw()

    @on(Input.Changed, "#difficulty-values")
    def _values_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.checked_values()

    @on(Input.Submitted, "#difficulty-values")
    def _values_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_evaluate()

    def redraw(self) -> None:
        width = max(20, (self.query_one("#difficulty-chart").content_size.width or 100))
        chart, legend = render_difficulty(self.lines, self.samples, self.knob, self.task, width)
        self.query_one("#difficulty-chart", Static).update(chart)
        self.query_one("#difficulty-legend", Static).update(legend)
        values = self.values or (self.checked_values() or [])
        self.query_one("#difficulty-table", Static).update(render_table(self.lines, self.samples, values, self.task, width))

    def on_resize(self) -> None:
        self.redraw()

    # ------------------------------------------------------------------ scoring (worker)

    def action_evaluate(self) -> None:
        values = self.checked_values()
        if values is None or self.running:
            return
        if not self.lines:
            self.notify("No rows to score: add checkpoints or fresh models to the matrix first", severity="warning")
            return
        self._generation += 1
        self.values, self.samples, self.running = values, [], True
        self._stop = threading.Event()
        self.query_one("#difficulty-status", Static).update(f"scoring {len(self.lines)} rows at {len(values)} values…")
        self.set_focus(None)  # out of the values field, so x / c / e are keys again (tab goes back to the fields)
        self._score(self._generation, self.knob, self.task, values, self._stop)

    @work(thread=True, exclusive=True, exit_on_error=False, group="difficulty")
    def _score(self, generation: int, knob: str, task: str, values: list[int], stop: threading.Event) -> None:
        jobs = [(line, spec, v) for v in values for line in self.lines for spec in line.specs]
        try:
            from forgetnet_core.device import (
                run_device,  # the device, and the thread policy (one CPU thread)
            )

            device: Any = run_device(self.device)
        except Exception:  # noqa: BLE001 - an unavailable device falls back to the CPU, as on the Evaluate screen
            device = "cpu"
        for done, (line, spec, value) in enumerate(jobs, start=1):
            if stop.is_set():
                return
            error = None
            samples: list[Sample] = []
            try:
                result = self.evaluator(spec, settings_at(self.settings, knob, value, task), device, stop)
                r = result.tasks.get(task) if result.ok else None
                if r is not None and r.get("accuracy") is not None:
                    samples.append(Sample(task, line.label, line.model, spec.seed, value, float(r["accuracy"]), *result_counts(r)))
                elif result.error:
                    error = f"{spec.label}: {result.error}"
            except Exception as exc:  # noqa: BLE001 - the dialog says it and goes on with the other rows
                if stop.is_set():
                    return
                error = f"{spec.label}: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
            self.post_message(KnobScored(generation, samples, done, len(jobs), error))

    def on_knob_scored(self, message: KnobScored) -> None:
        if message.generation != self._generation:
            return
        self.samples += message.samples
        status = f"scored {message.done}/{message.total}"
        if message.error:
            self.notify(message.error, severity="warning", timeout=6, markup=False)
        if message.done == message.total:
            self.running = False
            status += " · done (x exports the figure)"
        self.query_one("#difficulty-status", Static).update(status)
        self.redraw()

    def action_cancel_evaluation(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self.running = False
        self._generation += 1
        self.query_one("#difficulty-status", Static).update("cancelled (cached values stay cached)")

    def action_close(self) -> None:
        if self._stop is not None:
            self._stop.set()
        self.dismiss(None)

    # ------------------------------------------------------------------ export

    def action_export(self) -> None:
        if not self.samples:
            self.notify("Nothing to export yet: e scores the rows first", severity="warning", timeout=3)
            return
        self._export(list(self.samples), self.knob, self.task)

    @work(thread=True, exclusive=True, exit_on_error=False, group="difficulty-export")
    def _export(self, samples: list[Sample], knob: str, task: str) -> None:
        from datetime import datetime

        from forgetnet_core.difficulty import write_difficulty
        from forgetnet_core.runs import unique_dir

        try:
            folder = unique_dir(self.export_root, f"difficulty-{knob}-{task}-{datetime.now():%Y%m%d-%H%M%S}")
            data = curves(samples)
            title = f"Accuracy against {knob.replace('_', ' ')} · {self.settings.describe()} · {interval_caption(data)}"
            paths = write_difficulty(data, folder, knob, ("png", "svg", "csv", "json"), title=title)
        except Exception as exc:  # noqa: BLE001 - a full disk or a read-only folder is a notification
            self.post_message(DifficultyExported([], str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__))
            return
        self.post_message(DifficultyExported(paths, None))

    def on_difficulty_exported(self, message: DifficultyExported) -> None:
        if message.error:
            self.notify(f"Export failed: {message.error}", severity="error", timeout=8, markup=False)
            return
        listing = "\n".join(f"  {p.name}" for p in message.paths)
        folder = message.paths[0].parent if message.paths else self.export_root
        self.notify(f"Exported to {folder}/\n{listing}", title="Difficulty figure", timeout=10, markup=False)


__all__ = ["DEFAULT_VALUES", "DifficultyDialog", "DifficultyLine", "lines_from_rows", "parse_values", "render_difficulty",
           "render_table", "settings_at"]
