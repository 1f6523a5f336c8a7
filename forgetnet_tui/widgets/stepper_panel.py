"""One model's side of the stepper: memory views plus the readout (surprise, gate, top-5 lists, verdict)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from .memory_views import READ_COLOUR, WRITE_COLOUR, MemoryHeatmap, SlotBars, Timeline
from .stepper_palette import fg, spark_chars
from .stepper_view import TraceView

if TYPE_CHECKING:  # the UI imports no torch: traces arrive ready-made from a worker
    from forgetnet_core.stepper import StepperTrace

NO_MEMORY = (
    "{name} is a Transformer baseline: it keeps no memory, so there are no slots to read, write or "
    "erase. Shown: its tokens, next-token and answer predictions, and the surprise of its next-token head."
)


def render_readout(st: "StepperTrace", t: int, width: int) -> Text:
    """Surprise, mean gate and erase, top read/write slot, top-5 next tokens and answers, and the verdict at the end."""
    v = st.view(t)
    token_name = st.vocab_names.__getitem__
    out = Text()
    out.append("surprise ", style="bold")
    out.append(f"{v.surprise:.3f}", fg("#ffd75f", bold=True))
    out.append(" " + spark_chars(st.surprise[max(0, t - 15) : t + 1]), fg("#ffd75f"))
    if v.has_memory:
        out.append("\ngate ", style="bold")
        out.append(f"{v.gate_mean:.3f}")
        out.append("  erase ", style="bold")
        out.append(f"{v.erase_mean:.3f}")
        out.append(" (means)", style="dim")
        out.append("\nread ", style="bold")
        out.append(f"s{v.read_slot:02d} {float(v.read[v.read_slot]):.2f}", fg(READ_COLOUR, bold=True))
        out.append("  write ", style="bold")
        out.append(f"s{v.write_slot:02d} {float(v.write[v.write_slot]):.2f}", fg(WRITE_COLOUR, bold=True))
    else:
        out.append("\nno memory: no gate, no slots", style="dim")
    out.append("\n")
    col = 17
    out.append("next token".ljust(col), style="bold underline")
    out.append("answer", style="bold underline")
    label = st.meta.label
    for (tok, p), (ans, q) in zip(v.top_tokens, v.top_answers):
        out.append("\n")
        out.append(f"{token_name(tok):>4} {p:.2f}".ljust(col), Style(bold=tok == st.tokens[t + 1]) if t + 1 < st.seq_len else Style())
        style = Style()
        if ans == label:
            style = fg("#5fd75f", bold=True)
        elif ans in st.meta.stale_values:
            style = fg("#ff5f5f")
        out.append(f"{token_name(ans):>4} {q:.2f}", style)
    out.append("\n")
    verdict = st.verdict
    stale = "stale values: " + (", ".join(token_name(x) for x in st.meta.stale_values) or "none")
    if t == st.seq_len - 1 and verdict is not None:
        out.append(verdict.describe(), fg("#5fd75f" if verdict.right else "#ff5f5f", bold=True))
        out.append(f"\n{stale}", style="dim")
    else:
        out.append(f"verdict at t={st.seq_len - 1} (End)\n{stale}", style="dim")
    return out


class Readout(TraceView):
    """The numbers at the cursor for one model."""

    DEFAULT_CSS = "Readout { height: auto; width: 1fr; min-width: 34; padding-left: 1; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_readout(st, t, width)


class ModelPanel(Vertical):
    """Title, memory heatmap and slot bars, slot-by-time heatmaps and the readout, for one model."""

    DEFAULT_CSS = """
    ModelPanel { height: auto; width: 1fr; }
    ModelPanel .panel-title { text-style: bold; color: $accent; height: 1; width: 1fr; }
    ModelPanel .memory-row, ModelPanel .time-row { height: auto; }
    ModelPanel .no-memory { display: none; color: $warning; padding: 0 0 1 0; }
    ModelPanel.-no-memory .no-memory { display: block; }
    ModelPanel.-no-memory MemoryHeatmap, ModelPanel.-no-memory SlotBars { display: none; }
    ModelPanel .memory-row Readout { display: none; }
    """

    def compose(self) -> ComposeResult:
        # Two Readouts: beside the timeline normally, beside the memory in compare mode (CSS picks one).
        yield Label("", classes="panel-title")
        yield Static("", classes="no-memory")
        with Horizontal(classes="memory-row"):
            yield MemoryHeatmap()
            yield SlotBars()
            yield Readout()
        with Horizontal(classes="time-row"):
            yield Timeline()
            yield Readout()

    def show(self, trace: Optional["StepperTrace"], cursor: int) -> None:
        """Point every view at `trace` at token `cursor` (the title and layout change only with the trace)."""
        if trace is not getattr(self, "_trace", None):
            self._trace = trace
            title = self.query_one(".panel-title", Label)
            if trace is None:
                title.update("")
            else:
                title.update(Text(trace.model_label, style="bold"))
                self.set_class(not trace.has_memory, "-no-memory")
                self.query_one(".no-memory", Static).update(NO_MEMORY.format(name=trace.model_name))
        if not hasattr(self, "_views"):
            self._views = list(self.query("MemoryHeatmap, SlotBars, Timeline, Readout"))
        for view in self._views:  # a hidden view only records the cursor: refresh() renders nothing
            view.show(trace, cursor)
