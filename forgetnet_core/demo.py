"""`forgetnet demo`: one example told token by token (what the model read, wrote, erased and predicted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .tasks import KEY_START, NOISE, PAD, QUERY, SEP, VALUE_START, make_batch, token_role

BUNDLED_CHECKPOINT = Path(__file__).parent / "assets" / "stepper_changing_facts.pt"


def token_name(tok: int) -> str:
    """A short readable name: k07 for key 17, v24 for value 88, SEP, QRY, ·, PAD."""
    role = token_role(tok)
    if role == "key":
        return f"k{tok - KEY_START:02d}"
    if role == "value":
        return f"v{tok - VALUE_START:02d}"
    return {SEP: "SEP", QUERY: "QRY", NOISE: "·", PAD: "PAD"}.get(tok, f"#{tok}")


def load_demo_model(checkpoint: str | None, model_name: str, device: Any):
    """(model, label): the given checkpoint, else the bundled one for forgetnet, else a fresh model."""
    from .evaluate import fresh_model, load_model

    if checkpoint:
        model, data = load_model(checkpoint, device)
        return model, f"{data['config']['model']} from {checkpoint}"
    if model_name == "forgetnet" and BUNDLED_CHECKPOINT.exists():
        model, _ = load_model(BUNDLED_CHECKPOINT, device)
        return model, f"forgetnet (bundled checkpoint {BUNDLED_CHECKPOINT.name})"
    return fresh_model(model_name).to(device), f"{model_name} (fresh, untrained)"


def run_demo(args: Any) -> str:
    """Render the demo table for parsed CLI args (task, checkpoint, model, suite, seed, seq_len, device)."""
    from .device import resolve_device

    device = resolve_device(args.device)
    model, label = load_demo_model(args.checkpoint, args.model, device)
    if args.seq_len > model.config.max_seq_len:
        raise ValueError(f"--seq-len {args.seq_len} exceeds the model's max_seq_len {model.config.max_seq_len}")
    batch = make_batch(args.task, args.seed, args.seq_len, 1, args.suite)
    meta = batch.meta[0]
    ids = batch.input_ids.to(device)
    with torch.no_grad():
        out = model(ids, trace=model.has_memory)
    tokens = batch.input_ids[0].tolist()
    marks = _marks(meta, tokens)
    lines = [
        f"task {args.task} ({args.suite}), seed {args.seed}, seq_len {args.seq_len}; model {label}",
        "",
    ]
    header = f"{'t':>3}  {'token':<5} {'role':<6} {'read':>4} {'write':>5} {'gate':>6} {'erase':>6} {'surprise':>8}  {'predicts':<8} mark"
    lines += [header, "-" * len(header)]
    example = out.trace.example(0) if out.trace is not None else None
    token_logits = out.token_logits[0].cpu()
    for t, tok in enumerate(tokens):
        pred = token_name(int(token_logits[t].argmax()))
        if example is not None:
            step = example.step(t)
            effective_erase = float((step.gate * step.erase).mean())
            cells = f"{step.read_slot:>4} {step.write_slot:>5} {step.write_strength:>6.3f} {effective_erase:>6.3f} {step.surprise:>8.3f}"
        else:
            cells = f"{'-':>4} {'-':>5} {'-':>6} {'-':>6} {'-':>8}"
        lines.append(f"{t:>3}  {token_name(tok):<5} {token_role(tok):<6} {cells}  {pred:<8} {marks.get(t, '')}".rstrip())
    answer_probs = torch.softmax(out.answer_logits[0, -1].float().cpu(), -1)
    answer = int(answer_probs.argmax())
    verdict = "right" if answer == meta.label else "wrong"
    if answer != meta.label and answer in meta.stale_values:
        verdict += " (gave a stale value)"
    lines += [
        "",
        f"query {token_name(meta.query_key)}  label {token_name(meta.label)}  answer {token_name(answer)}"
        f" (p={float(answer_probs[answer]):.2f}): {verdict}",
    ]
    if meta.stale_values:
        lines.append("stale values: " + ", ".join(token_name(v) for v in meta.stale_values))
    if out.stats:
        lines.append("memory: " + ", ".join(f"{k} {float(v):.3f}" for k, v in out.stats.items()))
    else:
        lines.append("memory: none (a Transformer baseline keeps no memory bank)")
    return "\n".join(lines) + "\n"


def _marks(meta: Any, tokens: list[int]) -> dict[int, str]:
    """Position -> what happens there, in the stepper's words (forgetnet_core.stepper.marks_and_events)."""
    from .stepper import marks_and_events

    _, events = marks_and_events(meta, tokens)
    marks: dict[int, str] = {}
    for event in events:
        marks[event.t] = f"{marks[event.t]}; {event.text}" if event.t in marks else event.text
    return marks
