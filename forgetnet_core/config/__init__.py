"""Every setting in one torch-free place: names, training configs and recipes, task knobs, evaluation settings, model sizes.

Each setting's help text lives once, in its dataclass field's metadata
(`help_of(TrainConfig, "lr")`); the form, the CLI flags and the docs read it
from there. Submodules: names (registry names, constants, errors, the length
rule), knobs (TaskKnobs), training (TrainConfig, RECIPES), evaluation
(EvalSettings), model (ModelConfig). Nothing here imports torch.
"""

from .evaluation import (
    DEFAULT_EVAL_SEED,
    DEFAULT_MAX_SEQ_LEN,
    MAX_EXAMPLES,
    SETTING_FIELDS,
    EvalSettings,
    parse_settings,
)
from .knobs import DEFAULT_MIN_DISTANCE, KNOB_TASKS, TaskKnobs
from .model import ModelConfig
from .names import (
    ABLATIONS,
    AUTO,
    DELTA_MODELS,
    DEVICE_NAMES,
    EXTRAPOLATION_FACTOR,
    MEMORY_MODELS,
    MIN_SEQ_LEN,
    MODEL_NAMES,
    NUM_KEYS,
    NUM_VALUES,
    ORIGINAL_MODELS,
    POSITION_OFFSETS,
    RECIPE_NAMES,
    SLOT_MODELS,
    SUITE_NAMES,
    TASK_NAMES,
    TRANSFORMER_MODELS,
    ConfigError,
    FieldError,
    fields_by_name,
    help_meta,
    help_of,
    length_errors,
    recency_limit,
    record_slots,
)
from .training import (
    RECIPES,
    TrainConfig,
    field_names,
    format_field,
    load_config,
    parse_field,
    recipe_config,
)

__all__ = [
    "ABLATIONS",
    "AUTO",
    "ConfigError",
    "DEFAULT_EVAL_SEED",
    "DEFAULT_MAX_SEQ_LEN",
    "DEFAULT_MIN_DISTANCE",
    "DELTA_MODELS",
    "DEVICE_NAMES",
    "EXTRAPOLATION_FACTOR",
    "EvalSettings",
    "FieldError",
    "KNOB_TASKS",
    "MAX_EXAMPLES",
    "MEMORY_MODELS",
    "MIN_SEQ_LEN",
    "MODEL_NAMES",
    "ModelConfig",
    "NUM_KEYS",
    "NUM_VALUES",
    "ORIGINAL_MODELS",
    "POSITION_OFFSETS",
    "RECIPES",
    "RECIPE_NAMES",
    "SETTING_FIELDS",
    "SLOT_MODELS",
    "SUITE_NAMES",
    "TASK_NAMES",
    "TRANSFORMER_MODELS",
    "TaskKnobs",
    "TrainConfig",
    "field_names",
    "fields_by_name",
    "format_field",
    "help_meta",
    "help_of",
    "length_errors",
    "load_config",
    "parse_field",
    "parse_settings",
    "recency_limit",
    "recipe_config",
    "record_slots",
]
