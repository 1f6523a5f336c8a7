"""Recipes, the position-offset policy, task knobs in configs and sweeps: what a run is trained with."""

from __future__ import annotations

import json

import pytest

from forgetnet_core import cli, runs
from forgetnet_core.config import (
    RECIPES,
    ConfigError,
    TaskKnobs,
    TrainConfig,
    recipe_config,
)
from forgetnet_core.sweep import create_sweep, read_manifest
from forgetnet_core.train import train_batch


def test_original_recipe_is_the_seeds_defaults():
    config = recipe_config("original")
    assert config == TrainConfig()
    assert (config.lr, config.batch_size, config.warmup_steps, config.lr_decay) == (3e-4, 32, 0, "none")
    assert (config.recall_loss_weight, config.conv, config.aux_weight) == (0.0, None, 0.1)


def test_recall_recipe_and_overrides():
    config = recipe_config("recall")
    assert config.recipe == "recall"
    for name, value in RECIPES["recall"].items():
        assert getattr(config, name) == value
    assert config.recall_loss_weight > 0 and config.conv == 4 and config.lr_decay == "cosine"
    assert recipe_config("recall", lr=1e-3).lr == 1e-3
    with pytest.raises(ValueError, match="unknown recipe"):
        recipe_config("fast")


def test_cli_recipe_lands_in_config_json_and_flags_override_it(tmp_path, capsys):
    code = cli.main(["train", "--recipe", "recall", "--lr", "1e-3", "--steps", "2", "--batch-size", "4",
                     "--seq-len", "20", "--d-model", "16", "--eval-batches", "1", "--device", "cpu",
                     "--model", "delta_net", "--output-dir", str(tmp_path), "--quiet"])
    assert code == 0, capsys.readouterr().err
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    saved = json.loads((run_dir / runs.CONFIG_FILE).read_text())
    assert saved["recipe"] == "recall" and saved["lr"] == 1e-3 and saved["steps"] == 2 and saved["batch_size"] == 4
    assert saved["recall_loss_weight"] == RECIPES["recall"]["recall_loss_weight"]  # from the recipe
    assert saved["warmup_steps"] == RECIPES["recall"]["warmup_steps"] and saved["conv"] == 4
    records, _ = runs.read_metrics(run_dir)
    train_lines = [r for r in records if r["kind"] == "train"]
    assert all(r["recall_loss"] is not None for r in train_lines)  # the dense loss is on, and logged


def test_conv_auto_on_the_command_line_restores_the_models_default(tmp_path, capsys):
    args = cli.build_parser().parse_args(["train", "--recipe", "recall", "--conv", "auto"])
    assert cli._train_config(args).conv is None
    args = cli.build_parser().parse_args(["train", "--conv", "3"])
    assert cli._train_config(args).conv == 3


@pytest.mark.parametrize("task,policy,moves", [
    ("associative_lookup", "auto", False),
    ("changing_facts", "auto", False),
    ("length_extrapolation", "auto", True),
    ("changing_facts", "random", True),
    ("length_extrapolation", "none", False),
])
def test_position_offset_policy(task, policy, moves):
    config = TrainConfig(task=task, position_offsets=policy, seq_len=32)
    offsets = {train_batch(config, i)[1] for i in range(40)}
    assert (offsets != {0}) is moves
    assert max(offsets) <= config.max_seq_len - config.seq_len
    assert {train_batch(config.replace(suite="v1"), i)[1] for i in range(5)} == {0}  # v1: the original had none


def test_run_files_from_before_the_policy_keep_their_offsets():
    legacy = TrainConfig.from_dict({"model": "forgetnet", "task": "changing_facts", "suite": "v2"})
    assert legacy.position_offsets == "random" and legacy.recipe == "original"
    assert TrainConfig.from_dict(TrainConfig().to_dict()) == TrainConfig()


def test_knobs_in_a_training_config_are_checked_for_its_task():
    assert TrainConfig(task="changing_facts", overwrites=2, records=10).check()
    assert TrainConfig(task="changing_facts", records=10).knobs == TaskKnobs(records=10)
    with pytest.raises(ConfigError, match="overwrites: does not apply to associative_lookup"):
        TrainConfig(task="associative_lookup", overwrites=2).check()
    with pytest.raises(ConfigError, match="records"):
        TrainConfig(records=40).check()
    with pytest.raises(ConfigError, match="suite v2"):
        TrainConfig(suite="v1", keys=5).check()


def test_training_batches_follow_the_knobs():
    config = TrainConfig(task="associative_lookup", records=5, keys=3, seq_len=40)
    batch, _ = train_batch(config, 0)
    for row in batch.input_ids.tolist():
        keys = {t for t in row if 10 <= t < 34}
        assert len(keys) <= 3 and sum(1 for t in row if t == 1) == 5  # 5 records end in SEP


def test_sweep_over_a_knob_makes_one_cell_per_value(tmp_path, capsys):
    base = TrainConfig(steps=1, seq_len=32, batch_size=2, d_model=16, eval_batches=1, device="cpu")
    folder = create_sweep(tmp_path, base, ["delta_net"], ["associative_lookup"], [1, 2], "knob",
                          knobs={"records": [4, 8]})
    manifest = read_manifest(folder)
    assert [c["run"] for c in manifest["cells"]] == [
        "delta_net-associative_lookup-records4-s1", "delta_net-associative_lookup-records4-s2",
        "delta_net-associative_lookup-records8-s1", "delta_net-associative_lookup-records8-s2",
    ]
    assert manifest["knobs"] == {"records": [4, 8]}
    config = json.loads((folder / "delta_net-associative_lookup-records8-s2" / runs.CONFIG_FILE).read_text())
    assert config["records"] == 8 and config["seed"] == 2
    # the CLI parses comma lists into the same grid, and refuses a bad value in one line
    code = cli.main(["sweep", "--models", "delta_net", "--tasks", "associative_lookup", "--records", "4,x"])
    assert code == 2 and "expected an integer" in capsys.readouterr().err
