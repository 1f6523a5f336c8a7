"""Every way a model is obtained: from a run's checkpoint, from a checkpoint that ships in the package, or fresh.

- load_model(path) rebuilds the model a checkpoint was trained as and loads its weights
  (one-line CheckpointError when the file is not a checkpoint or does not fit).
- fresh_model(name, seed) is an untrained model, seeded so a "fresh" row is reproducible.
- Bundled checkpoints: the stepper's default (a gated_delta_net that solves changing_facts) and a
  ForgetNet for contrast, made by scripts/train_stepper_checkpoint.py.
- ModelSource says where a model comes from (checkpoint, bundled, fresh) and loads it; the stepper, the
  demo and the model pickers list and load models through it.

Importing this module imports no torch (the TUI lists sources on its UI thread); loading does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from .config import MODEL_NAMES
from .errors import one_line

ASSETS = Path(__file__).resolve().parent / "assets"
# The stepper's bundled models, its default first: a delta-rule model that solves changing_facts, and the
# best slot-memory (ForgetNet) checkpoint we have, for contrast. scripts/train_stepper_checkpoint.py makes them.
BUNDLED_MODELS = ("gated_delta_net", "forgetnet")
BUNDLED_TASK = "changing_facts"
# The ModelConfig fields a run's config sets (what a checkpoint's model is rebuilt with).
MODEL_FIELDS = ("d_model", "memory_slots", "window", "max_seq_len", "conv")


# --------------------------------------------------------------------------- loading


def load_model(checkpoint: str | Path, device: Any = "cpu") -> tuple[Any, dict[str, Any]]:
    """(model in eval mode on `device`, the checkpoint dict); CheckpointError (one line) if it cannot be used."""
    from . import runs
    from .models import build_model

    data = runs.load_checkpoint(checkpoint, map_location="cpu")
    cfg = data["config"]
    name = cfg.get("model")
    if name not in MODEL_NAMES:
        raise runs.CheckpointError(f"checkpoint names an unknown model '{name}': {checkpoint}")
    overrides = {k: cfg[k] for k in MODEL_FIELDS if cfg.get(k) is not None}
    try:
        model = build_model(name, **overrides)
        model.load_state_dict(data["model_state"])
    except (RuntimeError, ValueError, TypeError) as exc:
        raise runs.CheckpointError(f"checkpoint does not fit model '{name}': {one_line(exc, 200)}") from None
    return model.to(device).eval(), data


def fresh_model(name: str, seed: int = 0, **overrides: Any) -> Any:
    """An untrained model of a registry name, seeded so a "fresh" row is reproducible."""
    import torch

    from .models import build_model

    torch.manual_seed(seed)
    return build_model(name, **overrides).eval()


def load_or_fresh(checkpoint: str | Path | None, model_name: str | None, device: Any = "cpu",
                  default: str = "forgetnet") -> tuple[Any, dict[str, Any], Optional[str]]:
    """(model, its config, checkpoint path or None): the checkpoint's model, which `model_name` (when given) must
    name (ValueError otherwise), else a fresh `model_name` (or `default`)."""
    if checkpoint:
        model, data = load_model(checkpoint, device)
        trained = data["config"]["model"]
        if model_name is not None and model_name != trained:
            raise ValueError(f"--model {model_name} does not match the checkpoint's model {trained} "
                             f"(leave --model out to evaluate it as {trained}): {checkpoint}")
        return model, data["config"], str(checkpoint)
    name = model_name or default
    return fresh_model(name).to(device), {"model": name}, None


# --------------------------------------------------------------------------- bundled checkpoints


@dataclass(frozen=True)
class Bundled:
    """A shipped checkpoint."""

    model: str  # registry name
    task: str  # what it was trained on
    path: Path

    @property
    def label(self) -> str:
        return f"{self.model} · bundled checkpoint ({self.task} v2)"


def bundled_path(model: str, task: str = BUNDLED_TASK) -> Path:
    """Where the bundled checkpoint of `model` on `task` lives (whether or not it exists)."""
    return ASSETS / f"stepper_{model}_{task}.pt"


def bundled_checkpoints() -> list[Bundled]:
    """The bundled checkpoints present in this installation, the stepper's default first."""
    found = [Bundled(m, BUNDLED_TASK, bundled_path(m)) for m in BUNDLED_MODELS]
    return [b for b in found if b.path.exists()]


def default_bundled() -> Optional[Bundled]:
    """The stepper's default model: the first bundled checkpoint present."""
    found = bundled_checkpoints()
    return found[0] if found else None


def bundled_at(path: str | Path) -> Optional[Bundled]:
    """The bundled checkpoint stored at `path`, if it is one."""
    resolved = Path(path).resolve()
    return next((b for b in bundled_checkpoints() if b.path.resolve() == resolved), None)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: a run's checkpoint, a bundled checkpoint, or a fresh (untrained) model."""

    kind: str  # checkpoint | bundled | fresh
    model: str  # registry name ("?" when a run's config is unreadable)
    path: Optional[str] = None  # the checkpoint file (checkpoint, bundled)
    label: str = ""  # one line for lists and titles

    def load(self, device: Any = "cpu") -> tuple[Any, str]:
        """(model in eval mode, label); CheckpointError for a bad checkpoint."""
        if self.kind == "fresh":
            return fresh_model(self.model).to(device), self.label
        model, _ = load_model(self.path, device)
        return model, self.label


def bundled_sources() -> list[ModelSource]:
    """The checkpoints that ship in the package (the stepper's default first)."""
    return [ModelSource("bundled", b.model, str(b.path), b.label) for b in bundled_checkpoints()]


def bundled_source() -> Optional[ModelSource]:
    """The stepper's default bundled checkpoint, when present."""
    found = bundled_sources()
    return found[0] if found else None


def fresh_source(name: str) -> ModelSource:
    return ModelSource("fresh", name, None, f"{name} · fresh, untrained")


def checkpoint_source(path: str | Path) -> ModelSource:
    """A checkpoint file (or run directory); model and task from the run's config.json, else from the checkpoint itself."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    bundled = bundled_at(path)
    if bundled is not None:
        return ModelSource("bundled", bundled.model, str(path), bundled.label)
    model, task = "?", "?"
    try:
        cfg = json.loads((path.parent / "config.json").read_text())
        model, task = str(cfg.get("model", "?")), str(cfg.get("task", "?"))
    except (OSError, ValueError, AttributeError):
        try:  # a checkpoint outside a run directory: its own config names the model and task
            from .runs import load_checkpoint

            cfg = load_checkpoint(path).get("config") or {}
            model, task = str(cfg.get("model", "?")), str(cfg.get("task", "?"))
        except Exception:  # noqa: BLE001 - a broken file: whoever loads it says so
            pass
    run = path.parent.name if path.name == "checkpoint.pt" else path.name
    return ModelSource("checkpoint", model, str(path), f"{model} · {task} · {run}")


def model_sources(run_dirs: Iterable[str | Path]) -> list[ModelSource]:
    """Every model there is to show: the checkpoints of `run_dirs` (listing.RunLister gives them, newest first),
    then the bundled ones, then the fresh models."""
    return [checkpoint_source(d) for d in run_dirs] + bundled_sources() + [fresh_source(name) for name in MODEL_NAMES]


def default_source(checkpoint: str | None = None) -> ModelSource:
    """The given checkpoint, else the default bundled one, else a fresh gated_delta_net."""
    if checkpoint:
        return checkpoint_source(checkpoint)
    return bundled_source() or fresh_source("gated_delta_net")


def model_source(checkpoint: str | None, model_name: str | None) -> ModelSource:
    """The checkpoint, else `model_name`'s bundled checkpoint, else a fresh `model_name`; neither: the default."""
    if checkpoint:
        return checkpoint_source(checkpoint)
    if model_name is None:
        return default_source()
    return next((s for s in bundled_sources() if s.model == model_name), None) or fresh_source(model_name)


__all__ = [
    "ASSETS",
    "BUNDLED_MODELS",
    "BUNDLED_TASK",
    "Bundled",
    "MODEL_FIELDS",
    "ModelSource",
    "bundled_at",
    "bundled_checkpoints",
    "bundled_path",
    "bundled_source",
    "bundled_sources",
    "checkpoint_source",
    "default_bundled",
    "default_source",
    "fresh_model",
    "fresh_source",
    "model_sources",
    "load_model",
    "load_or_fresh",
    "model_source",
]
