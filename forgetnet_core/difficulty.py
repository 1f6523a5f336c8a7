"""Difficulty curves: held-out accuracy against one task knob (records, keys, ...), one line per model: where each memory breaks.

A point is (task, line, knob value) with the mean accuracy across distinct
training seeds and its 95% t-interval; a point with one seed has no spread
across seeds to show, so its interval is the evaluation's own (95% Wilson over
the examples scored). Points come from the cached
evaluations a sweep over a knob leaves in its cells (each cell trained and
scored at its own value: `forgetnet sweep --records 4,8,16`), or from every
eval_cache.json under a runs directory (a checkpoint scored at several values
from the Evaluate screen). A line is a model; when a checkpoint was scored at a
value it was not trained at, its line says what it was trained at.

Nothing here imports torch; matplotlib is imported when a figure is drawn.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable

from . import runs
from .config import (
    MODEL_NAMES,
    NUM_KEYS,
    NUM_VALUES,
    TASK_NAMES,
    TaskKnobs,
    record_slots,
)
from .results import CACHE_FILE
from .stats import mean_interval, wilson_interval

KNOBS = tuple(f.name for f in fields(TaskKnobs))


def effective_value(knob: str, knobs: TaskKnobs, task: str, seq_len: int) -> int | None:
    """The knob's value in effect for `task` at `seq_len` (its default spelled out); None when it varies per example."""
    value = getattr(knobs, knob)
    if value is not None:
        if knob == "records" and task == "multi_hop":
            return min(value, knobs.keys)
        return value
    if knob == "records":
        slots = record_slots(seq_len)
        return min(slots, knobs.keys, NUM_KEYS) if task == "multi_hop" else slots
    if knob == "min_distance":
        return knobs.min_distance_for(task)
    return None  # overwrites "auto": 1-3 at random, not a point on an axis


@dataclass(frozen=True)
class Sample:
    """One run's accuracy on one task at one knob value."""

    task: str
    line: str  # the model, plus what it was trained at when that differs from x
    model: str
    seed: int | None
    x: int
    accuracy: float
    correct: int | None = None  # examples answered right and scored, when known: a one-seed point's Wilson interval
    examples: int | None = None


@dataclass(frozen=True)
class Point:
    """Mean and 95% interval at one knob value: t across distinct seeds, or Wilson over the examples of a lone run."""

    x: int
    mean: float
    low: float
    high: float
    n_seeds: int
    accuracies: tuple[float, ...]
    interval: str = "t"  # "t" (across seeds) or "wilson" (one run: over its evaluation examples)
    examples: int | None = None  # the examples behind a Wilson interval


Curves = dict[str, dict[str, list[Point]]]  # task -> line -> points sorted by x


def curves(samples: Iterable[Sample]) -> Curves:
    """Group samples by (task, line, x); runs that share a seed are averaged into one value per seed first.

    Two or more seeds: mean and t-interval across them. One run with its example counts: its Wilson interval."""
    by_key: dict[tuple[str, str, int], dict[Any, list[Sample]]] = {}
    models: dict[str, str] = {}
    for s in samples:
        unit = ("seed", s.seed) if s.seed is not None else ("run", id(s))
        by_key.setdefault((s.task, s.line, s.x), {}).setdefault(unit, []).append(s)
        models[s.line] = s.model
    out: Curves = {}
    for (task, line, x), units in by_key.items():
        per_seed = [sum(r.accuracy for r in v) / len(v) for v in units.values()]
        mean, low, high = mean_interval(per_seed)
        interval, examples = "t", None
        lone = next(iter(units.values()))
        if len(units) == 1 and len(lone) == 1 and lone[0].correct is not None and lone[0].examples:
            low, high = wilson_interval(lone[0].correct, lone[0].examples)
            interval, examples = "wilson", lone[0].examples
        point = Point(x, mean, low, high, len(per_seed), tuple(per_seed), interval, examples)
        out.setdefault(task, {}).setdefault(line, []).append(point)
    order = {name: i for i, name in enumerate(MODEL_NAMES)}
    tasks = sorted(out, key=lambda t: TASK_NAMES.index(t) if t in TASK_NAMES else len(TASK_NAMES))
    return {
        task: {
            line: sorted(out[task][line], key=lambda p: p.x)
            for line in sorted(out[task], key=lambda ln: (order.get(models[ln], len(order)), ln))
        }
        for task in tasks
    }


def _line(model: str, knob: str, trained: int | None, x: int) -> str:
    return model if trained == x else f"{model} (trained at {knob} {'auto' if trained is None else trained})"


def result_counts(result: dict[str, Any]) -> tuple[int | None, int | None]:
    """(correct, examples) of one task result when it recorded them (older caches may not)."""
    correct, examples = result.get("correct"), result.get("examples")
    if isinstance(correct, int) and isinstance(examples, int) and 0 <= correct <= examples:
        return correct, examples
    return None, None


def interval_caption(data: Curves) -> str:
    """What the figure's bands are: '3 seeds, mean and 95% t-interval', or for lone runs their Wilson interval."""
    points = [p for lines in data.values() for pts in lines.values() for p in pts]
    wilson = [p for p in points if p.interval == "wilson"]
    if points and len(wilson) == len(points):
        examples = {p.examples for p in wilson}
        over = f"over {examples.pop()} examples" if len(examples) == 1 else "over the examples scored"
        return f"1 seed, 95% Wilson interval {over}"
    counts = sorted({p.n_seeds for p in points}) or [0]
    n = str(counts[0]) if counts[0] == counts[-1] else f"{counts[0]}-{counts[-1]}"
    caption = f"{n} seed{'' if n == '1' else 's'}, mean and 95% t-interval"
    return caption + ("; a lone run: Wilson over its examples" if wilson else "")


def samples_from_sweep(folder: str | Path, knob: str, cells: list[dict[str, Any]] | None = None) -> list[Sample]:
    """Every evaluated cell of a sweep, at its training task and its value of `knob` (`cells`: sweep_rows(folder),
    when the caller has read them already)."""
    from .sweep import read_manifest, sweep_rows

    _check_knob(knob)
    manifest = read_manifest(folder)
    base = manifest.get("base_config") or {}
    out = []
    for row in sweep_rows(folder) if cells is None else cells:
        result = row["tasks"].get(row["task"])
        if result is None or result.get("accuracy") is None:
            continue
        knobs = TaskKnobs.from_dict({**base, **(row.get("knobs") or {})})
        x = effective_value(knob, knobs, row["task"], int(result.get("seq_len") or base.get("seq_len") or 64))
        if x is not None:
            out.append(Sample(row["task"], row["model"], row["model"], row.get("seed"), x, float(result["accuracy"]),
                              *result_counts(result)))
    return out


def samples_from_runs(runs_dir: str | Path, knob: str) -> list[Sample]:
    """Every cached evaluation under `runs_dir` (sweeps included): each task result at its value of `knob`."""
    _check_knob(knob)
    root = Path(runs_dir)
    out: list[Sample] = []
    if not root.is_dir():
        return out
    for cache in sorted(root.rglob(CACHE_FILE)):
        run_dir = cache.parent
        data = runs.read_json(cache) or {}
        config = runs.read_json(run_dir / runs.CONFIG_FILE) or {}
        model = config.get("model")
        if not isinstance(data.get("entries"), dict) or model not in MODEL_NAMES:
            continue
        trained_task = config.get("task")
        train_knobs = TaskKnobs.from_dict(config)
        for entry in data["entries"].values():
            if not isinstance(entry, dict):
                continue
            settings = entry.get("settings") or {}
            eval_knobs = TaskKnobs.from_dict(settings.get("knobs"))
            for task, result in (entry.get("tasks") or {}).items():
                if not isinstance(result, dict) or result.get("accuracy") is None:
                    continue
                seq_len = int(result.get("seq_len") or settings.get("seq_len") or 64)
                x = effective_value(knob, eval_knobs, task, seq_len)
                if x is None:
                    continue
                trained = effective_value(knob, train_knobs, task, int(config.get("seq_len") or seq_len))
                line = _line(model, knob, trained if task == trained_task else None, x)
                out.append(Sample(task, line, model, config.get("seed"), x, float(result["accuracy"]), *result_counts(result)))
    return out


def _check_knob(knob: str) -> None:
    if knob not in KNOBS:
        raise ValueError(f"unknown knob '{knob}' (choose from {', '.join(KNOBS)})")


# --------------------------------------------------------------------------- figure and table


def chance_at(knob: str, x: int) -> float:
    """A uniform guess among the values in play."""
    return 1 / x if knob == "values" else 1 / NUM_VALUES


def difficulty_figure(data: Curves, knob: str, title: str | None = None):
    """One panel per task: accuracy (mean, 95% interval band; interval_caption says which) against the knob, a line per model, chance dashed."""
    from matplotlib.figure import Figure

    tasks = list(data)
    if not tasks:
        raise ValueError("no points to draw")
    fig = Figure(figsize=(6.4 * len(tasks) + 2.2, 4.6), layout="constrained")
    axes = fig.subplots(1, len(tasks), squeeze=False)[0]
    cmap = _palette()
    lines = sorted({line for task in tasks for line in data[task]}, key=lambda ln: list(
        dict.fromkeys(line for task in tasks for line in data[task])).index(ln))
    colour = {line: cmap[i % len(cmap)] for i, line in enumerate(lines)}
    markers = "osD^vP*Xh<>p"
    for ax, task in zip(axes, tasks):
        xs_all: set[int] = set()
        for i, (line, points) in enumerate(data[task].items()):
            xs = [p.x for p in points]
            xs_all.update(xs)
            ax.plot(xs, [p.mean for p in points], marker=markers[lines.index(line) % len(markers)],
                    color=colour[line], label=line, linewidth=1.6, markersize=5)
            ax.fill_between(xs, [p.low for p in points], [p.high for p in points], color=colour[line], alpha=0.12, linewidth=0)
        xs_sorted = sorted(xs_all)
        ax.plot(xs_sorted, [chance_at(knob, x) for x in xs_sorted], color="0.45", linestyle="--", linewidth=1,
                label=f"chance (1/{'values' if knob == 'values' else NUM_VALUES})")
        if len(xs_sorted) > 1 and xs_sorted[0] > 0 and xs_sorted[-1] / xs_sorted[0] >= 4:
            ax.set_xscale("log", base=2)
        ax.set_xticks(xs_sorted, [str(x) for x in xs_sorted])
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(knob.replace("_", " "))
        ax.set_ylabel("held-out accuracy")
        ax.set_title(task, fontsize=10)
        ax.grid(True, alpha=0.3)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside right center", fontsize=8, frameon=False)
    fig.suptitle(title or f"Where each memory breaks: accuracy against {knob.replace('_', ' ')} ({interval_caption(data)})",
                 fontsize=11)
    return fig


def _palette() -> list[Any]:
    from matplotlib import colormaps

    tab = colormaps["tab20"]
    return [tab(i) for i in (0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19)]


def difficulty_csv(data: Curves, knob: str) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["task", "line", knob, "accuracy_mean", "ci_low", "ci_high", "n_seeds", "seed_accuracies", "interval"])
    for task, lines in data.items():
        for line, points in lines.items():
            for p in points:
                writer.writerow([task, line, p.x, f"{p.mean:.4f}", f"{p.low:.4f}", f"{p.high:.4f}", p.n_seeds,
                                 " ".join(f"{a:.4f}" for a in p.accuracies), p.interval])
    return buf.getvalue()


def write_difficulty(data: Curves, out_dir: str | Path, knob: str, formats: Iterable[str] = ("png", "csv", "json"),
                     title: str | None = None) -> list[Path]:
    """difficulty_<knob>.{png,svg,pdf} (the figure), .csv and .json (the points) in `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    formats = list(formats)
    paths: list[Path] = []
    stem = out / f"difficulty_{knob}"
    figure_formats = [f for f in formats if f in ("png", "svg", "pdf")]
    if figure_formats:
        from .export import save_figure

        fig = difficulty_figure(data, knob, title)
        for fmt in figure_formats:
            paths.append(save_figure(fig, stem.with_suffix(f".{fmt}")))
    if "csv" in formats:
        stem.with_suffix(".csv").write_text(difficulty_csv(data, knob))
        paths.append(stem.with_suffix(".csv"))
    if "json" in formats:
        payload = {task: {line: [p.__dict__ | {"accuracies": list(p.accuracies)} for p in points]
                          for line, points in lines.items()} for task, lines in data.items()}
        stem.with_suffix(".json").write_text(json.dumps({"knob": knob, "curves": payload}, indent=2))
        paths.append(stem.with_suffix(".json"))
    return paths


__all__ = [
    "KNOBS",
    "Point",
    "Sample",
    "chance_at",
    "curves",
    "difficulty_csv",
    "difficulty_figure",
    "effective_value",
    "samples_from_runs",
    "samples_from_sweep",
    "write_difficulty",
]
