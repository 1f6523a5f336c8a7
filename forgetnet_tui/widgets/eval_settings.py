"""The evaluation settings form: suite, examples per task, seq_len, extrapolation length, eval seed, validated as you type."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Input, Label, Select

from forgetnet_core.config import (
    SETTING_FIELDS,
    SUITE_NAMES,
    EvalSettings,
    parse_settings,
)

from ..messages import SettingsEdited

TITLES = {
    "suite": "suite",
    "examples": "examples per task",
    "seq_len": "seq_len",
    "extrapolation_len": "extrapolation length",
    "seed": "eval seed",
}


class EvalSettingsForm(VerticalScroll):
    """Edits an EvalSettings; posts SettingsEdited on every edit, with the settings (None while invalid) and the errors."""

    DEFAULT_CSS = """
    EvalSettingsForm { height: 1fr; padding: 0 1; }
    EvalSettingsForm .setting-title { color: $text-muted; margin-top: 1; }
    EvalSettingsForm Input, EvalSettingsForm Select { width: 1fr; }
    EvalSettingsForm .setting-error { color: $error; height: auto; width: 1fr; }
    EvalSettingsForm .setting-hint { color: $text-muted; height: auto; width: 1fr; margin-top: 1; }
    """

    def __init__(self, settings: EvalSettings | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.can_focus = False  # the fields take focus, not the scroll container
        self.initial = settings or EvalSettings()
        self.errors: dict[str, str] = {}
        self.settings: EvalSettings | None = self.initial

    def compose(self) -> ComposeResult:
        s = self.initial
        yield Label(TITLES["suite"], classes="setting-title")
        yield Select([(name, name) for name in SUITE_NAMES], value=s.suite, allow_blank=False, compact=True, id="setting-suite")
        yield Label("", classes="setting-error", id="error-suite")
        values = {
            "examples": str(s.examples),
            "seq_len": str(s.seq_len),
            "extrapolation_len": "" if s.extrapolation_len is None else str(s.extrapolation_len),
            "seed": str(s.seed),
        }
        for name in SETTING_FIELDS[1:]:
            yield Label(TITLES[name], classes="setting-title")
            yield Input(values[name], compact=True, id=f"setting-{name}", select_on_focus=True)
            yield Label("", classes="setting-error", id=f"error-{name}")
        yield Label("", classes="setting-hint", id="settings-hint")

    def on_mount(self) -> None:
        self._validate(post=False)

    def show_settings(self, settings: EvalSettings) -> None:
        """Put `settings` in the fields (e.g. a loaded sweep's); the Changed messages that follow carry them."""
        self.initial = settings  # keeps the tasks and batch size the fields do not show
        self.query_one("#setting-suite", Select).value = settings.suite
        values = {
            "examples": str(settings.examples),
            "seq_len": str(settings.seq_len),
            "extrapolation_len": "" if settings.extrapolation_len is None else str(settings.extrapolation_len),
            "seed": str(settings.seed),
        }
        for name, value in values.items():
            self.query_one(f"#setting-{name}", Input).value = value
        self._validate(post=False)

    def texts(self) -> dict[str, str]:
        texts = {"suite": str(self.query_one("#setting-suite", Select).value)}
        for name in SETTING_FIELDS[1:]:
            texts[name] = self.query_one(f"#setting-{name}", Input).value
        return texts

    @on(Input.Changed)
    @on(Select.Changed)
    def _edited(self, event: Input.Changed | Select.Changed) -> None:
        event.stop()
        self._validate(post=True)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    def _validate(self, post: bool) -> None:
        settings, errors = parse_settings(self.texts(), self.initial)
        self.settings, self.errors = settings, errors
        for name in SETTING_FIELDS:
            label = self.query_one(f"#error-{name}", Label)
            label.update(errors.get(name, ""))
            label.display = name in errors
            widget = self.query_one(f"#setting-{name}")
            widget.set_class(name in errors, "-invalid")
        extrap = self.query_one("#setting-extrapolation_len", Input)
        seq_len = self.query_one("#setting-seq_len", Input).value.strip()
        extrap.placeholder = f"3 × seq_len = {3 * int(seq_len)}" if seq_len.isdigit() else "3 × seq_len"
        hint = self.query_one("#settings-hint", Label)
        if settings is not None and settings.suite == "v1":
            hint.update("v1 draws eval batches from seeds 123+i (the original's); the eval seed is not used.")
        elif errors:
            hint.update("Fix the fields in red; results shown stay those of the last valid settings.")
        else:
            hint.update("Results are cached per settings in each run directory.")
        if post:
            self.post_message(SettingsEdited(self, settings, errors))
