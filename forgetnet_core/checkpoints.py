"""The checkpoints that ship in the package (the stepper's bundled models), found by model and task."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

ASSETS = Path(__file__).resolve().parent / "assets"
# The stepper's bundled models, its default first: a delta-rule model that solves changing_facts, and the
# best slot-memory (ForgetNet) checkpoint we have, for contrast. scripts/train_stepper_checkpoint.py makes them.
BUNDLED_MODELS = ("gated_delta_net", "forgetnet")
BUNDLED_TASK = "changing_facts"


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


__all__ = ["ASSETS", "BUNDLED_MODELS", "BUNDLED_TASK", "Bundled", "bundled_at", "bundled_checkpoints", "bundled_path", "default_bundled"]
