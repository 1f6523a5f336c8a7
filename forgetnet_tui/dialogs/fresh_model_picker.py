"""Evaluate screen: add a fresh (untrained) model of one of the seven architectures as a row."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from forgetnet_core.config import MODEL_NAMES


class FreshModelPicker(ModalScreen["str | None"]):
    """Pick one of the seven model names; enter adds it, esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Add a fresh (untrained) model", style="bold"))
            yield OptionList(*[Option(name, id=name) for name in MODEL_NAMES], id="fresh-models")
            yield Label("enter adds · esc cancels · again: another init seed", classes="dialog-hint")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
