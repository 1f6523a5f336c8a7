"""One-line error messages: every error a user sees (CLI stderr, a notification, status.json) goes through one_line."""

from __future__ import annotations


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """The first non-empty line of an exception's message (its type name when it has none), at most `limit` characters.

    >>> one_line(ValueError("bad value\\nTraceback ..."))
    'bad value'
    >>> one_line(KeyError())
    'KeyError'
    """
    text = exc if isinstance(exc, str) else str(exc)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = lines[0] if lines else (type(exc).__name__ if not isinstance(exc, str) else "")
    return first if len(first) <= limit else first[: limit - 1] + "…"


__all__ = ["one_line"]
