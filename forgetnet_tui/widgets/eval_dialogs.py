"""Dialogs of the Evaluate screen: pick checkpoints, load a sweep, add a fresh model, choose export formats."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, SelectionList
from textual.widgets.option_list import Option
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from forgetnet_core.config import MODEL_NAMES
from forgetnet_core.listing import RunInfo, RunLister

_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical {{
    width: auto; max-width: 96%; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 0 1;
}}
{name} .dialog-hint {{ color: $text-muted; }}
{name} Horizontal {{ height: auto; width: auto; }}
{name} Button {{ margin: 0 1 0 0; }}
"""


class CheckpointPicker(ModalScreen["list[Path] | None"]):
    """Choose the runs (with a checkpoint) that are rows; enter applies, esc cancels."""

    DEFAULT_CSS = _CSS.format(name="CheckpointPicker") + """
    CheckpointPicker SelectionList { width: 90; max-width: 100%; height: auto; max-height: 18; }
    """
    BINDINGS = [
        Binding("enter", "apply", "Apply", priority=True),
        Binding("escape", "cancel", "Cancel"),
        Binding("a", "all", "All"),
        Binding("n", "none", "None"),
    ]

    class RunsListed(Message):
        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    def __init__(self, runs_dir: Path, selected: list[Path]) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.selected = {str(p) for p in selected}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Checkpoints in {self.runs_dir}", style="bold"))
            yield SelectionList[str](id="checkpoints")
            yield Label("space toggles · a all · n none · enter applies · esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).loading = True
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-picker")
    def _list(self) -> None:
        found = RunLister(self.runs_dir, metrics=False).scan().with_checkpoint()
        if not get_current_worker().is_cancelled:
            self.post_message(self.RunsListed(found))

    def on_checkpoint_picker_runs_listed(self, message: RunsListed) -> None:
        picker = self.query_one(SelectionList)
        picker.loading = False
        if not message.runs:
            picker.add_option(Selection("(no run with a checkpoint yet: train one on the Runs screen)", "", disabled=True))
        for info in message.runs:
            seed = info.config.get("seed", "?")
            text = f"{info.model:<17} {info.task:<20} seed {seed!s:<5} {info.step}/{info.total_steps} [{info.state}]  {info.name}"
            picker.add_option(Selection(text, str(info.path), str(info.path) in self.selected))
        picker.highlighted = 0
        picker.focus()

    def action_all(self) -> None:
        self.query_one(SelectionList).select_all()

    def action_none(self) -> None:
        self.query_one(SelectionList).deselect_all()

    def action_apply(self) -> None:
        self.dismiss([Path(v) for v in self.query_one(SelectionList).selected if v])

    def action_cancel(self) -> None:
        self.dismiss(None)


class SweepPicker(ModalScreen["Path | None"]):
    """Choose a sweep folder (newest first) whose runs become the rows; enter loads, esc cancels."""

    DEFAULT_CSS = _CSS.format(name="SweepPicker") + """
    SweepPicker OptionList { width: 90; max-width: 100%; height: auto; max-height: 16; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    class SweepsListed(Message):
        def __init__(self, sweeps: list[tuple[Path, str]]) -> None:
            super().__init__()
            self.sweeps = sweeps  # (folder, one-line description)

    def __init__(self, runs_dir: Path) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.folders: dict[str, Path] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Sweeps in {self.runs_dir}", style="bold"))
            yield OptionList(id="sweeps")
            yield Label("enter loads its runs and its eval settings · esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-sweep-picker")
    def _list(self) -> None:
        found: list[tuple[Path, str]] = []
        sweeps = RunLister(self.runs_dir, metrics=False).scan().sweeps_newest_first()
        width = max((len(s.name) for s in sweeps), default=0)
        for sweep in sweeps:
            if sweep.error is not None:
                found.append((sweep.path, f"{sweep.name:<{width}}  {sweep.error}"))
                continue
            grid = "×".join(str(len(v)) for v in (sweep.models, sweep.tasks, sweep.seeds))
            parts = [f"{sweep.done}/{sweep.total} done", f"{sweep.counts.get('evaluated', 0)} evaluated"]
            parts += [f"{sweep.counts[s]} {s}" for s in ("running", "failed") if sweep.counts.get(s)]
            found.append((sweep.path, f"{sweep.name:<{width}}  {' · '.join(parts)}  ({grid})"))
        if not get_current_worker().is_cancelled:
            self.post_message(self.SweepsListed(found))

    def on_sweep_picker_sweeps_listed(self, message: SweepsListed) -> None:
        options = self.query_one(OptionList)
        options.loading = False
        if not message.sweeps:
            options.add_option(Option("(no sweep here yet: `forgetnet sweep --models ... --tasks ... --seeds ...` makes one)", disabled=True))
        for i, (folder, line) in enumerate(message.sweeps):
            self.folders[f"sweep-{i}"] = folder
            options.add_option(Option(line, id=f"sweep-{i}"))
        options.highlighted = 0 if message.sweeps else None
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        folder = self.folders.get(event.option.id or "")
        if folder is not None:
            self.dismiss(folder)

    def action_cancel(self) -> None:
        self.dismiss(None)


class FreshModelPicker(ModalScreen["str | None"]):
    """Pick one of the seven model names to add as a fresh (untrained) row."""

    DEFAULT_CSS = _CSS.format(name="FreshModelPicker") + """
    FreshModelPicker OptionList { width: 40; height: auto; max-height: 12; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Add a fresh (untrained) model", style="bold"))
            yield OptionList(*[Option(name, id=name) for name in MODEL_NAMES], id="fresh-models")
            yield Label("enter adds · esc cancels · again: another init seed", classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


EXPORT_CHOICES = (
    ("png", "PNG figures (grouped bars with 95% intervals, heatmap)", True),
    ("svg", "SVG figures", True),
    ("pdf", "PDF figures", False),
    ("csv", "CSV table (one line per model and task)", True),
    ("json", "JSON (results.json and the original's plot_data.json)", True),
    ("md", "Markdown table", True),
    ("screenshot", "SVG screenshot of this screen", True),
)


class ExportDialog(ModalScreen["list[str] | None"]):
    """Choose what to export; enter exports, esc cancels."""

    DEFAULT_CSS = _CSS.format(name="ExportDialog") + """
    ExportDialog > Vertical { width: 72; }
    ExportDialog SelectionList { width: 1fr; height: auto; }
    ExportDialog #export-folder { width: 1fr; }
    """
    BINDINGS = [
        Binding("enter", "export", "Export", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, folder_hint: str) -> None:
        super().__init__()
        self.folder_hint = folder_hint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Export the matrix", style="bold"))
            yield SelectionList[str](*[Selection(text, value, on) for value, text, on in EXPORT_CHOICES], id="export-formats")
            yield Label(Text(f"into {self.folder_hint}", style="italic"), classes="dialog-hint", id="export-folder")
            with Horizontal():
                yield Button("Export (enter)", id="export", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        formats = self.query_one(SelectionList)
        formats.highlighted = 0
        formats.focus()

    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        chosen = list(self.query_one(SelectionList).selected)
        if not chosen:
            self.notify("Choose at least one format (space toggles)", severity="warning", timeout=3)
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
