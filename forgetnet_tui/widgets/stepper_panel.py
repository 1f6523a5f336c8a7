"""One model's side of the stepper: beliefs, memory views in the terms of its own update, and the readout."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Optional

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from .memory_views import READ_COLOUR, WRITE_COLOUR, MemoryHeatmap, SlotBars, Timeline
from .stepper_beliefs import BeliefView
from .stepper_matrix import HeadBars, MatrixView
from .stepper_palette import fg, spark_chars
from .stepper_view import HeadView, TraceView

if TYPE_CHECKING:  # the UI imports no torch: traces arrive ready-made from a worker
    from forgetnet_core.stepper import StepperTrace

NO_MEMORY = (
    "{name} is a Transformer baseline: it keeps no memory, so there is no state to read, write or "
    "erase. Shown: its beliefs (what it would answer about each key now, from the prefix), its next-token "
    "and answer predictions, and the surprise of its next-token head."
)


def render_readout(st: "StepperTrace", t: int, width: int) -> Text:
    """Surprise, mean gate and erase, top read/write slot, top-5 next tokens and answers, and the verdict at the end."""
    v = st.view(t)
    token_name = st.vocab_names.__getitem__
    out = Text()
    out.append("surprise ", style="bold")
    out.append(f"{v.surprise:.3f}", fg("#ffd75f", bold=True))
    span = max(4, min(16, width - 15))  # the last 16 tokens, fewer in a narrow compare column
    out.append(" " + spark_chars(st.surprise[max(0, t - span + 1) : t + 1]), fg("#ffd75f"))
    if v.memory_kind == "matrix":
        read_head, write_head = int(v.read_strength.argmax()), int(v.beta.argmax())
        wide = width >= 40  # compare mode: "β 0.300  1-α 0.005"
        out.append("\nwrite β " if wide else "\nβ ", style="bold")
        out.append(f"{v.gate_mean:.3f}")
        out.append("  forget 1-α " if wide else "  1-α ", style="bold")
        out.append(f"{v.erase_mean:.3f}")
        if wide:
            out.append(" (means)", style="dim")
        out.append("\nread ", style="bold")
        out.append(f"h{read_head} {float(v.read_strength[read_head]):.2f}", fg(READ_COLOUR, bold=True))
        out.append("  write " if width >= 29 else " write ", style="bold")
        out.append(f"h{write_head} {float(v.beta[write_head]):.2f}", fg(WRITE_COLOUR, bold=True))
    elif v.memory_kind == "slot":
        out.append("\ngate ", style="bold")
        out.append(f"{v.gate_mean:.3f}")
        out.append("  erase ", style="bold")
        out.append(f"{v.erase_mean:.3f}")
        if width >= 31:
            out.append(" (means)", style="dim")
        out.append("\nread ", style="bold")
        out.append(f"s{v.read_slot:02d} {float(v.read[v.read_slot]):.2f}", fg(READ_COLOUR, bold=True))
        out.append("  write " if width >= 29 else " write ", style="bold")
        out.append(f"s{v.write_slot:02d} {float(v.write[v.write_slot]):.2f}", fg(WRITE_COLOUR, bold=True))
    else:
        out.append("\nno memory: no gates, no state", style="dim")
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
    stale = _wrap("stale values: " + (", ".join(token_name(x) for x in st.meta.stale_values) or "none"), width)
    if t == st.seq_len - 1 and verdict is not None:
        # Wrapped, never cut: in compare mode the readout is a narrow column.
        out.append(_wrap(verdict.describe(), width), fg("#5fd75f" if verdict.right else "#ff5f5f", bold=True))
        out.append(f"\n{stale}", style="dim")
    else:
        out.append(f"verdict at t={st.seq_len - 1} (End)\n{stale}", style="dim")
    return out


def _wrap(text: str, width: int) -> str:
    """`text` broken into lines of at most `width` columns (at spaces; a longer word is split)."""
    return "\n".join(textwrap.wrap(text, max(8, width), break_on_hyphens=False)) or text


class Readout(TraceView):
    """The numbers at the cursor for one model."""

    DEFAULT_CSS = "Readout { height: auto; width: 1fr; min-width: 34; padding-left: 1; }"

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_readout(st, t, width)


class ModelPanel(Vertical):
    """Title, beliefs, the memory (slots or one head's matrices) with its bars, the timeline and the readout.

    The layout is CSS (the screen's): ``-slot`` / ``-matrix`` / ``-no-memory``
    pick the memory views; the Readout and BeliefView come twice (beside the
    timeline on a wide screen, at the top and beside the memory when narrow
    or comparing) and the screen's CSS shows one of each.
    """

    DEFAULT_CSS = """
    ModelPanel { height: auto; width: 1fr; }
    ModelPanel .panel-title { text-style: bold; color: $accent; height: 1; width: 1fr; }
    ModelPanel .memory-row, ModelPanel .time-row { height: auto; }
    ModelPanel .side { height: auto; width: 1fr; padding-left: 1; }
    ModelPanel .side Readout { padding-left: 0; }
    ModelPanel .no-memory { display: none; color: $warning; padding: 0 0 1 0; }
    ModelPanel.-no-memory .no-memory { display: block; }
    ModelPanel MatrixView, ModelPanel HeadBars { display: none; }
    ModelPanel.-matrix MatrixView, ModelPanel.-matrix HeadBars { display: block; }
    ModelPanel.-matrix MemoryHeatmap, ModelPanel.-matrix SlotBars { display: none; }
    ModelPanel.-matrix Timeline { width: 70; }
    ModelPanel.-no-memory MemoryHeatmap, ModelPanel.-no-memory SlotBars { display: none; }
    ModelPanel .memory-row .side { display: none; }
    ModelPanel .top-beliefs { display: none; margin-bottom: 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("", classes="panel-title")
        yield Static("", classes="no-memory")
        yield BeliefView(classes="top-beliefs")
        with Horizontal(classes="memory-row"):
            yield MemoryHeatmap()
            yield MatrixView()
            yield SlotBars()
            yield HeadBars()
            with Vertical(classes="side"):
                yield Readout()
        with Horizontal(classes="time-row"):
            yield Timeline()
            with Vertical(classes="side"):
                yield BeliefView()
                yield Readout()

    head = 0  # the matrix head the screen asked for; each model shows it modulo its own heads

    def show(self, trace: Optional["StepperTrace"], cursor: int) -> None:
        """Point every view at `trace` at token `cursor` (the title and layout change only with the trace)."""
        if trace is not getattr(self, "_trace", None):
            self._trace = trace
            title = self.query_one(".panel-title", Label)
            if trace is None:
                title.update("")
            else:
                title.update(Text(trace.model_label, style="bold"))
                kind = trace.memory_kind if trace.has_memory else None
                self.set_class(kind is None, "-no-memory")
                self.set_class(kind == "slot", "-slot")
                self.set_class(kind == "matrix", "-matrix")
                self.query_one(".no-memory", Static).update(NO_MEMORY.format(name=trace.model_name))
            self._apply_head()
        for view in self.views:  # a hidden view only records the cursor: refresh() renders nothing
            view.show(trace, cursor)

    @property
    def views(self) -> list[TraceView]:
        if not hasattr(self, "_views"):
            self._views = list(self.query(TraceView))
        return self._views

    @property
    def shown_head(self) -> int:
        """The head the matrix views show (0 without a matrix memory)."""
        heads = getattr(getattr(self, "_trace", None), "heads", 0)
        return self.head % heads if heads else 0

    def set_head(self, head: int) -> None:
        """Show head `head` (modulo the model's heads) of a matrix memory."""
        self.head = head
        self._apply_head()

    def _apply_head(self) -> None:
        for view in self.views:
            if isinstance(view, HeadView):
                view.set_head(self.shown_head)
