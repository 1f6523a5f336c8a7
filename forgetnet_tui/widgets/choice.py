"""A one-line choice field: ←/→ step through the options, a letter jumps to one, Enter opens the full list.

One widget instead of Select's six: the config form has five of these, and
Textual restyles every node of a screen each time the screen is shown.
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import OptionList
from textual.widgets.option_list import Option


class ChoiceMenu(ModalScreen[str | None]):
    """The full list of a ChoiceField's options, under the field."""

    DEFAULT_CSS = """
    ChoiceMenu { background: $background 30%; }
    ChoiceMenu OptionList { width: auto; min-width: 20; height: auto; max-height: 12; border: round $accent; }
    """
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


class ChoiceField(Widget, can_focus=True):
    """Pick one of a few strings. Posts ChoiceField.Changed when the value changes."""

    DEFAULT_CSS = """
    ChoiceField {
        height: 1;
        width: 1fr;
        background: $boost;
        color: $text;
    }
    ChoiceField:focus {
        background: $primary 30%;
    }
    """
    BINDINGS = [
        Binding("left", "step(-1)", "Previous option", show=False),
        Binding("right", "step(1)", "Next option", show=False),
        Binding("enter,space", "open_menu", "All options", show=False),
    ]

    value: reactive[str] = reactive("", init=False)

    class Changed(Message):
        def __init__(self, choice: "ChoiceField", value: str) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> "ChoiceField":
            return self.choice

    def __init__(self, options: Sequence[str], value: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if not options:
            raise ValueError("a ChoiceField needs at least one option")
        self.options = tuple(options)
        self.set_reactive(ChoiceField.value, value if value in self.options else self.options[0])

    def validate_value(self, value: str) -> str:
        return value if value in self.options else self.value

    def watch_value(self, value: str) -> None:
        self.post_message(self.Changed(self, value))

    def render(self) -> Text:
        index = self.options.index(self.value) if self.value in self.options else 0
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(self.value)
        hint = f" ◂ {index + 1}/{len(self.options)} ▸ " if self.has_focus else " ▾ "
        pad = max(1, self.content_size.width - len(self.value) - len(hint))
        text.append(" " * pad)
        text.append(hint, style="dim")
        return text

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_step(self, delta: int) -> None:
        index = self.options.index(self.value) if self.value in self.options else 0
        self.value = self.options[(index + delta) % len(self.options)]

    def on_key(self, event: events.Key) -> None:
        """A letter jumps to the next option starting with it. Letters never reach the screen's keys
        (typing in a field must not stop or delete a run); digits do, so 1-4 still switch screens."""
        char = event.character
        if not char or len(char) != 1 or not char.isalpha():
            return
        event.stop()
        event.prevent_default()
        start = self.options.index(self.value) if self.value in self.options else -1
        for step in range(1, len(self.options) + 1):
            option = self.options[(start + step) % len(self.options)]
            if option.lower().startswith(char.lower()):
                self.value = option
                return
        self.app.bell()

    def action_open_menu(self) -> None:
        region = self.region

        def chosen(value: str | None) -> None:
            if value is not None:
                self.value = value
            self.focus()

        self.app.push_screen(ChoiceMenu(self.options, self.value, region.x, region.y + 1), chosen)

    async def on_click(self) -> None:
        self.focus()
        self.action_open_menu()
