"""The lab's keys in words: how a key is written, what the key bar shows where focus is, and what `?` lists.

Only the lab's own bindings are listed: the screen's, the app's and those of
the lab's widgets (a class from forgetnet_tui); Textual's built-in ones (a
DataTable's ctrl+pageup, the app's copy key) are not. A binding's tooltip,
when it has one, is its help text in words; its description is the short
label the key bar shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode
    from textual.screen import Screen

# How keys are written: as on a keyboard, never Textual's names ("question_mark", "equals_sign").
KEY_NAMES = {
    "question_mark": "?",
    "space": "space",
    "escape": "esc",
    "enter": "enter",
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "pageup": "pgup",
    "pagedown": "pgdn",
    "delete": "del",
    "plus": "+",
    "minus": "-",
    "equals_sign": "=",
}

# What works everywhere (when no text field has focus), as `?` lists it after the screen's own keys.
EVERYWHERE = (
    ("1", "the Runs screen: configure, launch and manage runs"),
    ("2", "the Train screen: watch a run's charts"),
    ("3", "the Evaluate screen: the accuracy matrix"),
    ("4", "the Stepper screen: step a model through an example"),
    ("?", "this list of keys"),
    ("q", "quit (runs keep training: they are their own processes)"),
    ("ctrl+q", "quit, from anywhere (also in a text field)"),
    ("ctrl+p", "the command palette: screens and actions by name"),
    ("tab / shift+tab", "move focus between the parts of a screen"),
)


def key_label(binding: Binding, display: bool = True) -> str:
    """How the key bar writes a binding's key: its key_display when it has one ('←→'), else its first key as on a
    keyboard ('?' for question_mark, '←' for left). With display=False (the key help), every key: 'del / backspace'."""
    if display and binding.key_display:
        return binding.key_display
    keys = [k.strip() for k in binding.key.split(",")]
    return " / ".join(_key_name(k) for k in (keys[:1] if display else keys))


def _key_name(key: str) -> str:
    *modifiers, name = key.split("+")
    return "+".join([*modifiers, KEY_NAMES.get(name, name)])


def is_ours(node: DOMNode) -> bool:
    """A screen, widget or app written for the lab (its bindings are the lab's keys)."""
    return type(node).__module__.split(".")[0] == "forgetnet_tui"


@dataclass(frozen=True)
class KeyEntry:
    """One key of the key bar."""

    key: str  # as shown: "e", "?", "enter"
    label: str  # the binding's description
    press: str  # the key to simulate on a click
    enabled: bool  # False: shown dimmed (it does not apply to what is highlighted)
    app: bool  # an app-wide key (? and q), shown after the screen's


def bar_entries(screen: Screen) -> list[KeyEntry]:
    """The keys that work where focus is now, in the key bar's order: the focused part's and the screen's, then
    the app's. Keys a focused text or choice field takes as typing are not among the screen's bindings then."""
    app = screen.app
    entries: list[KeyEntry] = []
    seen: set[str] = set()
    ordered = sorted(screen.active_bindings.values(), key=lambda active: 1 if active.node is app else 0)
    for active in ordered:
        binding = active.binding
        if not binding.show or binding.action in seen or not is_ours(active.node):
            continue
        seen.add(binding.action)
        press = binding.key.split(",")[0].strip()
        entries.append(KeyEntry(key_label(binding), binding.description, press, active.enabled, active.node is app))
    return entries


def fit_entries(entries: list[KeyEntry], width: int) -> list[KeyEntry]:
    """The entries that fit in `width` cells (each takes len(' key label ')), none cut.

    `?` (the key help) always stays; then the screen's enabled keys in their
    order, its dimmed ones, and last the app's other keys (q): what does not
    fit is dropped, the order of what stays is kept.
    """
    def cost(entry: KeyEntry) -> int:
        return len(entry.key) + len(entry.label) + 3

    keep = {i for i, e in enumerate(entries) if e.app and e.key == "?"}
    left = width - sum(cost(entries[i]) for i in keep)
    ranked = sorted(
        (i for i in range(len(entries)) if i not in keep),
        key=lambda i: (entries[i].app, not entries[i].enabled, i),
    )
    for i in ranked:
        if cost(entries[i]) <= left:
            keep.add(i)
            left -= cost(entries[i])
    return [e for i, e in enumerate(entries) if i in keep]


def help_rows(screen: Screen, app: App) -> list[tuple[str, str, str]]:
    """(key, what it does, where) for `?`: the screen's keys, its widgets' keys, then the keys that work everywhere.

    A screen key that does not apply now (no run to stop) is listed with "(not now)".
    """
    rows: list[tuple[str, str, str]] = []
    active = screen.active_bindings
    for binding in _bindings(type(screen)):
        if not binding.description:
            continue
        state = active.get(binding.key.split(",")[0].strip())
        applies = state is not None and state.binding.action == binding.action and state.enabled
        rows.append((key_label(binding, display=False), _words(binding) + ("" if applies else " (not now)"), "this screen"))
    seen: set[type] = set()
    for widget in screen.query("*"):
        kind = type(widget)
        if kind in seen or not is_ours(widget):
            continue
        seen.add(kind)
        where = getattr(kind, "HELP_WHERE", "")
        if not where:
            continue
        for binding in _bindings(kind):
            if binding.description:
                rows.append((key_label(binding, display=False), _words(binding), where))
        rows.extend((key, words, where) for key, words in getattr(kind, "HELP_KEYS", ()))
    rows.extend((key, words, "everywhere") for key, words in EVERYWHERE)
    return _merge_keys(rows)


def _bindings(kind: type) -> list[Binding]:
    """The bindings a class declares itself (not those it inherits from Textual, such as a scroll view's)."""
    return [b for b in vars(kind).get("BINDINGS", ()) if isinstance(b, Binding)]


def _words(binding: Binding) -> str:
    return binding.tooltip or binding.description


def _merge_keys(rows: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """One row per key and place (what enter does on a run and on a sweep, together), and keys that do the same
    thing there listed together ('← / →')."""
    by_key: dict[tuple[str, str], list[str]] = {}
    for key, words, where in rows:
        said = by_key.setdefault((key, where), [])
        if words not in said:
            said.append(words)
    by_words: dict[tuple[str, str], list[str]] = {}
    for (key, where), said in by_key.items():
        by_words.setdefault(("; ".join(said), where), []).append(key)
    return [(" / ".join(keys), words, where) for (words, where), keys in by_words.items()]
