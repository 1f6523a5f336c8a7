"""A one-line choice field: ←/→ step through the options, a letter jumps to one, Enter opens the full list.

One widget instead of Select's six: the config form has five of these, and
Textual restyles every node of a screen each time the screen is shown.
"""

from __future__ import annotations

from typing import Sequence

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.reactive import reactive
from textual.widget import Widget

from ..messages import ChoiceChanged


class ChoiceField(Widget, can_focus=True):
    """Pick one of a few strings. Posts ChoiceChanged when the value changes."""

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
        Binding("left", "step(-1)", "Option", key_display="←→", tooltip="The previous option"),
        Binding("right", "step(1)", "Next option", show=False, tooltip="The next option"),
        Binding("enter,space", "open_menu", "List", tooltip="Open the list of every option"),
    ]
    HELP_WHERE = "on a choice (model, task, ...)"
    HELP_KEYS = (("a letter", "the next option starting with it"),)

    value: reactive[str] = reactive("", init=False)

    def __init__(self, options: Sequence[str], value: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if not options:
            raise ValueError("a ChoiceField needs at least one option")
        self.options = tuple(options)
        self.set_reactive(ChoiceField.value, value if value in self.options else self.options[0])

    def validate_value(self, value: str) -> str:
        return value if value in self.options else self.value

    def watch_value(self, value: str) -> None:
        self.post_message(ChoiceChanged(self, value))

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

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Letters are this field's (they jump to an option): the screen's letter keys do not apply here."""
        return character is not None and len(character) == 1 and character.isalpha()

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
        from ..dialogs.choice_menu import ChoiceMenu

        region = self.region

        def chosen(value: str | None) -> None:
            if value is not None:
                self.value = value
            self.focus()

        self.app.push_screen(ChoiceMenu(self.options, self.value, region.x, region.y + 1), chosen)

    async def on_click(self) -> None:
        self.focus()
        self.action_open_menu()
