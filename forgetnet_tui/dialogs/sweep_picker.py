"""Evaluate screen: choose a sweep whose runs become the rows."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from forgetnet_core.listing import RunLister, SweepInfo

from ..messages import SweepsListed


def describe_sweep(sweep: SweepInfo, width: int = 0) -> str:
    """'grid  4/6 done · 3 evaluated · 1 running  (2×1×3)', or the sweep's error."""
    if sweep.error is not None:
        return f"{sweep.name:<{width}}  {sweep.error}"
    grid = "×".join(str(len(v)) for v in (sweep.models, sweep.tasks, sweep.seeds))
    parts = [f"{sweep.done}/{sweep.total} done", f"{sweep.counts.get('evaluated', 0)} evaluated"]
    parts += [f"{sweep.counts[s]} {s}" for s in ("running", "failed") if sweep.counts.get(s)]
    return f"{sweep.name:<{width}}  {' · '.join(parts)}  ({grid})"


class SweepPicker(ModalScreen["Path | None"]):
    """Sweep folders, newest first; enter loads one, esc cancels."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, runs_dir: Path) -> None:
        super().__init__()
        self.runs_dir = runs_dir
        self.folders: dict[str, Path] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(f"Sweeps in {self.runs_dir}", style="bold"))
            yield OptionList(id="sweeps")
            yield Label("enter loads its runs and its eval settings · esc cancels", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).loading = True
        self._list()

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-sweep-picker")
    def _list(self) -> None:
        sweeps = RunLister(self.runs_dir, metrics=False).scan().sweeps_newest_first()
        width = max((len(s.name) for s in sweeps), default=0)
        if not get_current_worker().is_cancelled:
            self.post_message(SweepsListed([(s.path, describe_sweep(s, width)) for s in sweeps]))

    def on_sweeps_listed(self, message: SweepsListed) -> None:
        options = self.query_one(OptionList)
        options.loading = False
        if not message.sweeps:
            options.add_option(Option("(no sweep here yet: `forgetnet sweep --models ... --tasks ... --seeds ...` makes one)", disabled=True))
        for i, (folder, line) in enumerate(message.sweeps):
            self.folders[f"sweep-{i}"] = folder
            options.add_option(Option(line, id=f"sweep-{i}"))
        options.highlighted = 0 if message.sweeps else None
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        folder = self.folders.get(event.option.id or "")
        if folder is not None:
            self.dismiss(folder)

    def action_cancel(self) -> None:
        self.dismiss(None)
