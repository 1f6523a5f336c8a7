"""A ChoiceField's full list of options, opened under the field (enter, space or a click)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ChoiceMenu(ModalScreen[str | None]):
    """The full list of a ChoiceField's options, under the field."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, options: Sequence[str], value: str, x: int, y: int) -> None:
        super().__init__()
        self.options = list(options)
        self.value = value
        self.at = (x, y)

    def compose(self) -> ComposeResult:
        menu = OptionList(*[Option(o, id=o) for o in self.options])
        x, y = self.at
        height = min(len(self.options) + 2, 12)
        width = max(len(o) for o in self.options) + 4
        screen = self.app.size
        menu.styles.offset = (max(0, min(x, screen.width - width)), max(0, min(y, screen.height - height)))
        yield menu

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        if self.value in self.options:
            menu.highlighted = self.options.index(self.value)
        menu.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)

    def on_click(self, event: events.Click) -> None:
        if self.get_widget_at(event.screen_x, event.screen_y)[0] is self:
            self.dismiss(None)
