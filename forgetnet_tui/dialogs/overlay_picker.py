"""Train screen: choose the runs drawn on top of the main one."""

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


class OverlayPicker(ModalScreen[list[Path]]):
    """Runs to overlay: space toggles, c clears, esc closes and applies. Lists names and states only (no metrics)."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape", "close", "Apply and close"),
        Binding("o", "close", "Apply and close", show=False),
        Binding("c", "clear", "Clear all"),
    ]

    def __init__(self, runs_dir: Path, primary: Path | None, selected: list[Path]) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.primary = primary
        self.selected = list(selected)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Overlay runs on the charts", style="bold"))
            yield SelectionList[str](id="picker")
            yield Label("space/enter toggles · c clears · esc applies", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).loading = True
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _list(self) -> None:
        runs = RunLister(self.runs_dir, metrics=False).list()  # a long run's metrics.jsonl is not read
        if not get_current_worker().is_cancelled:
            self.post_message(RunsListed(runs))

    def on_runs_listed(self, message: RunsListed) -> None:
        picker = self.query_one(SelectionList)
        picker.loading = False
        chosen = {str(p) for p in self.selected}
        options = [
            Selection(Text(f"{info.name}  ({info.state})"), str(info.path), str(info.path) in chosen)
            for info in message.runs
            if self.primary is None or info.path != self.primary
        ]
        picker.add_options(options)
        if options:
            picker.highlighted = 0
        picker.focus()

    def action_clear(self) -> None:
        self.query_one(SelectionList).deselect_all()

    def action_close(self) -> None:
        self.dismiss([Path(v) for v in self.query_one(SelectionList).selected])
