"""Modal dialogs: the key help, a yes/no confirmation, and the picker of runs to overlay."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import get_current_worker

from forgetnet_core.listing import RunInfo, list_runs

DIALOG_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical {{
    width: auto; max-width: 90%; height: auto; max-height: 90%;
    border: thick $accent; background: $surface; padding: 0 1;
}}
"""


class HelpScreen(ModalScreen[None]):
    """Every key of the screen it was opened from, with what it does."""

    DEFAULT_CSS = DIALOG_CSS.format(name="HelpScreen") + """
    HelpScreen > Vertical { width: 80; }
    HelpScreen VerticalScroll { height: auto; max-height: 30; width: 1fr; }
    HelpScreen #help-table { width: 1fr; height: auto; }
    HelpScreen #help-hint { color: $text-muted; }
    """
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
        table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        table.add_column("where", style="dim")
        for key, description, where in self.rows:
            table.add_row(key, description, where)
        with Vertical():
            yield Label(Text(f"Keys: {self.help_title}", style="bold"))
            with VerticalScroll():
                yield Static(table, id="help-table")
            yield Label("esc closes · ctrl+p opens the command palette", id="help-hint")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; dismisses with True only on an explicit yes."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen") + """
    ConfirmScreen #confirm-question { width: auto; max-width: 70; padding: 1 0; }
    ConfirmScreen Horizontal { height: auto; width: auto; }
    ConfirmScreen Button { margin: 0 1 1 0; }
    """
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal():
                yield Button(f"{self.yes} (y)", id="yes", variant="error")
                yield Button("Cancel (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class OverlayPicker(ModalScreen[list[Path]]):
    """Choose runs to draw on top of the main one; space toggles, esc closes and applies."""

    DEFAULT_CSS = DIALOG_CSS.format(name="OverlayPicker") + """
    OverlayPicker SelectionList { width: 76; max-width: 100%; height: auto; max-height: 16; }
    OverlayPicker #picker-hint { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", "Apply and close"),
        Binding("o", "close", "Apply and close", show=False),
        Binding("c", "clear", "Clear all"),
    ]

    class RunsLoaded(Message):
        def __init__(self, runs: list[RunInfo]) -> None:
            super().__init__()
            self.runs = runs

    def __init__(self, runs_dir: Path, primary: Path | None, selected: list[Path]) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.primary = primary
        self.selected = list(selected)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text("Overlay runs on the charts", style="bold"))
            yield SelectionList[str](id="picker")
            yield Label("space/enter toggles · c clears · esc applies", id="picker-hint")

    def on_mount(self) -> None:
        self.query_one(SelectionList).loading = True
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _load(self) -> None:
        runs = list_runs(self.runs_dir, metrics=False)  # names and states: a long run's metrics are not read
        if not get_current_worker().is_cancelled:
            self.post_message(self.RunsLoaded(runs))

    def on_overlay_picker_runs_loaded(self, message: RunsLoaded) -> None:
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
