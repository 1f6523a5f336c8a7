"""The key bar: the keys that work where focus is, drawn as one line of text (clickable), never cut.

Textual's Footer recomposes a widget per key whenever the bindings change,
which includes every switch of screen; on a busy machine that alone costs
tens of milliseconds. This bar only re-renders its text. What it lists and
how it fits a narrow terminal is keys.py's (bar_entries, fit_entries).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget

from ..keys import bar_entries, fit_entries

PALETTE = " ^p palette "


class KeyBar(Widget):
    """The screen's keys (dimmed where they do not apply to what is highlighted), then ? and q, then the palette key."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, _screen: Screen) -> None:
        self.refresh()

    def render(self) -> Text:
        width = self.size.width
        entries = fit_entries(bar_entries(self.screen), width)
        text = Text(no_wrap=True, overflow="crop", end="")
        for entry in entries:
            click = Style.from_meta({"@click": f"app.simulate_key({entry.press!r})"})
            key_style = Style(bold=True, color="bright_yellow" if entry.enabled else "grey50") + click
            text.append(f" {entry.key} ", style=key_style)
            text.append(f"{entry.label} ", style=(Style() if entry.enabled else Style(dim=True)) + click)
        gap = width - text.cell_len - len(PALETTE)
        if gap > 0:
            text.append(" " * gap)
            text.append(PALETTE, style=Style(dim=True) + Style.from_meta({"@click": "app.command_palette"}))
        return text
