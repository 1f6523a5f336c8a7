"""train(config, on_event=..., stop=...): the training loop that writes a run directory anyone can read."""

from __future__ import annotations

import math
import os
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F

from . import runs
from .config import TrainConfig
from .device import resolve_device, use_threads
from .errors import one_line
from .evaluate import evaluate_batches
from .launch import SignalStop, launch_detached, resume_detached  # noqa: F401  (re-exported)
from .models import build_model, parameter_count
from .tasks import (
    IGNORE,
    batch_seed,
    eval_seq_len,
    make_batch,
    recall_targets,
    train_position_offset,
)

EventCallback = Callable[[dict[str, Any]], None]


class TrainingFailed(RuntimeError):
    """The run ended in state `failed` (e.g. a non-finite loss); str() names the step."""


class ResumeRefused(ValueError):
    """A resume with nothing to do (the run finished at its total) or a total below the checkpoint's step.

    Raised before anything in the run directory is touched; str() is one line.
    """


def lr_at(config: TrainConfig, step: int) -> float:
    """Learning rate for 1-based `step`: linear warmup, then constant or cosine decay to 10%."""
    if config.warmup_steps and step <= config.warmup_steps:
        return config.lr * step / config.warmup_steps
    if config.lr_decay == "cosine":
        span = max(1, config.steps - config.warmup_steps)
        progress = min(1.0, (step - config.warmup_steps) / span)
        return config.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))
    return config.lr


def heldout_batches(config: TrainConfig, device: torch.device) -> list[Any]:
    """The fixed held-out set a run is scored on while it trains (the eval stream, never the train stream)."""
    length = eval_seq_len(config.task, config.seq_len, config.suite)
    batches = []
    for index in range(config.eval_batches):
        seed = batch_seed(config.suite, "eval", config.seed, index)
        batches.append(make_batch(config.task, seed, length, config.batch_size, config.suite, knobs=config.knobs))
    return batches


def train_batch(config: TrainConfig, index: int) -> tuple[Any, int]:
    """Training step `index` (0-based): its batch from the training stream and its position offset."""
    batch = make_batch(
        config.task, batch_seed(config.suite, "train", config.seed, index), config.seq_len, config.batch_size,
        config.suite, knobs=config.knobs,
    )
    offset = 0
    if config.uses_position_offsets():
        offset = train_position_offset(config.suite, config.seed, index, config.seq_len, config.max_seq_len)
    return batch, offset


@dataclass
class StepLoss:
    """The losses of one batch; `loss` is what is minimised."""

    loss: torch.Tensor  # answer + aux_weight * aux + recall_weight * recall
    answer: torch.Tensor  # cross-entropy of the answer at the last position
    aux: torch.Tensor  # next-token cross-entropy over the sequence (trains the surprise head)
    recall: torch.Tensor | None  # the dense lookup loss (None when its weight is 0)
    accuracy: torch.Tensor  # answer accuracy on this batch
    output: Any  # the model's ModelOutput


def compute_loss(
    model: torch.nn.Module,
    batch: Any,
    aux_weight: float,
    device: torch.device,
    position_offset: int = 0,
    recall_weight: float = 0.0,
) -> StepLoss:
    """Answer CE + aux_weight * next-token CE + recall_weight * dense lookup CE (SPEC sections 4 and 6.4).

    The dense lookup loss asks the answer head, at every record whose key was
    set earlier in the sequence, for that key's newest value so far
    (tasks.recall_targets: labels from past tokens only). Evaluation never uses
    it: it is a training signal for the same circuit as the final query.
    """
    ids = batch.input_ids.to(device, non_blocking=True)
    labels = batch.labels.to(device, non_blocking=True)
    out = model(ids, position_offset=position_offset)
    answer = out.answer_logits[:, -1]  # (B, V): the benchmark answer is read at the last position
    answer_loss = F.cross_entropy(answer, labels)
    token_logits = out.token_logits[:, :-1]  # (B, T-1, V) predicts ids[:, 1:]
    aux_loss = F.cross_entropy(token_logits.reshape(-1, token_logits.shape[-1]), ids[:, 1:].reshape(-1))
    loss = answer_loss + aux_weight * aux_loss
    recall_loss = None
    if recall_weight:
        targets = recall_targets(batch.input_ids).to(device, non_blocking=True)  # (B, T), IGNORE elsewhere
        if bool((targets != IGNORE).any()):
            logits = out.answer_logits
            recall_loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
        else:
            recall_loss = answer_loss.new_zeros(())
        loss = loss + recall_weight * recall_loss
    accuracy = (answer.argmax(-1) == labels).float().mean()
    return StepLoss(loss, answer_loss, aux_loss, recall_loss, accuracy, out)


def _stat(stats: dict[str, torch.Tensor], key: str) -> float | None:
    value = stats.get(key)
    return None if value is None else float(value.detach())


def _checkpoint_payload(config, model, optimizer, step, device) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "config": config.to_dict(),
        "model": config.model,
        "step": step,
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict(),
        "torch_rng_state": torch.get_rng_state(),
        "parameter_count": parameter_count(model),
    }
    if device.type == "cuda":
        payload["cuda_rng_state"] = torch.cuda.get_rng_state(device)
    return payload


def train(
    config: TrainConfig,
    runs_dir: str | Path = "runs",
    run_dir: str | Path | None = None,
    on_event: EventCallback | None = None,
    stop: threading.Event | None = None,
    resume: bool = False,
    threads: int | None = None,
) -> Path:
    """Train `config`, writing a run directory; return its path.

    `on_event(record)` receives every metrics.jsonl record, then one final
    record of kind finished, stopped or failed. Setting `stop` (or SIGINT /
    SIGTERM when called from the main thread) ends the run after the current
    step with a checkpoint and state `stopped`. A non-finite loss ends it as
    `failed`, keeping the last good checkpoint, and raises TrainingFailed.
    With `resume=True`, `run_dir` must hold a checkpoint to continue from;
    ResumeRefused when it is finished at `config.steps` or past it (a larger
    `config.steps` extends it). The process's torch CPU threads are set by
    device.run_threads(threads) (1 unless asked) and recorded in status.json.
    """
    threads = use_threads(threads)
    stop = stop or threading.Event()
    emit = on_event or (lambda record: None)
    start_step = 0
    checkpoint: dict[str, Any] | None = None
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run directory")
        run_dir = Path(run_dir)
        checkpoint = runs.load_checkpoint(run_dir / runs.CHECKPOINT_FILE)
        start_step = int(checkpoint["step"])
        config = config.check()
        _check_resumable(run_dir, config, start_step)
        runs.truncate_metrics_after(run_dir, start_step)
    else:
        config = config.check()
        run_dir = Path(run_dir) if run_dir else runs.new_run_dir(runs_dir, config.model, config.task)
        run_dir.mkdir(parents=True, exist_ok=True)
        if (run_dir / runs.METRICS_JSONL).exists():
            (run_dir / runs.METRICS_JSONL).unlink()
    runs.write_json_atomic(run_dir / runs.CONFIG_FILE, config.to_dict())
    runs.clear_stop_request(run_dir)  # a request for an earlier process of this run is not for this one
    status = runs.read_status(run_dir) or {}
    runs.write_status(
        run_dir,
        state="running",
        pid=os.getpid(),
        host=runs.HOST,
        step=start_step,
        total_steps=config.steps,
        started=status.get("started") if resume and status.get("started") else time.time(),
        error=None,
        threads=threads,
    )

    step = start_step
    try:
        device = resolve_device(config.device)
        torch.manual_seed(config.seed)
        model = build_model(config.model, **config.model_overrides()).to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model_state"])
            optimizer.load_state_dict(checkpoint["optimizer_state"])
            torch.set_rng_state(checkpoint["torch_rng_state"])
            if device.type == "cuda" and "cuda_rng_state" in checkpoint:
                torch.cuda.set_rng_state(checkpoint["cuda_rng_state"], device)
        heldout = heldout_batches(config, device)
        runs.write_status(run_dir, device=str(device), parameter_count=parameter_count(model))
        result = _loop(config, model, optimizer, device, heldout, run_dir, start_step, emit, stop)
        step = result["step"]
    except TrainingFailed:
        raise
    except BaseException as exc:  # record why, then let the caller see it
        message = one_line(exc)
        runs.write_status(run_dir, state="failed", error=f"{type(exc).__name__}: {message}", step=step)
        (run_dir / "error.log").write_text(traceback.format_exc())
        emit({"kind": "failed", "step": step, "error": message, "run_dir": str(run_dir)})
        raise
    return run_dir


def _check_resumable(run_dir: Path, config: TrainConfig, start_step: int) -> None:
    """ResumeRefused unless resuming from `start_step` trains at least one more step (or finishes a run that
    reached its last step without being marked finished)."""
    if start_step > config.steps:
        raise ResumeRefused(
            f"cannot resume at step {start_step} to a total of {config.steps} steps "
            f"(a resume extends a run, never shortens it): {run_dir}"
        )
    if start_step == config.steps and runs.effective_state(runs.read_status(run_dir)) == "finished":
        raise ResumeRefused(
            f"run already finished at step {start_step} of {config.steps}, nothing to resume "
            f"(--steps N above {start_step} extends it): {run_dir}"
        )


def _loop(config, model, optimizer, device, heldout, run_dir: Path, start_step: int, emit, stop) -> dict[str, Any]:
    started = time.perf_counter()
    last_eval: dict[str, Any] | None = None
    last_logged = time.perf_counter()
    steps_since_log = 0
    step = start_step

    def do_eval(at_step: int) -> dict[str, Any]:
        result = evaluate_batches(model, heldout, device)
        record = {
            "kind": "eval",
            "step": at_step,
            "eval_loss": result["loss"],
            "eval_accuracy": result["accuracy"],
            "eval_ci_low": result["ci_low"],
            "eval_ci_high": result["ci_high"],
            "eval_examples": result["examples"],
        }
        runs.append_metrics(metrics_fh, record)
        emit(record)
        return record

    def save(at_step: int) -> None:
        runs.save_checkpoint(run_dir / runs.CHECKPOINT_FILE, _checkpoint_payload(config, model, optimizer, at_step, device))
        emit({"kind": "checkpoint", "step": at_step})

    with open(run_dir / runs.METRICS_JSONL, "a") as metrics_fh, SignalStop(stop) as signals:
        final_state = "finished"
        for step in range(start_step + 1, config.steps + 1):
            index = step - 1  # 0-based position in the training stream (v1: seed + index)
            batch, offset = train_batch(config, index)
            lr = lr_at(config, step)
            for group in optimizer.param_groups:
                group["lr"] = lr
            model.train()
            result = compute_loss(model, batch, config.aux_weight, device, offset, config.recall_loss_weight)
            loss, out = result.loss, result.output
            loss_value = float(loss.detach())
            if not math.isfinite(loss_value):
                message = f"non-finite loss ({loss_value}) at step {step}; the last good checkpoint is kept"
                runs.write_status(run_dir, state="failed", error=message, step=step - 1)
                emit({"kind": "failed", "step": step, "error": message, "run_dir": str(run_dir)})
                raise TrainingFailed(message)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            steps_since_log += 1

            if step % config.log_every == 0 or step == config.steps:
                now = time.perf_counter()
                record = {
                    "kind": "train",
                    "step": step,
                    "loss": loss_value,
                    "answer_loss": float(result.answer.detach()),
                    "aux_loss": float(result.aux.detach()),
                    "recall_loss": None if result.recall is None else float(result.recall.detach()),
                    "accuracy": float(result.accuracy.detach()),
                    "write_strength": _stat(out.stats, "write_strength"),
                    "write_frequency": _stat(out.stats, "write_frequency"),
                    "erase_strength": _stat(out.stats, "erase_strength"),
                    "surprise": _stat(out.stats, "surprise"),
                    "grad_norm": float(grad_norm),
                    "lr": lr,
                    "steps_per_sec": steps_since_log / max(now - last_logged, 1e-9),
                    "sequences_per_sec": steps_since_log * config.batch_size / max(now - last_logged, 1e-9),
                    "elapsed": now - started,
                }
                last_logged, steps_since_log = now, 0
                runs.append_metrics(metrics_fh, record)
                emit(record)
                runs.write_status(run_dir, step=step)
            if config.eval_every and step % config.eval_every == 0 and step != config.steps:
                last_eval = do_eval(step)
            if (stop.is_set() or runs.stop_requested(run_dir)) and step != config.steps:
                save(step)
                final_state = "stopped"
                break
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step != config.steps:
                save(step)
        else:
            step = config.steps

        if final_state == "finished":
            if last_eval is None or last_eval["step"] != step:
                last_eval = do_eval(step)
            save(step)
        wall = time.perf_counter() - started
        _write_metrics_json(config, model, device, run_dir, wall, last_eval)
        stopped_by = (signals.received or "stop request") if final_state == "stopped" else None
        runs.clear_stop_request(run_dir)
        runs.write_status(run_dir, state=final_state, step=step, error=None, stopped_by=stopped_by)
        emit({"kind": final_state, "step": step, "run_dir": str(run_dir), "stopped_by": stopped_by})
    return {"step": step, "state": final_state}


def _write_metrics_json(config, model, device, run_dir: Path, wall: float, last_eval: dict[str, Any] | None) -> None:
    """metrics.json in the original's layout: kind, task, model, parameter_count, device, wall time, config, history, final."""
    records, _ = runs.read_metrics(run_dir)
    history = [r for r in records if r.get("kind") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    final = dict(history[-1]) if history else {}
    if last_eval is not None:
        final.update({k: v for k, v in last_eval.items() if k != "kind"})
    previous = runs.read_json(run_dir / runs.METRICS_JSON) or {}
    runs.write_json_atomic(
        run_dir / runs.METRICS_JSON,
        {
            "kind": "train",
            "task": config.task,
            "model": config.model,
            "parameter_count": parameter_count(model),
            "device": str(device),
            "wall_time_seconds": float(previous.get("wall_time_seconds") or 0.0) + wall,
            "config": config.to_dict(),
            "history": history,
            "evaluations": evals,
            "final": final,
        },
    )
