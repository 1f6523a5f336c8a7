"""Helpers for the TUI tests: a tiny config, hand-written run directories, and waiting on the app."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

from forgetnet_core.config import TrainConfig

# A config small enough to train a step in a few milliseconds on one CPU thread.
TINY = TrainConfig(
    model="forgetnet",
    steps=20,
    batch_size=4,
    seq_len=16,
    d_model=16,
    memory_slots=4,
    window=4,
    max_seq_len=64,
    eval_every=10,
    eval_batches=1,
    checkpoint_every=10,
)


def write_run(
    root: Path,
    name: str = "forgetnet-changing_facts-20260101-000000",
    state: str = "finished",
    pid: int | None = None,
    steps: int = 10,
    records: list[dict[str, Any]] | None = None,
    raw_tail: str = "",
    error: str | None = None,
    config: TrainConfig | None = None,
) -> Path:
    """A run directory as the trainer writes it: config.json, status.json, metrics.jsonl."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    config = config or TINY.replace(steps=steps)
    (run / "config.json").write_text(json.dumps(config.to_dict()))
    if records is None:
        records = train_records(steps)
    last_step = max([r["step"] for r in records], default=0)
    now = time.time()
    status = {
        "state": state,
        "pid": pid if pid is not None else os.getpid(),
        "step": last_step,
        "total_steps": config.steps,
        "started": now - 5,
        "updated": now,
        "error": error,
        "device": "cpu",
    }
    (run / "status.json").write_text(json.dumps(status))
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records) + raw_tail)
    return run


def train_records(steps: int, start: int = 1) -> list[dict[str, Any]]:
    out = []
    for step in range(start, steps + 1):
        out.append(
            {
                "kind": "train",
                "step": step,
                "loss": 4.0 / step,
                "answer_loss": 3.5 / step,
                "aux_loss": 5.0 / step,
                "accuracy": min(1.0, step / 20),
                "write_strength": 0.3,
                "write_frequency": 0.5,
                "surprise": 0.8,
                "steps_per_sec": 10.0,
                "elapsed": step / 10.0,
            }
        )
        if step % 5 == 0:
            out.append({"kind": "eval", "step": step, "eval_loss": 3.0 / step, "eval_accuracy": min(1.0, step / 25)})
    return out


async def wait_for(pilot, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until predicate() holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


