"""The token strip: the whole example with roles coloured, the cursor, the records that matter tinted, and what
happens at the cursor (the example's events and the model's changes of belief)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Optional

from rich.color import Color
from rich.style import Style
from rich.text import Text

from .stepper_beliefs import CHANGE_COLOURS, CHANGE_GLYPHS
from .stepper_palette import (
    MARK_BACKGROUNDS,
    MARK_COLOURS,
    MARK_NAMES,
    ROLE_STYLES,
    fg,
    window,
)
from .stepper_view import TraceView

if TYPE_CHECKING:
    from forgetnet_core.stepper import StepperTrace

CELL = 4  # characters per token: a 3-character name and a space
CURSOR = Style(reverse=True, bold=True)


@lru_cache(maxsize=None)
def token_style(role: str, mark: Optional[str]) -> Style:
    style = ROLE_STYLES.get(role, ROLE_STYLES["other"])
    if mark:
        style = style + Style(bgcolor=Color.parse(MARK_BACKGROUNDS[mark]))
    return style


def render_strip(st: Optional["StepperTrace"], t: int, width: int) -> Text:
    """Two lines: the tokens (scrolled to keep `t` in view, marked records tinted), then what happens at `t`:
    the events of the example, then the model's changes of belief there (the queried key's first)."""
    if st is None:
        return Text("computing the trace…", style="italic")
    T = st.seq_len
    visible = max(1, (width - 2) // CELL)
    start = window(t, T, visible)
    stop = min(T, start + visible)
    tokens = Text("◀" if start > 0 else " ", style="dim")
    for i in range(start, stop):
        kind = st.marks.get(i)
        style = CURSOR if i == t else token_style(st.roles[i], kind)
        tokens.append(st.names[i].ljust(CELL - 1), style)
        joined = kind is not None and st.marks.get(i + 1) == kind
        tokens.append(" ", token_style("other", kind) if joined and i != t else Style())
    tokens.append("▶" if stop < T else " ", style="dim")
    status = Text()
    status.append(f"t {t}/{T - 1} ", style="bold")
    status.append(st.names[t], ROLE_STYLES.get(st.roles[t], ROLE_STYLES["other"]))
    status.append(f" ({st.roles[t]})")
    here = [e for e in st.events if e.t == t]
    inside = [] if here or t not in st.marks else [e for e in st.events if t - 2 <= e.t < t and e.kind == st.marks[t]]
    for event in here:
        status.append("  ")
        status.append(event.text, fg(MARK_COLOURS.get(event.kind, "#ffffff"), bold=True))
    if st.beliefs is not None:  # before the record note: a line too long loses its end
        for change in sorted(st.beliefs.changes_at(t), key=lambda c: c.key != st.beliefs.query_key):
            colour = CHANGE_COLOURS.get(change.kind, "#ffffff")
            status.append("  belief ", style="dim")
            status.append(f"{CHANGE_GLYPHS.get(change.kind, '?')} {change.text}", fg(colour, bold=True))
    for event in inside[-1:]:  # a value or SEP inside a marked record: name the record, dimmer
        status.append(f"  in t={event.t}: ", style="dim")
        status.append(event.text, fg(MARK_COLOURS.get(event.kind, "#ffffff")))
    legend = Text()
    for kind in ("stale", "overwrite", "latest", "query"):
        legend.append("  ")
        legend.append(f" {MARK_NAMES[kind]} ", token_style("other", kind))
    if status.cell_len + legend.cell_len <= width:
        status.append(" " * (width - status.cell_len - legend.cell_len))
        status.append_text(legend)
    status.truncate(width)
    return Text("\n").join([tokens, status])


class TokenStrip(TraceView):
    """The example's tokens; the screen calls show(trace, cursor)."""

    DEFAULT_CSS = """
    TokenStrip { height: 2; width: 1fr; padding: 0 1; }
    """

    def render(self) -> Text:
        return render_strip(self.trace, self.cursor, self._width())

    def build(self, st: "StepperTrace", t: int, width: int) -> Text:
        return render_strip(st, t, width)
