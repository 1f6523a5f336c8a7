"""Stepper screen: choose a model (a run's checkpoint, a bundled checkpoint, or a fresh model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from ..messages import SourcesListed


class ModelPicker(ModalScreen[Optional[Any]]):
    """Run checkpoints (newest first), the bundled ones, then the fresh models; dismisses with a ModelSource."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, runs_dir: Path) -> None:
        super().__init__()
        self.picker_title = title
        self.runs_dir = runs_dir
        self.sources: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.picker_title, style="bold"))
            yield OptionList(id="model-options")
            yield Label(f"checkpoints in {self.runs_dir}, the bundled ones, fresh models · enter picks · esc cancels",
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _list(self) -> None:
        from forgetnet_core.checkpoints import model_sources
        from forgetnet_core.listing import RunLister

        runs = RunLister(self.runs_dir, metrics=False).scan().with_checkpoint()  # runs and sweep cells, newest first
        sources = model_sources(info.path for info in runs)
        if not get_current_worker().is_cancelled:
            self.post_message(SourcesListed(sources))

    def on_sources_listed(self, message: SourcesListed) -> None:
        self.sources = message.sources
        options = self.query_one(OptionList)
        options.loading = False
        options.add_options([Option(s.label, id=str(i)) for i, s in enumerate(self.sources)])
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.sources[int(event.option.id)])

    def action_cancel(self) -> None:
        self.dismiss(None)
