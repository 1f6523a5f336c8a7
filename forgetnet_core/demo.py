"""`forgetnet demo`: one example told token by token (what the model read, wrote, erased, predicted and believed)."""

from __future__ import annotations

from typing import Any

from .vocab import token_name


def run_demo(args: Any) -> str:
    """Render the demo for parsed CLI args (task, checkpoint, model, suite, seed, seq_len, device)."""
    from .checkpoints import model_source
    from .device import resolve_device
    from .stepper import build_stepper_trace

    device = resolve_device(args.device)
    source = model_source(args.checkpoint, args.model)
    model, label = source.load(device)
    if args.checkpoint and args.model is not None and model.name != args.model:
        raise ValueError(f"--model {args.model} does not match the checkpoint's model {model.name} "
                         f"(leave --model out to step it as {model.name}): {args.checkpoint}")
    if args.seq_len > model.config.max_seq_len:
        raise ValueError(f"--seq-len {args.seq_len} exceeds the model's max_seq_len {model.config.max_seq_len}")
    st = build_stepper_trace(model, args.task, args.seed, args.suite, args.seq_len, label=label)
    lines = [f"task {args.task} ({args.suite}), seed {args.seed}, seq_len {st.seq_len}; model {label}", ""]
    if st.memory_kind == "matrix":
        header = f"{'t':>3}  {'token':<5} {'role':<6} {'write β':>7} {'forget':>6} {'read':>5} {'|ΔS|':>5} {'surprise':>8}  {'predicts':<8} mark"
    else:
        header = f"{'t':>3}  {'token':<5} {'role':<6} {'read':>4} {'write':>5} {'gate':>6} {'erase':>6} {'surprise':>8}  {'predicts':<8} mark"
    lines += [header, "-" * len(header)]
    for t in range(st.seq_len):
        v = st.view(t)
        pred = st.vocab_names[v.top_tokens[0][0]]
        if st.memory_kind == "matrix":
            cells = (f"{v.gate_mean:>7.3f} {v.erase_mean:>6.3f} {float(v.read_strength.max()):>5.2f} "
                     f"{v.max_change:>5.2f} {v.surprise:>8.3f}")
        elif st.memory_kind == "slot":
            effective_erase = float(st.effective_erase[t].sum())
            cells = f"{v.read_slot:>4} {v.write_slot:>5} {v.gate_mean:>6.3f} {effective_erase:>6.3f} {v.surprise:>8.3f}"
        else:
            cells = f"{'-':>4} {'-':>5} {'-':>6} {'-':>6} {v.surprise:>8.3f}"
        mark = "; ".join(e.text for e in v.events)
        lines.append(f"{t:>3}  {v.name:<5} {v.role:<6} {cells}  {pred:<8} {mark}".rstrip())
    lines += ["", "belief changes (what it would answer about a key if the query came at that token):"]
    changes = st.beliefs.changes if st.beliefs is not None else ()
    query_key = st.meta.query_key
    for change in changes:
        star = "*" if change.key == query_key else " "
        lines.append(f"  t={change.t:>3} {star} {change.kind:<9} {change.text}")
    if not changes:
        lines.append("  none")
    lines.append(f"  (* = the queried key {token_name(query_key)}; beliefs are asked at every SEP before the query)")
    verdict = st.verdict
    lines += ["", f"query {token_name(query_key)}  {verdict.describe()}"]
    if st.meta.stale_values:
        lines.append("stale values: " + ", ".join(token_name(v) for v in st.meta.stale_values))
    if st.memory_kind is None:
        lines.append("memory: none (a Transformer baseline keeps no memory)")
    return "\n".join(lines) + "\n"
