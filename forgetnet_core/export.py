"""Figures (matplotlib Figure objects, no pyplot state) and CSV/JSON/Markdown tables from evaluation results."""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import runs
from .config import TASK_NAMES

# A row of the evaluation matrix: one model (checkpoint or fresh) and its per-task results.


@dataclass
class FigureRow:
    """One row of an exported figure or table: a label, its model and its per-task results (matrix rows become these)."""

    label: str  # what the row is called in figures and tables
    model: str  # registry name
    tasks: dict[str, dict[str, Any]]  # task -> evaluate_model() result
    checkpoint: str | None = None
    source: str | None = None  # the eval-*/metrics.json it came from
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def parameter_count(self) -> int | None:
        for result in self.tasks.values():
            if result.get("parameter_count") is not None:
                return int(result["parameter_count"])
        return self.extra.get("parameter_count")


def task_columns(rows: Iterable[FigureRow]) -> list[str]:
    """The tasks present in any row, in the canonical task order."""
    present = {t for row in rows for t in row.tasks}
    ordered = [t for t in TASK_NAMES if t in present]
    return ordered + sorted(present - set(ordered))


def unique_labels(labels: Sequence[str]) -> list[str]:
    """The labels, with ' #2', ' #3' ... after the second and later copies of a repeated one (so no legend says a name twice)."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if counts[label] == 1 or seen[label] == 1 else f"{label} #{seen[label]}")
    return out


# --------------------------------------------------------------------------- figures

CHANCE_VALUES = 48  # tasks.NUM_VALUES: every task's answer is one of 48 value tokens (tasks imports torch; a test keeps them equal)
CHANCE = 1 / CHANCE_VALUES  # a uniform guess among the values
_NICE_STEPS = (0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.2, 0.25)


def chance_of(rows: Iterable[FigureRow]) -> float | None:
    """The chance accuracy the rows share: 1/48, or 1/V when their settings' task knobs put V values in play.

    None when rows were evaluated with different numbers of values (no one line is chance for all of them).
    """
    values = set()
    for row in rows:
        settings = row.extra.get("settings") if isinstance(row.extra.get("settings"), dict) else {}
        knobs = settings.get("knobs") if isinstance(settings.get("knobs"), dict) else {}
        v = knobs.get("values")
        values.add(v if isinstance(v, int) and v > 0 else CHANCE_VALUES)
    if len(values) > 1:
        return None
    return 1 / (values.pop() if values else CHANCE_VALUES)


def axis_top(highest: float) -> float:
    """The top of an accuracy axis that shows `highest` (a bar, a whisker or the chance line) with room to spare.

    Scaled to the data on a round step (0.041 -> 0.05), not a fixed 0-1 that
    flattens every bar under 0.05; 1.05 once the data reach 0.9.
    """
    target = max(float(highest), 1e-3) * 1.12
    if target >= 0.9:
        return 1.05
    for step in _NICE_STEPS:
        if target / step <= 6:
            return min(1.05, round(math.ceil(target / step - 1e-9) * step, 6))
    return 1.05


def _colours(n: int) -> list[Any]:
    """n distinct colours: tab10 up to 10 rows, tab20 up to 20, then evenly along viridis (never a repeat)."""
    from matplotlib import colormaps

    if n <= 10:
        return list(colormaps["tab10"].colors[:n])
    if n <= 20:
        return list(colormaps["tab20"].colors[:n])
    ramp = colormaps["viridis"]
    return [ramp(i / max(1, n - 1)) for i in range(n)]


def _wrap(text: str, width: int) -> str:
    """Each line of `text` wrapped to `width` characters (figure text that would otherwise run off the edge)."""
    import textwrap

    width = max(12, width)
    return "\n".join(
        "\n".join(textwrap.wrap(line, width=width, break_long_words=True)) if len(line) > width else line
        for line in text.split("\n")
    )


def accuracy_figure(rows: list[FigureRow], title: str = "Held-out accuracy by task", chance: float | None = CHANCE):
    """Grouped bars of accuracy by task, one colour per row, with 95% interval whiskers and the chance line.

    The y-axis is scaled to the data (see axis_top); a bar of height 0 is
    drawn as an outlined stub at 0 (gid "zero-bar") so it is not mistaken for
    a missing value; the legend sits under the plot, long labels wrapped, so
    no label is clipped however long the model names are.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    tasks = task_columns(rows)
    labels = unique_labels([r.label for r in rows])
    n = max(1, len(rows))
    width_in = max(6.5, len(tasks) * (0.55 + 0.22 * n) + 1.6)
    legend_chars = int(width_in * 72 / (7 * 0.6))  # characters of 7-pt text across the figure
    fig = Figure(figsize=(width_in, 4.2 + 0.18 * min(len(rows), 12)), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    bar = 0.8 / n
    highest = chance or 0.0
    zero_seen = False
    for i, (row, colour) in enumerate(zip(rows, _colours(len(rows)))):
        xs, ys, lo, hi = [], [], [], []
        for j, task in enumerate(tasks):
            r = row.tasks.get(task)
            if not r or r.get("accuracy") is None:
                continue
            acc = float(r["accuracy"])
            xs.append(j - 0.4 + bar * (i + 0.5))
            ys.append(acc)
            low = r.get("ci_low") if r.get("ci_low") is not None else acc
            high = r.get("ci_high") if r.get("ci_high") is not None else acc
            lo.append(max(0.0, acc - float(low)))
            hi.append(max(0.0, float(high) - acc))
            highest = max(highest, acc, float(high))
        ax.bar(xs, ys, width=bar * 0.9, color=colour, edgecolor="0.2", linewidth=0.4, label=_wrap(labels[i], legend_chars // 2),
               yerr=[lo, hi], capsize=2, error_kw={"elinewidth": 0.8, "ecolor": "0.15"}, zorder=2)
        for x, y in zip(xs, ys):
            if y <= 0.0:
                zero_seen = True
                stub = Rectangle((x - bar * 0.45, 0.0), bar * 0.9, 0.0, facecolor="none", edgecolor=colour,
                                 linewidth=1.6, zorder=3, clip_on=False, gid="zero-bar")
                ax.add_patch(stub)
    top = axis_top(highest)
    for stub in [p for p in ax.patches if p.get_gid() == "zero-bar"]:
        stub.set_height(top * 0.012)  # a visible outline of an empty bar, a hair above the axis
    ax.set_ylim(0, top)
    if chance:
        ax.axhline(chance, color="0.25", linestyle="--", linewidth=0.9, zorder=2.5,
                   label=f"chance (1/{round(1 / chance)} = {chance:.3f})")
    ax.set_xticks(range(len(tasks)), [t.replace("_", "\n") for t in tasks], fontsize=8)
    ax.set_xlim(-0.55, len(tasks) - 0.45)
    ax.set_ylabel("held-out accuracy (95% interval)")
    ax.set_title(_wrap(title, int(width_in * 72 / (10 * 0.6))), fontsize=10)
    ax.grid(axis="y", alpha=0.3, zorder=0)
    ax.set_axisbelow(True)
    if rows:
        handles, names = ax.get_legend_handles_labels()
        marks = [i for i, name in enumerate(names) if name.startswith("chance (")]  # the rows first, then the marks
        handles = [h for i, h in enumerate(handles) if i not in marks] + [handles[i] for i in marks]
        names = [n for i, n in enumerate(names) if i not in marks] + [names[i] for i in marks]
        if zero_seen:
            handles.append(Patch(facecolor="none", edgecolor="0.3", linewidth=1.2))
            names.append("outline at 0: accuracy 0")
        longest = max(len(line) for name in names for line in name.splitlines())
        ncols = max(1, min(len(names), legend_chars // (longest + 6)))
        fig.legend(handles, names, loc="outside lower center", ncols=ncols, fontsize=7, frameon=False)
    return fig


def heatmap_figure(rows: list[FigureRow], title: str = "Held-out accuracy", chance: float | None = CHANCE):
    """Rows x tasks heatmap of accuracy with the value (and interval) in each cell.

    The colour scale runs from 0 to axis_top of the data, but at least 4x
    chance, so values near chance are told apart without noise around chance
    being painted as the whole colour range; its colour bar marks chance and
    the cells print the numbers.
    """
    import numpy as np
    from matplotlib.figure import Figure

    tasks = task_columns(rows)
    labels = unique_labels([r.label for r in rows])
    data = np.full((len(rows), len(tasks)), np.nan)
    for i, row in enumerate(rows):
        for j, task in enumerate(tasks):
            r = row.tasks.get(task)
            if r and r.get("accuracy") is not None:
                data[i, j] = float(r["accuracy"])
    finite = data[np.isfinite(data)]
    vmax = min(1.0, axis_top(max([float(finite.max()) if finite.size else 0.0, 4 * (chance or 0.0)])))
    digits = 3 if vmax < 0.2 else 2
    longest = max((len(label) for label in labels), default=10)
    fig = Figure(figsize=(1.3 * len(tasks) + 0.075 * min(longest, 60) + 2.2, 0.5 * len(rows) + 1.9), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(data), vmin=0, vmax=vmax, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), [t.replace("_", "\n") for t in tasks], fontsize=8)
    ax.set_yticks(range(len(rows)), [_wrap(label, 60) for label in labels], fontsize=8)
    for i, row in enumerate(rows):
        for j, task in enumerate(tasks):
            r = row.tasks.get(task)
            if not r or r.get("accuracy") is None:
                continue
            text = f"{r['accuracy']:.{digits}f}"
            if r.get("ci_low") is not None and r.get("ci_high") is not None:
                text += f"\n[{r['ci_low']:.{digits}f}, {r['ci_high']:.{digits}f}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if data[i, j] < 0.6 * vmax else "black")
    marked = bool(chance) and chance <= vmax  # type: ignore[operator]
    bar = fig.colorbar(image, ax=ax, label=f"accuracy (white line: chance, 1/{round(1 / chance)})" if marked else "accuracy")
    if marked:
        bar.ax.axhline(chance, color="white", linewidth=1.5)
    ax.set_title(title, fontsize=10)
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Save a Figure by extension (png, svg, pdf) through its own canvas; no pyplot involved."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format=path.suffix.lstrip(".") or "png")
    return path


# --------------------------------------------------------------------------- tables

TABLE_FIELDS = [
    "model",
    "label",
    "task",
    "accuracy",
    "ci_low",
    "ci_high",
    "interval",
    "n_seeds",
    "n_runs",
    "examples",
    "seq_len",
    "stale_rate",
    "parameter_count",
    "wall_time_seconds",
    "write_strength",
    "write_frequency",
    "surprise",
    "checkpoint",
]
# Per-task result keys copied into a table record as they are (the rest are set per row).
_RESULT_FIELDS = tuple(f for f in TABLE_FIELDS if f not in ("model", "label", "task", "interval", "n_seeds", "n_runs", "checkpoint"))
# How a group's runs become its statistic (results.aggregate); said wherever a seed's duplicates were folded.
FOLDING_RULE = (
    "runs sharing a seed are averaged into one value per seed first (they are not independent samples), "
    "so the mean and 95% t-interval are across the distinct seeds"
)


def table_records(rows: list[FigureRow]) -> list[dict[str, Any]]:
    """One flat record per (row, task), with the TABLE_FIELDS columns.

    `interval` says what the 95% interval is: "wilson" (binomial, over the
    examples of one model) or "t" (Student t, across the seeds of a group,
    `n_seeds` > 1). `n_runs` > `n_seeds` when some seed had several runs,
    averaged into one value first (FOLDING_RULE).
    """
    records = []
    for row in rows:
        for task in task_columns([row]):
            r = row.tasks[task]
            rec: dict[str, Any] = {"model": row.model, "label": row.label, "task": task, "checkpoint": row.checkpoint}
            for key in _RESULT_FIELDS:
                rec[key] = r.get(key)
            n_seeds = r.get("n_seeds") or row.extra.get("n_seeds") or 1
            rec["n_seeds"] = n_seeds
            rec["n_runs"] = r.get("n_runs") or row.extra.get("n_runs") or n_seeds
            rec["interval"] = r.get("interval") or ("t" if n_seeds > 1 else "wilson")
            if rec["parameter_count"] is None:
                rec["parameter_count"] = row.parameter_count
            records.append({k: rec.get(k) for k in TABLE_FIELDS})
    return records


def to_csv(rows: list[FigureRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_FIELDS, lineterminator="\n")
    writer.writeheader()
    for rec in table_records(rows):
        writer.writerow({k: ("" if v is None else v) for k, v in rec.items()})
    return buf.getvalue()


def to_json(rows: list[FigureRow]) -> str:
    """Everything per row: label, model, checkpoint, extras (seeds, settings) and the full per-task results."""
    return json.dumps(
        runs._jsonable(
            {
                "tasks": task_columns(rows),
                "rows": [
                    {"label": r.label, "model": r.model, "checkpoint": r.checkpoint, "extra": r.extra, "tasks": r.tasks}
                    for r in rows
                ],
            }
        ),
        indent=2,
    )


def _fmt_acc(r: dict[str, Any] | None) -> str:
    if not r or r.get("accuracy") is None:
        return "-"
    if r.get("ci_low") is None or r.get("ci_high") is None:
        return f"{r['accuracy']:.2f}"
    return f"{r['accuracy']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]"


def to_markdown(rows: list[FigureRow]) -> str:
    """A Markdown table: one line per row, accuracy [95% interval] per task, stale rate, parameters, eval time."""
    tasks = task_columns(rows)
    head = ["model", *tasks, "stale rate (changing_facts)", "params", "eval s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for row in rows:
        cf = row.tasks.get("changing_facts") or {}
        stale = cf.get("stale_rate")
        params = row.parameter_count
        wall = row.extra.get("wall_time_seconds")
        if wall is None:
            walls = [r.get("wall_time_seconds") for r in row.tasks.values() if isinstance(r.get("wall_time_seconds"), (int, float))]
            wall = sum(walls) if walls else None
        cells = [row.label.replace("|", "/"), *(_fmt_acc(row.tasks.get(t)) for t in tasks)]
        cells.append("-" if stale is None else f"{stale:.2f}")
        cells.append("-" if params is None else f"{params:,}")
        cells.append("-" if wall is None else f"{wall:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    seeds = any((row.extra.get("n_seeds") or 1) > 1 for row in rows)
    note = "Accuracy [95% interval]: Wilson over the held-out examples"
    note += "; rows marked ×N seeds: mean and Student-t interval across seeds." if seeds else "."
    folded = [f"{row.label.replace('|', '/')}: {row.extra['folded']}" for row in rows if row.extra.get("folded")]
    if folded:
        note += "\n\nSeeds with more than one run: " + "; ".join(folded) + ". " + FOLDING_RULE[0].upper() + FOLDING_RULE[1:] + "."
    return "\n".join(lines) + "\n\n" + note + "\n"


def plot_data(rows: list[FigureRow]) -> dict[str, Any]:
    """The original's plot_data.json: tasks, and per model its accuracy by task (plus our intervals)."""
    tasks = task_columns(rows)
    return {
        "tasks": tasks,
        "series": [
            {
                "label": r.label,
                "model": r.model,
                "checkpoint": r.checkpoint,
                "accuracy": {t: r.tasks[t].get("accuracy") for t in tasks if t in r.tasks},
                "ci_low": {t: r.tasks[t].get("ci_low") for t in tasks if t in r.tasks},
                "ci_high": {t: r.tasks[t].get("ci_high") for t in tasks if t in r.tasks},
            }
            for r in rows
        ],
    }


FORMATS = ("png", "svg", "pdf", "csv", "json", "md")


def export_all(
    rows: list[FigureRow],
    output_dir: str | Path,
    formats: Iterable[str] = ("png", "svg", "csv", "json", "md"),
    subtitle: str | None = None,
) -> list[Path]:
    """Write the accuracy figure, the heatmap and the tables in `formats` (of FORMATS); return the paths written.

    Figures: accuracy_by_task.<ext> (grouped bars with 95% interval whiskers)
    and accuracy_heatmap.<ext>; tables: results.csv, results.json and the
    original's plot_data.json, results.md. `subtitle` (e.g. the evaluation
    settings) goes under the figure titles.
    """
    formats = list(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown export format(s) {', '.join(unknown)} (choose from {', '.join(FORMATS)})")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = [replace(row, label=label) for row, label in zip(rows, unique_labels([r.label for r in rows]))]
    written: list[Path] = []
    figure_exts = [ext for ext in ("png", "svg", "pdf") if ext in formats]
    if figure_exts:
        suffix = f"\n{subtitle}" if subtitle else ""
        chance = chance_of(rows)
        bars = accuracy_figure(rows, "Held-out accuracy by task" + suffix, chance=chance)
        heat = heatmap_figure(rows, "Held-out accuracy" + suffix, chance=chance)
        for ext in figure_exts:
            written.append(save_figure(bars, out / f"accuracy_by_task.{ext}"))
            written.append(save_figure(heat, out / f"accuracy_heatmap.{ext}"))
    if "csv" in formats:
        (out / "results.csv").write_text(to_csv(rows))
        written.append(out / "results.csv")
    if "json" in formats:
        (out / "plot_data.json").write_text(json.dumps(runs._jsonable(plot_data(rows)), indent=2))
        (out / "results.json").write_text(to_json(rows))
        written += [out / "plot_data.json", out / "results.json"]
    if "md" in formats:
        (out / "results.md").write_text(to_markdown(rows))
        written.append(out / "results.md")
    return written
