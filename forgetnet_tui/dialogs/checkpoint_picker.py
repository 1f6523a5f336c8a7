"""Evaluate screen: choose which checkpoints are rows (the runs directory's, and the bundled ones)."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from forgetnet_core.listing import RunLister

from ..messages import RunsListed


class CheckpointPicker(ModalScreen["list[Path] | None"]):
    """Runs with a checkpoint, newest first, then `extra` (run directory, label) entries; enter applies, esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("enter", "apply", "Apply", priority=True),
        Binding("escape", "cancel", "Cancel"),
        Binding("a", "all", "All"),
        Binding("n", "none", "None"),
    ]

    def __init__(self, runs_dir: Path, selected: list[Path], extra: list[tuple[Path, str]] | None = None) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.selected = {str(p) for p in selected}
        self.extra = extra or []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
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
            self.post_message(RunsListed(found))

    def on_runs_listed(self, message: RunsListed) -> None:
        picker = self.query_one(SelectionList)
        picker.loading = False
        if not message.runs:
            picker.add_option(Selection("(no run with a checkpoint yet: train one on the Runs screen)", "", disabled=True))
        for info in message.runs:
            seed = info.config.get("seed", "?")
            text = f"{info.model:<17} {info.task:<20} seed {seed!s:<5} {info.step}/{info.total_steps} [{info.state}]  {info.name}"
            picker.add_option(Selection(text, str(info.path), str(info.path) in self.selected))
        for path, label in self.extra:
            picker.add_option(Selection(label, str(path), str(path) in self.selected))
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
