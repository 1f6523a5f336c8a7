"""The key help (?): this screen's keys, the keys of the part that has focus, and the keys that work everywhere."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    """Rows of (key, what it does, where it works), a section per place, in the order given."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def __init__(self, title: str, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.help_title = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        key_width = max((len(key) for key, _, _ in self.rows), default=1)
        sections: dict[str, Table] = {}
        for key, description, place in self.rows:  # one table a place: this screen, a part of it, everywhere
            table = sections.get(place)
            if table is None:
                table = sections[place] = Table(box=None, show_header=False, pad_edge=False, expand=True,
                                                title=place[0].upper() + place[1:], title_justify="left", title_style="bold")
                table.add_column("key", style="bold cyan", no_wrap=True, width=key_width)
                table.add_column("does", ratio=1)
            table.add_row(key, description)
        with Vertical(classes="dialog"):
            yield Label(Text(f"Keys: {self.help_title}", style="bold"))
            with VerticalScroll():
                yield Static(Group(*sections.values()), id="help-table")
            yield Label("esc closes · ctrl+p opens the command palette", classes="dialog-hint")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
