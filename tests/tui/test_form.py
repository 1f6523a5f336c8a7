"""The config form: prefilled defaults, errors beside the field as you type, no launch while invalid, no crash on any input."""

from __future__ import annotations

import random
import string
from pathlib import Path

from textual.widgets import Button, Input

from forgetnet_core.config import RECIPES, TrainConfig, field_names, format_field
from forgetnet_tui.widgets.choice import ChoiceField
from forgetnet_tui.widgets.config_form import FIELDS, ConfigForm, check_form

from .helpers import wait_for


class RecordingLauncher:
    """Accepts launches without training anything."""

    def __init__(self) -> None:
        self.launched: list[TrainConfig] = []

    def launch(self, config: TrainConfig, runs_dir: Path) -> Path:
        self.launched.append(config)
        run = runs_dir / f"fake-{len(self.launched)}"
        run.mkdir()
        return run

    def resume(self, run_dir: Path) -> Path:
        return run_dir

    def stop(self, run_dir: Path) -> bool:
        return False


def test_the_form_covers_every_training_setting():
    assert {f.name for f in FIELDS} == set(field_names())


def test_check_form_messages():
    defaults = {k: format_field(v) for k, v in TrainConfig().to_dict().items()}
    assert check_form(defaults) == (TrainConfig(), {})
    assert check_form({**defaults, "conv": ""})[0].conv is None  # blank = auto for optional settings
    assert check_form({**defaults, "conv": "3"})[0].conv == 3
    assert check_form({**defaults, "conv": "three"})[1] == {"conv": "expected an integer or auto, got 'three'"}
    config, errors = check_form({**defaults, "steps": "ten", "seq_len": "8", "lr": "-1", "batch_size": ""})
    assert config is None
    assert errors == {
        "steps": "expected an integer, got 'ten'",
        "seq_len": "must be at least 14, got 8",
        "lr": "must be a positive number, got -1.0",
        "batch_size": "required",
    }
    _, errors = check_form({**defaults, "task": "length_extrapolation", "seq_len": "200"})
    assert "exceeds max_seq_len 512" in errors["seq_len"]
    _, errors = check_form({**defaults, "lr": "nan", "aux_weight": "inf", "steps": "1e3"})
    assert set(errors) == {"lr", "aux_weight", "steps"}


async def test_typing_bad_values_shows_errors_and_blocks_launch(make_app):
    launcher = RecordingLauncher()
    app = make_app(launcher=launcher)
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.query_one(ConfigForm)
        # the form starts on a run that learns: the recall recipe on forgetnet_delta
        assert form.values()["recipe"] == "recall" and form.values()["model"] == "forgetnet_delta"
        assert form.values()["steps"] == format_field(RECIPES["recall"]["steps"])
        launch = form.query_one("#launch", Button)
        assert not launch.disabled

        steps = form.query_one("#field-steps", Input)
        steps.focus()
        await pilot.press("end", "x")  # "500x"
        await pilot.pause()
        error = form.query_one("#error-steps")
        assert "expected an integer" in str(error.render())
        assert launch.disabled and "fix 1 field" in str(form.query_one("#form-status").render())

        seq = form.query_one("#field-seq_len", Input)
        seq.focus()
        await pilot.press("backspace", "backspace", "9")  # "9"
        await pilot.pause()
        assert "at least 14" in str(form.query_one("#error-seq_len").render())

        await pilot.press("escape", "l")  # l launches from the table: refused while invalid
        await pilot.pause()
        form.scroll_to_widget(launch, animate=False)  # the whole error lines push it down
        await pilot.pause()
        await pilot.click("#launch")
        await pilot.pause()
        assert launcher.launched == []

        steps.value = "20"
        seq.value = "16"
        await pilot.pause()
        assert not form.query("#error-steps") and not form.query("#error-seq_len")
        assert not launch.disabled
        launch.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: launcher.launched, what="the launch (in a worker)")
        assert [(c.steps, c.seq_len) for c in launcher.launched] == [(20, 16)]


async def test_choice_fields_step_jump_and_validate(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.query_one(ConfigForm)
        model = form.query_one("#field-model", ChoiceField)
        model.value = "forgetnet"
        model.focus()
        await pilot.press("right")
        assert model.value == "no_forget"
        await pilot.press("t")  # a letter jumps to the next option starting with it
        assert model.value == "tiny_transformer"
        await pilot.press("x")  # no option starts with x: nothing happens, and x does not stop a run
        assert model.value == "tiny_transformer"
        form.query_one("#field-d_model", Input).value = "30"  # transformer heads need d_model % 4 == 0
        await pilot.pause()
        assert "divisible by 4" in str(form.query_one("#error-d_model").render())
        model.focus()
        await pilot.press("enter")  # the full list
        await pilot.press("home", "enter")
        assert model.value == "forgetnet"
        await pilot.pause()
        assert not form.query("#error-d_model")


async def test_no_input_crashes_the_form(make_app):
    rng = random.Random(0)
    alphabet = string.printable + "éλ∞-+.eE"
    app = make_app(launcher=RecordingLauncher())
    async with app.run_test(size=(80, 24)) as pilot:
        form = app.screen.query_one(ConfigForm)
        inputs = list(form.query(Input))
        for _ in range(150):
            field = rng.choice(inputs)
            field.value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for value in ("-0", "1e309", "9" * 400, "0x10", " 12 ", "nan", "-inf"):
            for field in inputs:
                field.value = value
        await pilot.pause()
        form.request_launch()  # refused with a notice, never an exception
        await pilot.pause()
        assert app.is_running


async def test_choosing_a_recipe_refills_how_to_train_and_keeps_what_to_train(make_app):
    app = make_app(launcher=RecordingLauncher())
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.query_one(ConfigForm)
        form.query_one("#field-model", ChoiceField).value = "gated_delta_net"
        form.query_one("#field-seed", Input).value = "7"
        form.query_one("#field-steps", Input).value = "123"
        await pilot.pause()
        recipe = form.query_one("#field-recipe", ChoiceField)
        recipe.focus()
        await pilot.press("right")  # recall (the form's start) -> original: the seed's defaults
        await pilot.pause()
        values = form.values()
        assert values["recipe"] == "original" and values["model"] == "gated_delta_net" and values["seed"] == "7"
        assert (values["steps"], values["lr"], values["batch_size"]) == ("500", "0.0003", "32")
        form.query_one("#field-steps", Input).value = "123"
        await pilot.pause()
        await pilot.press("right")  # original -> recall
        await pilot.pause()
        values = form.values()
        assert values["recipe"] == "recall" and values["model"] == "gated_delta_net" and values["seed"] == "7"
        for name, value in RECIPES["recall"].items():
            assert values[name] == format_field(value), name  # steps 123 was the old recipe's: replaced
        assert form.config is not None and form.config.recall_loss_weight == RECIPES["recall"]["recall_loss_weight"]
        form.query_one("#field-lr", Input).value = "0.001"  # an explicit change on top of the recipe stays
        await pilot.pause()
        assert form.config.lr == 0.001 and form.config.recipe == "recall"


async def test_loading_a_config_keeps_its_values_whatever_its_recipe(make_app):
    """Copying a run's config into the form (c) must not be undone by the recipe field's own change."""
    app = make_app(launcher=RecordingLauncher())
    async with app.run_test(size=(120, 40)) as pilot:
        form = app.screen.query_one(ConfigForm)
        form.load(TrainConfig(model="no_forget", steps=77, lr=0.005))  # recipe original, the form started on recall
        await pilot.pause()
        await pilot.pause()
        assert form.config is not None and (form.config.recipe, form.config.steps, form.config.lr) == ("original", 77, 0.005)
