"""The footer: the keys that work now, drawn as one line of text (clickable) instead of a widget per key.

Textual's Footer recomposes a widget per key whenever the bindings change,
which includes every switch of screen; on a busy machine that alone costs
tens of milliseconds. This bar only re-renders its text.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.screen import Screen
from textual.widget import Widget


class KeyBar(Widget):
    """Shows the screen's visible bindings (disabled ones dimmed), then the command palette key."""

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
        app = self.app
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        seen: set[str] = set()
        screen_first = sorted(
            self.screen.active_bindings.values(),
            key=lambda active: 1 if active.node is app else 0,
        )
        for active in screen_first:
            binding = active.binding
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            key = app.get_key_display(binding)
            click = Style.from_meta({"@click": f"app.simulate_key({binding.key.split(',')[0]!r})"})
            key_style = Style(bold=True, color="bright_yellow" if active.enabled else "grey50") + click
            text.append(f" {key} ", style=key_style)
            text.append(f"{binding.description} ", style=(Style() if active.enabled else Style(dim=True)) + click)
        palette = " ^p palette "
        gap = self.size.width - text.cell_len - len(palette)
        if gap > 0:
            text.append(" " * gap)
            text.append(palette, style=Style(dim=True) + Style.from_meta({"@click": "app.command_palette"}))
        return text
