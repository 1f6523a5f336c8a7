"""How the lab writes numbers: durations, ages, losses, and accuracies (always a percentage with one decimal).

Every screen formats through here, so an accuracy reads the same on the Runs
table, the Train screen, the Evaluate matrix and the difficulty table.
"""

from __future__ import annotations

import math


def format_duration(seconds: float | None) -> str:
    """0:07, 12:34, 3:04:05; '-' when unknown."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_age(seconds: float | None) -> str:
    """A compact age: 5s, 3m, 2h, 4d; '-' when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def format_number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if value != 0 and (abs(value) >= 1e4 or abs(value) < 10 ** (-digits)):
        return f"{value:.{max(1, digits - 1)}e}"
    return f"{value:.{digits}f}"


def format_accuracy(value: float | None) -> str:
    """An accuracy (a fraction) as a percentage with one decimal: 0.6%, 37.5%, 100.0%; '-' when unknown."""
    if value is None or not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "-"
    return f"{100.0 * value:.1f}%"


def format_interval(low: float | None, high: float | None) -> str:
    """A 95% interval of an accuracy in whole percentage points, beside its format_accuracy: '[53,69]'."""
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return ""
    return f"[{100.0 * low:.0f},{100.0 * high:.0f}]"
