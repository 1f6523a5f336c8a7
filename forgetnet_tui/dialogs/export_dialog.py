"""Evaluate screen: choose what the export writes (figures, tables, a screenshot)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, SelectionList
from textual.widgets.selection_list import Selection

EXPORT_CHOICES = (
    ("png", "PNG figures (grouped bars with 95% intervals, heatmap)", True),
    ("svg", "SVG figures", True),
    ("pdf", "PDF figures", False),
    ("csv", "CSV table (one line per model and task)", True),
    ("json", "JSON (results.json and the original's plot_data.json)", True),
    ("md", "Markdown table", True),
    ("screenshot", "SVG screenshot of this screen", True),
)


class ExportDialog(ModalScreen["list[str] | None"]):
    """The formats to export; enter exports, esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [
        Binding("enter", "export", "Export", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, folder_hint: str) -> None:
        super().__init__()
        self.folder_hint = folder_hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text("Export the matrix", style="bold"))
            yield SelectionList[str](*[Selection(text, value, on) for value, text, on in EXPORT_CHOICES], id="export-formats")
            yield Label(Text(f"into {self.folder_hint}", style="italic"), classes="dialog-hint", id="export-folder")
            with Horizontal():
                yield Button("Export (enter)", id="export", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        formats = self.query_one(SelectionList)
        formats.highlighted = 0
        formats.focus()

    @on(Button.Pressed, "#export")
    def _export(self) -> None:
        self.action_export()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    def action_export(self) -> None:
        chosen = list(self.query_one(SelectionList).selected)
        if not chosen:
            self.notify("Choose at least one format (space toggles)", severity="warning", timeout=3)
            return
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        self.dismiss(None)
