"""Evaluation: held-out accuracy with 95% intervals, stale-answer rate and memory statistics, per task."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from . import runs
from .config import TASK_NAMES, TaskKnobs
from .models import parameter_count
from .stats import wilson_interval
from .tasks import batch_seed, eval_seq_len, make_batch

DEFAULT_EVAL_SEED = 123  # the original's evaluation seed
ProgressCallback = Callable[[int, int], None]


class EvaluationCancelled(Exception):
    """The stop event was set mid-evaluation; nothing partial was returned."""


@torch.no_grad()
def evaluate_batches(model: torch.nn.Module, batches: Iterable[Any], device: torch.device | str = "cpu") -> dict[str, Any]:
    """Score `model` on ready-made batches: accuracy at the last position, loss, stale rate, memory stats."""
    model.eval()
    correct = examples = stale_hits = stale_examples = 0
    loss_sum = 0.0
    stat_sums: dict[str, float] = {}
    n_batches = 0
    for batch in batches:
        ids = batch.input_ids.to(device)
        labels = batch.labels.to(device)
        out = model(ids)
        answer = out.answer_logits[:, -1]
        loss_sum += float(F.cross_entropy(answer, labels, reduction="sum"))
        pred = answer.argmax(-1)
        correct += int((pred == labels).sum())
        examples += int(labels.numel())
        for i, meta in enumerate(batch.meta):
            if meta.stale_values:
                stale_examples += 1
                stale_hits += int(int(pred[i]) in meta.stale_values)
        for key, value in out.stats.items():
            stat_sums[key] = stat_sums.get(key, 0.0) + float(value)
        n_batches += 1
    low, high = wilson_interval(correct, examples)
    result: dict[str, Any] = {
        "accuracy": correct / examples if examples else 0.0,
        "correct": correct,
        "examples": examples,
        "ci_low": low,
        "ci_high": high,
        "loss": loss_sum / examples if examples else float("nan"),
        "stale_rate": stale_hits / stale_examples if stale_examples else None,
    }
    for key in ("write_strength", "write_frequency", "erase_strength", "surprise"):
        result[key] = stat_sums[key] / n_batches if key in stat_sums and n_batches else None
    return result


def eval_length(task: str, seq_len: int, suite: str = "v2", extrapolation_len: int | None = None) -> int:
    """Sequence length a task is scored at: `extrapolation_len` (default 3 x seq_len) for length_extrapolation."""
    if task == "length_extrapolation" and extrapolation_len is not None:
        eval_seq_len(task, seq_len, suite)  # same unknown-task/suite errors as the default path
        return int(extrapolation_len)
    return eval_seq_len(task, seq_len, suite)


def batch_sizes(examples: int, batch_size: int) -> list[int]:
    """Split `examples` into batches of `batch_size`, the last one smaller: 160, 32 -> [32] * 5; 50, 32 -> [32, 18]."""
    if examples <= 0 or batch_size <= 0:
        raise ValueError(f"examples and batch_size must be positive, got {examples} and {batch_size}")
    full, rest = divmod(examples, batch_size)
    return [batch_size] * full + ([rest] if rest else [])


def eval_batches_for(
    task: str,
    suite: str,
    batches: int,
    batch_size: int,
    seq_len: int,
    seed: int,
    extrapolation_len: int | None = None,
    examples: int | None = None,
    knobs: TaskKnobs | None = None,
) -> list[Any]:
    """The evaluation set for one task: batch i is drawn from the eval stream of `seed` at index i.

    `examples`, when given, replaces `batches` x `batch_size` (the last batch
    holds the remainder), so 160 examples in batches of 32 are exactly the
    original's 5 batches of 32. `knobs` set the task's difficulty (default: the task as defined).
    """
    length = eval_length(task, seq_len, suite, extrapolation_len)
    sizes = batch_sizes(examples, batch_size) if examples is not None else [batch_size] * batches
    return [
        make_batch(task, batch_seed(suite, "eval", seed, i), length, size, suite, knobs=knobs)
        for i, size in enumerate(sizes)
    ]


def resolve_tasks(spec: str | Iterable[str]) -> list[str]:
    """'all', one name, or a comma list -> task names; ValueError naming the unknown one."""
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    if names == ["all"]:
        return list(TASK_NAMES)
    for name in names:
        if name not in TASK_NAMES:
            raise ValueError(f"unknown task '{name}' (choose from all, {', '.join(TASK_NAMES)})")
    return names


def evaluate_model(
    model: torch.nn.Module,
    tasks: Iterable[str] = TASK_NAMES,
    suite: str = "v2",
    batches: int = 5,
    batch_size: int = 32,
    seq_len: int = 64,
    seed: int = DEFAULT_EVAL_SEED,
    device: torch.device | str = "cpu",
    stop: threading.Event | None = None,
    on_progress: ProgressCallback | None = None,
    *,
    extrapolation_len: int | None = None,
    examples: int | None = None,
    knobs: TaskKnobs | None = None,
) -> dict[str, dict[str, Any]]:
    """Evaluate one model on each task; {task: result}.

    `on_progress(done, total)` counts batches over all tasks (so a progress bar
    moves within a task). `stop` is checked before every batch; when it is set
    the evaluation raises EvaluationCancelled and returns nothing partial.
    `extrapolation_len` overrides the 3 x seq_len length of
    length_extrapolation; `examples` overrides `batches` x `batch_size`;
    `knobs` dial every task's difficulty where it applies (records, keys, ...).
    A length longer than the model's max_seq_len, or knobs a task cannot
    satisfy at its length, is a ValueError up front.
    """
    tasks = list(tasks)
    lengths = {task: eval_length(task, seq_len, suite, extrapolation_len) for task in tasks}
    limit = getattr(getattr(model, "config", None), "max_seq_len", None)
    for task, length in lengths.items():
        if limit is not None and length > limit:
            raise ValueError(f"{task} is evaluated at length {length}, beyond this model's max_seq_len {limit}")
        if knobs is not None:
            problems = knobs.validate(task, length, suite)
            if problems:
                raise ValueError(f"{task} at length {length}: {problems[0]}")
    sizes = batch_sizes(examples, batch_size) if examples is not None else [batch_size] * batches
    total = len(sizes) * len(tasks)
    results: dict[str, dict[str, Any]] = {}
    params = parameter_count(model)
    done = 0

    def ticking(data: list[Any]) -> Iterable[Any]:
        nonlocal done
        for batch in data:
            if stop is not None and stop.is_set():
                raise EvaluationCancelled()
            yield batch
            done += 1
            if on_progress is not None:
                on_progress(done, total)

    for task in tasks:
        if stop is not None and stop.is_set():
            raise EvaluationCancelled()
        started = time.perf_counter()
        data = eval_batches_for(task, suite, batches, batch_size, seq_len, seed, extrapolation_len, examples, knobs)
        result = evaluate_batches(model, ticking(data), device)
        result.update(
            knobs=knobs.changed() if knobs is not None else {},
            seq_len=lengths[task],
            suite=suite,
            seed=seed,
            parameter_count=params,
            wall_time_seconds=time.perf_counter() - started,
        )
        results[task] = result
    return results


def write_eval_run(
    runs_dir: str | Path,
    results: dict[str, dict[str, Any]],
    *,
    model_name: str,
    parameter_count_: int,
    device: str,
    wall_time: float,
    config: dict[str, Any],
    checkpoint: str | None,
) -> Path:
    """runs/eval-<timestamp>/metrics.json in the original layout (kind, model, tasks.<task>.accuracy ...)."""
    out = runs.unique_dir(runs_dir, f"eval-{datetime.now():%Y%m%d-%H%M%S}")
    runs.write_json_atomic(
        out / runs.METRICS_JSON,
        {
            "kind": "eval",
            "model": model_name,
            "checkpoint": checkpoint,
            "parameter_count": parameter_count_,
            "device": device,
            "wall_time_seconds": wall_time,
            "config": config,
            "tasks": results,
        },
    )
    return out


