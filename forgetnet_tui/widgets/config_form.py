"""The training-config form: one row per TrainConfig field, validated on every keystroke, Launch only when valid."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

from forgetnet_core.config import TrainConfig, format_field, parse_field, recipe_config

from ..messages import ChoiceChanged, LaunchRequested
from .choice import ChoiceField


@dataclass(frozen=True)
class FormField:
    """How one TrainConfig field appears in the form: label, help and choices come from the config module."""

    name: str
    label: str
    help: str
    choices: tuple[str, ...] | None = None
    optional: bool = False  # blank or "auto" means None (the model's or the task's own value)


def _form_fields() -> tuple[FormField, ...]:
    out = []
    for f in fields(TrainConfig):
        meta = f.metadata
        out.append(FormField(f.name, meta.get("label") or f.name.replace("_", " "), meta.get("help", ""),
                             meta.get("choices"), optional=f.default is None))
    return tuple(out)


# Every TrainConfig field, in the config's own order (recipe first: choosing one refills the rest).
FIELDS: tuple[FormField, ...] = _form_fields()
FIELD_NAMES = tuple(f.name for f in FIELDS)
# What the form starts with: a run that learns in minutes on a CPU (the recall recipe) on ForgetNet's thesis
# with a delta-rule memory. The CLI's default stays the original recipe; choosing `original` here gives it.
FORM_DEFAULT = recipe_config("recall", model="forgetnet_delta")
# Kept from the form when a recipe is chosen: they say what to train, not how.
KEPT_ON_RECIPE = ("model", "task", "suite", "seed", "device")


def check_form(values: dict[str, str]) -> tuple[TrainConfig | None, dict[str, str]]:
    """Parse and validate raw form strings: (config or None, {field: one-line message})."""
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    optional = {f.name for f in FIELDS if f.optional}
    for name, text in values.items():
        if not text.strip() and name not in optional:
            errors[name] = "required"
            continue
        try:
            parsed[name] = parse_field(name, text)
        except ValueError as exc:
            message = str(exc)
            errors[name] = message.split(": ", 1)[1] if message.startswith(f"{name}: ") else message
    defaults = TrainConfig()
    candidate = defaults.replace(**parsed)
    for error in candidate.validate():
        if error.field in parsed:  # a field that failed to parse keeps its parse message
            errors.setdefault(error.field, error.message)
    return (None if errors else candidate), errors


class ConfigForm(VerticalScroll):
    """A grid of label and field per setting; a field's problem appears under it as you type; Launch only when valid.

    Kept lean on purpose (no row containers, error lines mounted only while a
    field is invalid): Textual restyles every node of a screen when it is shown
    again, so fewer nodes make switching to the Runs screen faster.
    """

    HELP_WHERE = "in the form"
    HELP_KEYS = (
        ("enter", "the next field (a field's problem shows under it as you type)"),
        ("tab / shift+tab", "the next / previous field, then Launch"),
    )
    DEFAULT_CSS = """
    ConfigForm { height: 1fr; }
    ConfigForm #fields { grid-size: 2; grid-columns: 17 1fr; grid-rows: auto; height: auto; }
    ConfigForm .field-label { height: 1; color: $text-muted; }
    ConfigForm .field-label.-invalid { color: $error; text-style: bold; }
    ConfigForm .field-input { width: 1fr; height: 1; }
    ConfigForm .field-error { column-span: 2; color: $error; padding: 0 0 0 17; height: auto; }
    ConfigForm #launch-row { height: auto; margin: 1 0 0 0; }
    ConfigForm #launch { width: auto; min-width: 12; }
    ConfigForm #form-status { width: 1fr; padding: 1 0 0 1; color: $text-muted; }
    """

    def __init__(self, config: TrainConfig | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._initial = config or FORM_DEFAULT
        self._recipe_loaded: str | None = None  # the recipe a load() just set (its change event is not a choice)
        self.config: TrainConfig | None = self._initial
        self.errors: dict[str, str] = {}
        self._error_lines: dict[str, Static] = {}
        self._validated_once = False

    def compose(self) -> ComposeResult:
        initial = self._initial.to_dict()
        with Grid(id="fields"):
            for field in FIELDS:
                yield Label(field.label, classes="field-label", id=f"label-{field.name}")
                value = format_field(initial[field.name])
                if field.choices is not None:
                    widget = ChoiceField(field.choices, value, id=f"field-{field.name}", classes="field-input")
                else:
                    widget = Input(value, compact=True, id=f"field-{field.name}", classes="field-input")
                widget.tooltip = field.help
                yield widget
        with Horizontal(id="launch-row"):
            yield Button("Launch", id="launch", variant="success")
            yield Static("", id="form-status")

    def on_mount(self) -> None:
        self.revalidate()

    # ------------------------------------------------------------------ values

    def values(self) -> dict[str, str]:
        """The raw text of every field."""
        out: dict[str, str] = {}
        for field in FIELDS:
            widget = self.query_one(f"#field-{field.name}")
            out[field.name] = widget.value
        return out

    def load(self, config: TrainConfig) -> None:
        """Fill every field from `config` (e.g. to launch a variant of an earlier run)."""
        data = config.to_dict()
        recipe = self.query_one("#field-recipe", ChoiceField)
        if recipe.value != data["recipe"]:  # the change this makes is the config's, not a recipe being chosen
            self._recipe_loaded = data["recipe"]
        for field in FIELDS:
            widget = self.query_one(f"#field-{field.name}")
            value = format_field(data[field.name])
            if not isinstance(widget, ChoiceField) or value in widget.options:
                widget.value = value
        self.revalidate()

    def apply_recipe(self, name: str) -> None:
        """Refill every "how to train" field with recipe `name`, keeping what to train (model, task, ...)."""
        current = self.values()
        kept = {}
        for key in KEPT_ON_RECIPE:
            try:
                kept[key] = parse_field(key, current[key])
            except ValueError:
                pass
        try:
            config = recipe_config(name, **kept)
        except ValueError:
            return
        self.load(config)

    # ------------------------------------------------------------------ validation

    def revalidate(self) -> None:
        before = self.errors
        self.config, self.errors = check_form(self.values())
        grid = self.query_one("#fields", Grid)
        for field in FIELDS:
            message = self.errors.get(field.name)
            if message == before.get(field.name) and self._validated_once:
                continue  # only touch fields whose state changed: typing stays cheap
            self.query_one(f"#label-{field.name}").set_class(message is not None, "-invalid")
            line = self._error_lines.get(field.name)
            if message is None:
                if line is not None:
                    line.remove()
                    del self._error_lines[field.name]
            elif line is not None:
                line.update(f"↳ {message}")
            else:
                line = Static(f"↳ {message}", classes="field-error", id=f"error-{field.name}", markup=False)
                self._error_lines[field.name] = line
                grid.mount(line, after=self.query_one(f"#field-{field.name}"))
        self._validated_once = True
        self.query_one("#launch", Button).disabled = self.config is None
        status = self.query_one("#form-status", Static)
        if self.config is None:
            count = len(self.errors)
            status.update(f"fix {count} field{'s' if count != 1 else ''} to launch")
        else:
            status.update("ready")

    @on(Input.Changed)
    @on(ChoiceChanged)
    def _field_changed(self, event: Message) -> None:
        event.stop()
        widget = getattr(event, "control", None) or getattr(event, "choice", None)
        if isinstance(widget, ChoiceField) and widget.id == "field-recipe":
            loaded, self._recipe_loaded = self._recipe_loaded, None
            if event.value != loaded:  # chosen by the user: refill the how-to-train fields
                self.apply_recipe(event.value)
                return
        self.revalidate()

    @on(Input.Submitted)
    def _field_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.screen.focus_next()

    @on(Button.Pressed, "#launch")
    def _launch_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.request_launch()

    def request_launch(self) -> bool:
        """Post LaunchRequested if the form is valid; False (and a notice) otherwise."""
        self.revalidate()
        if self.config is None:
            first = next(iter(self.errors.items()))
            self.notify(f"Cannot launch: {first[0]}: {first[1]}", severity="error")
            return False
        self.post_message(LaunchRequested(self.config))
        return True
