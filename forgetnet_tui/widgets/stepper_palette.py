"""Colours shared by the stepper widgets: token roles, record marks, and heatmap palettes as cached rich Styles."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style

# Token roles (forgetnet_core.tasks.token_role) in the strip and on time axes.
ROLE_STYLES = {
    "key": Style(color="#5fafff", bold=True),
    "value": Style(color="#87d787"),
    "sep": Style(color="#6c6c6c"),
    "query": Style(color="#ff87ff", bold=True),
    "noise": Style(color="#585858"),
    "pad": Style(color="#585858"),
    "other": Style(color="#808080"),
}

# Record marks (forgetnet_core.stepper.MARK_KINDS): what the strip underlines.
MARK_COLOURS = {
    "latest": "#5fd75f",  # the newest value of the queried key: the answer
    "stale": "#ff5f5f",  # a superseded value of the queried key
    "overwrite": "#ffaf5f",
    "fact": "#5fafff",
    "hop": "#5fafff",
    "query": "#d787ff",
}
# Background tints of marked records in the token strip.
MARK_BACKGROUNDS = {
    "latest": "#005f00",
    "stale": "#6f0000",
    "overwrite": "#5f3700",
    "fact": "#00305f",
    "hop": "#00305f",
    "query": "#5f005f",
}
MARK_NAMES = {
    "latest": "newest",
    "stale": "stale",
    "overwrite": "overwrite",
    "fact": "fact",
    "hop": "hop",
    "query": "query",
}

# Sequential palette for weights in [0, 1] (viridis, 12 steps).
VIRIDIS = (
    "#440154", "#482173", "#433e85", "#38598c", "#2d708e", "#25858e",
    "#1e9b8a", "#2ab07f", "#52c569", "#86d549", "#c2df23", "#fde725",
)


def _diverging(n: int = 21) -> tuple[str, ...]:
    """Blue (-1) through a dark grey (0) to red (+1): memory values are tanh-bounded."""
    neg, mid, pos = np.array([33, 102, 172]), np.array([38, 38, 38]), np.array([214, 47, 39])
    out = []
    for x in np.linspace(-1, 1, n):
        rgb = mid + (neg - mid) * -x if x < 0 else mid + (pos - mid) * x
        r, g, b = (int(round(c)) for c in rgb)
        out.append(f"#{r:02x}{g:02x}{b:02x}")
    return tuple(out)


DIVERGING = _diverging()


@lru_cache(maxsize=None)
def fg(colour: str, bold: bool = False) -> Style:
    return Style(color=Color.parse(colour), bold=bold)


@lru_cache(maxsize=None)
def half_block(top: str, bottom: str) -> Style:
    """Style for '▀': the top half in `top`, the bottom half in `bottom`."""
    return Style(color=Color.parse(top), bgcolor=Color.parse(bottom))


def weight_colours(values: np.ndarray) -> np.ndarray:
    """Palette indices (into VIRIDIS) for weights in [0, 1] (clipped)."""
    n = len(VIRIDIS)
    return np.clip((np.asarray(values) * (n - 1) + 0.5).astype(int), 0, n - 1)


def value_colours(values: np.ndarray) -> np.ndarray:
    """Palette indices (into DIVERGING) for values in [-1, 1] (clipped)."""
    n = len(DIVERGING)
    return np.clip(((np.asarray(values) + 1.0) / 2.0 * (n - 1) + 0.5).astype(int), 0, n - 1)


SPARK = " ▁▂▃▄▅▆▇█"


def spark_chars(values: np.ndarray, top: float = 1.0) -> str:
    """One sparkline character per value in [0, top]."""
    n = len(SPARK) - 1
    idx = np.clip(np.round(np.asarray(values) / max(top, 1e-12) * n), 0, n).astype(int)
    return "".join(SPARK[i] for i in idx)


def bar(value: float, width: int, top: float = 1.0) -> str:
    """A horizontal bar of `width` cells for value in [0, top], with eighth-block resolution."""
    if width <= 0:
        return ""
    eighths = int(round(max(0.0, min(1.0, value / top if top > 0 else 0.0)) * width * 8))
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return ("█" * full + partial).ljust(width)[:width]


def window(cursor: int, length: int, visible: int) -> int:
    """First index of a `visible`-wide window over `length` items that keeps `cursor` in view, centred when it can."""
    if visible >= length:
        return 0
    return max(0, min(cursor - visible // 2, length - visible))
