"""The headline table: every model trained and evaluated on each task, mean and 95% interval across seeds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from forgetnet_core.results import RowResult, aggregate

from . import runs
from .config import ABLATIONS, MODEL_NAMES, TASK_NAMES
from .difficulty import curves, samples_from_sweep, write_difficulty
from .export import FigureRow, accuracy_figure, heatmap_figure, save_figure
from .stats import paired_difference
from .sweep import read_manifest, sweep_rows
from .tasks import NUM_VALUES

CHANCE = 1 / NUM_VALUES  # a uniform guess among the 48 values

# A cell of the headline is (model, task): the runs of that model TRAINED on that
# task (one per seed), each scored on the same task by the sweep's evaluation
# (eval seed 123, a stream no training or model selection touched).


def headline_rows(folder: str | Path, cells: list[dict[str, Any]] | None = None) -> list[FigureRow]:
    """One FigureRow per model (in registry order) whose task results aggregate that task's seeds.

    `cells`: the sweep's evaluated cells (sweep.sweep_rows) when the caller has read them already."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    per_cell: dict[tuple[str, str], list[RowResult]] = {}
    train_time: dict[tuple[str, str], list[float]] = {}
    for row in sweep_rows(folder) if cells is None else cells:
        task_result = row["tasks"].get(row["task"])
        if task_result is None or row.get("knobs"):
            continue  # cells of a difficulty dimension belong to the difficulty figure, not the table
        key = (row["model"], row["task"])
        per_cell.setdefault(key, []).append(RowResult(tasks={row["task"]: task_result}))
        original = runs.read_json(folder / row["run"] / runs.METRICS_JSON) or {}
        if isinstance(original.get("wall_time_seconds"), (int, float)):
            train_time.setdefault(key, []).append(float(original["wall_time_seconds"]))
    models = [m for m in MODEL_NAMES if m in manifest["models"]]
    tasks = [t for t in TASK_NAMES if t in manifest["tasks"]]
    out: list[FigureRow] = []
    for model in models:
        merged: dict[str, dict[str, Any]] = {}
        params = None
        for task in tasks:
            results = per_cell.get((model, task))
            if not results:
                continue
            agg = aggregate(results).tasks.get(task)
            if agg is None:
                continue
            times = train_time.get((model, task), [])
            agg["train_wall_time_seconds"] = sum(times) / len(times) if times else None
            params = params or results[0].tasks[task].get("parameter_count")
            merged[task] = agg
        if merged:
            out.append(FigureRow(model, model, merged, extra={"parameter_count": params}))
    return out


def headline_csv(rows: list[FigureRow]) -> str:
    """model, task, mean accuracy, its 95% t-interval, seeds and their accuracies, stale rate, params, time."""
    buf = io.StringIO()
    fields = ["model", "task", "accuracy_mean", "ci_low", "ci_high", "n_seeds", "seed_accuracies",
              "stale_rate", "parameter_count", "train_wall_time_seconds", "eval_seq_len"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        for task, r in row.tasks.items():
            writer.writerow({
                "model": row.model,
                "task": task,
                "accuracy_mean": f"{r['accuracy']:.4f}",
                "ci_low": f"{r['ci_low']:.4f}",
                "ci_high": f"{r['ci_high']:.4f}",
                "n_seeds": r.get("n_seeds", 1),
                "seed_accuracies": " ".join(f"{a:.4f}" for a in r.get("seed_accuracies", [r["accuracy"]])),
                "stale_rate": "" if r.get("stale_rate") is None else f"{r['stale_rate']:.4f}",
                "parameter_count": row.parameter_count or "",
                "train_wall_time_seconds": "" if r.get("train_wall_time_seconds") is None else f"{r['train_wall_time_seconds']:.1f}",
                "eval_seq_len": r.get("seq_len", ""),
            })
    return buf.getvalue()


def headline_markdown(rows: list[FigureRow]) -> str:
    """Model x task: mean accuracy [95% t-interval across seeds], stale rate, parameters, training time per run."""
    tasks = [t for t in TASK_NAMES if any(t in r.tasks for r in rows)]
    head = ["model", *tasks, "stale rate (changing_facts)", "params", "train s/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        cells = [row.model]
        for task in tasks:
            r = row.tasks.get(task)
            cells.append("-" if r is None else f"{r['accuracy']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]")
        stale = (row.tasks.get("changing_facts") or {}).get("stale_rate")
        cells.append("-" if stale is None else f"{stale:.3f}")
        cells.append("-" if row.parameter_count is None else f"{row.parameter_count:,}")
        times = [r["train_wall_time_seconds"] for r in row.tasks.values() if r.get("train_wall_time_seconds") is not None]
        cells.append("-" if not times else f"{sum(times) / len(times):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def seed_scores(cells: list[dict[str, Any]]) -> dict[tuple[str, str], dict[int, float]]:
    """(model, task) -> {seed: held-out accuracy on that task} from a sweep's evaluated cells (sweep.sweep_rows),
    the table's cells only (knob cells left out)."""
    out: dict[tuple[str, str], dict[int, float]] = {}
    for row in cells:
        result = row["tasks"].get(row["task"])
        if result is not None and not row.get("knobs"):
            out.setdefault((row["model"], row["task"]), {})[row["seed"]] = float(result["accuracy"])
    return out


def ablation_effects(scores: dict[tuple[str, str], dict[int, float]]) -> list[dict[str, Any]]:
    """Each family's full model against each of its ablations (config.ABLATIONS), per task, paired by seed.

    Same seed = same training stream and the same evaluation examples, so the per-seed differences are
    the samples: `difference` is full - ablation, with its 95% t-interval; `verdict` says which side the
    interval lies on, or `within noise` when it contains 0. Only seeds both models have count.
    """
    out = []
    for full, ablations in ABLATIONS.items():
        for ablation in ablations:
            for task in TASK_NAMES:
                a, b = scores.get((full, task), {}), scores.get((ablation, task), {})
                seeds = sorted(set(a) & set(b))
                if not seeds:
                    continue
                diff, low, high = paired_difference([a[s] for s in seeds], [b[s] for s in seeds])
                if len(seeds) < 2:
                    verdict = "one seed"
                elif low > 0:
                    verdict = f"{full} better"
                elif high < 0:
                    verdict = f"{ablation} better"
                else:
                    verdict = "within noise"
                out.append({
                    "full": full, "ablation": ablation, "task": task, "n_seeds": len(seeds),
                    "full_mean": sum(a[s] for s in seeds) / len(seeds),
                    "ablation_mean": sum(b[s] for s in seeds) / len(seeds),
                    "difference": diff, "ci_low": low, "ci_high": high, "verdict": verdict,
                })
    return out


def effects_markdown(effects: list[dict[str, Any]]) -> str:
    """The paired comparisons as a Markdown table (one line per full model, ablation and task)."""
    head = ["full model", "ablation", "task", "full acc", "ablation acc", "difference [95% CI]", "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for e in effects:
        lines.append(f"| {e['full']} | {e['ablation']} | {e['task']} | {e['full_mean']:.3f} | {e['ablation_mean']:.3f} "
                     f"| {e['difference']:+.3f} [{e['ci_low']:+.3f}, {e['ci_high']:+.3f}] | {e['verdict']} |")
    return "\n".join(lines) + "\n"


def effects_csv(effects: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    fields = ["full", "ablation", "task", "n_seeds", "full_mean", "ablation_mean", "difference", "ci_low", "ci_high", "verdict"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for e in effects:
        writer.writerow({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in e.items()})
    return buf.getvalue()


def write_headline(folder: str | Path, output_dir: str | Path) -> list[Path]:
    """headline.csv, .md, .json, .png (bars with intervals), headline_heatmap.png, ablations.md/.csv (each family's
    full model against its ablations, paired by seed), and for a sweep over task knobs
    difficulty_<knob>.png/.csv/.json (accuracy against the knob, a line per model)."""
    folder, out = Path(folder), Path(output_dir)
    manifest = read_manifest(folder)
    cells = sweep_rows(folder)  # every cell's cached evaluation, read once for the table, ablations and curves
    rows = headline_rows(folder, cells)
    difficulty = {knob: curves(samples_from_sweep(folder, knob, cells)) for knob in manifest.get("knobs") or {}}
    difficulty = {knob: data for knob, data in difficulty.items() if data}
    if not rows and not difficulty:
        raise ValueError(f"no evaluated runs in {folder} yet")
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for knob, data in difficulty.items():
        paths += write_difficulty(data, out, knob, ("png", "csv", "json"))
    if not rows:
        return paths
    base = manifest["base_config"]
    recipe = (f"recipe {base.get('recipe', 'original')}: {base['steps']} steps, batch {base['batch_size']}, "
              f"seq_len {base['seq_len']}, lr {base['lr']}, warmup {base['warmup_steps']}, decay {base['lr_decay']}, "
              f"recall loss {base.get('recall_loss_weight', 0.0)}, conv {base.get('conv', 'auto') if base.get('conv') is not None else 'auto'}, "
              f"position offsets {base.get('position_offsets', 'random')}, suite {base['suite']}")
    title = f"Trained and evaluated per task ({len(manifest['seeds'])} seeds, mean and 95% t-interval)"
    bars = accuracy_figure(rows, title=title, chance=CHANCE)  # y-axis scaled to the data, the chance line in its legend
    heat = heatmap_figure(rows, title="Mean held-out accuracy (model trained on that task)", chance=CHANCE)
    paths += [save_figure(bars, out / "headline.png"), save_figure(heat, out / "headline_heatmap.png")]
    (out / "headline.csv").write_text(headline_csv(rows))
    (out / "headline.md").write_text(
        f"Recipe: {recipe}. Evaluation: {manifest['eval']['examples']} examples per task per seed, eval seed "
        f"{manifest['eval']['seed']}; length_extrapolation at {manifest['eval'].get('extrapolation_len')} tokens.\n\n"
        + "Cells: mean held-out accuracy [95% Student-t interval across seeds] of the model trained on that task.\n\n"
        + headline_markdown(rows)
    )
    (out / "headline.json").write_text(json.dumps({
        "sweep": folder.name,
        "recipe": base,
        "eval": manifest["eval"],
        "rows": [{"model": r.model, "parameter_count": r.parameter_count, "tasks": r.tasks} for r in rows],
    }, indent=2))
    paths += [out / "headline.csv", out / "headline.md", out / "headline.json"]
    effects = ablation_effects(seed_scores(cells))
    if effects:
        (out / "ablations.md").write_text(
            "Full model minus ablation, held-out accuracy on the task both were trained on, paired by seed "
            "(same training stream, same evaluation examples); 95% t-interval of the per-seed differences.\n\n"
            + effects_markdown(effects))
        (out / "ablations.csv").write_text(effects_csv(effects))
        paths += [out / "ablations.md", out / "ablations.csv"]
    return paths
