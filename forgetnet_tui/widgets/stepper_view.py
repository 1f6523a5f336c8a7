"""The base of every stepper view: a pure Text renderer drawn through Textual's line API (fast for many small spans)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Optional

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    from forgetnet_core.stepper import StepperTrace


@lru_cache(maxsize=4096)
def _combine(base: Style, style: Style | str) -> Style:
    return base + (Style.parse(style) if isinstance(style, str) else style)


def _segments(line: Text, base: Style) -> Optional[list[Segment]]:
    """Segments of one line whose spans do not overlap (what the stepper's renderers build), else None.

    Equivalent to ``line.render`` for such lines, without its general
    span-stacking machinery (the heatmaps are a thousand spans a frame).
    """
    plain = line.plain
    if line.style:
        base = _combine(base, line.style)
    segments: list[Segment] = []
    pos = 0
    for start, end, style in sorted(line.spans, key=lambda span: span.start):
        if start < pos:
            return None
        if start > pos:
            segments.append(Segment(plain[pos:start], base))
        if end > start:
            segments.append(Segment(plain[start:end], _combine(base, style)))
        pos = end
    if pos < len(plain):
        segments.append(Segment(plain[pos:], base))
    return segments


class TraceView(Widget):
    """Shows one StepperTrace at a cursor; subclasses implement ``build(trace, cursor, width) -> Text``.

    ``render()`` returns that Text (what tests read). The compositor instead
    calls ``render_line``, which serves Strips cut from the same Text once per
    (trace, cursor, width): a heatmap is a thousand differently coloured
    cells, and turning them into Segments directly is several times cheaper
    than Textual's general Content path.
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.trace: Optional["StepperTrace"] = None
        self.cursor = 0
        self._strips: Optional[list[Strip]] = None
        self._strips_width = -1

    def build(self, trace: "StepperTrace", cursor: int, width: int) -> Text:  # pragma: no cover - abstract
        raise NotImplementedError

    def build_lines(self, trace: "StepperTrace", cursor: int, width: int) -> list[Text]:
        """``build`` as a list of lines (views with many spans override this to skip the join and split)."""
        return self.build(trace, cursor, width).split("\n", allow_blank=True)

    def show(self, trace: Optional["StepperTrace"], cursor: int) -> None:
        """Point the view at `trace` and `cursor` and repaint (a new trace may change the height)."""
        new_trace = trace is not self.trace
        self.trace, self.cursor = trace, cursor
        self._strips = None
        self.refresh(layout=new_trace)

    def _width(self) -> int:
        return self.content_size.width or 80

    def render(self) -> Text:
        if self.trace is None:
            return Text("")
        return self.build(self.trace, self.cursor, self._width())

    def _lines(self, width: int) -> list[Strip]:
        if self._strips is None or self._strips_width != width:
            lines = self.build_lines(self.trace, self.cursor, width) if self.trace is not None else [self.render()]
            console = self.app.console
            base = self.rich_style
            strips = []
            for line in lines:
                segments = _segments(line, base)
                if segments is None:  # overlapping spans: let rich resolve them
                    segments = [Segment(s.text, base + s.style if s.style else base) for s in line.render(console) if s.text]
                strips.append(Strip(segments, line.cell_len))
            self._strips, self._strips_width = strips, width
        return self._strips

    def render_line(self, y: int) -> Strip:
        width = self._width()
        lines = self._lines(width)
        if y < len(lines):
            return lines[y]
        return Strip.blank(width, self.rich_style)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.trace is None:
            return 1
        return len(self.build_lines(self.trace, self.cursor, width))


class HeadView(TraceView):
    """A TraceView that also shows one head of a matrix memory (the screen's ``h`` cycles it)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.head = 0

    def set_head(self, head: int) -> None:
        if head != self.head:
            self.head = head
            self._strips = None
            self.refresh()
