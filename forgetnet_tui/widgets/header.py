"""The one-line header: app name, the four screens (current one highlighted, clickable) and the training device."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

SCREEN_TABS = (("runs", "1", "Runs"), ("train", "2", "Train"), ("evaluate", "3", "Evaluate"), ("stepper", "4", "Stepper"))


class LabHeader(Widget):
    """Shows which screen is current and the device the app resolved (watching the app's `device_label`)."""

    DEFAULT_CSS = """
    LabHeader {
        dock: top;
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, current: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.current = current

    def on_mount(self) -> None:
        if hasattr(self.app, "device_label"):
            self.watch(self.app, "device_label", lambda _value: self.refresh(), init=False)

    def render(self) -> Text:
        device = getattr(self.app, "device_label", None) or "…"
        left = Text(" forgetnet-lab ", style="bold")
        for name, key, label in SCREEN_TABS:
            style = "bold reverse" if name == self.current else ""
            left.append(" ")
            left.append(f" {key} {label} ", style=style)
        right = Text(f" device: {device} ", style="dim")
        width = self.size.width
        gap = max(1, width - left.cell_len - right.cell_len)
        if left.cell_len + right.cell_len + 1 > width:
            right = Text(f" {device} ", style="dim")
            gap = max(1, width - left.cell_len - right.cell_len)
        return Text.assemble(left, " " * gap, right, no_wrap=True, overflow="crop", end="")

    async def on_click(self, event) -> None:
        """Mouse users: a click on a screen's tab shows it."""
        x = event.x
        pos = len(" forgetnet-lab ")
        for name, key, label in SCREEN_TABS:
            start = pos + 1
            end = start + len(f" {key} {label} ")
            if start <= x < end:
                await self.app.run_action(f"show_screen('{name}')")
                return
            pos = end
