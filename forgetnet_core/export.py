"""Figures (matplotlib Figure objects, no pyplot state) and CSV/JSON/Markdown tables from evaluation results."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import runs
from .config import TASK_NAMES

# A row of the evaluation matrix: one model (checkpoint or fresh) and its per-task results.


@dataclass
class ResultRow:
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


def task_columns(rows: Iterable[ResultRow]) -> list[str]:
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


def accuracy_figure(rows: list[ResultRow], title: str = "Held-out accuracy by task"):
    """Grouped bars of accuracy by task, one colour per row, with 95% interval whiskers."""
    from matplotlib.figure import Figure

    tasks = task_columns(rows)
    fig = Figure(figsize=(max(6.0, 1.6 * len(tasks) + 2), 4.2), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    n = max(1, len(rows))
    width = 0.8 / n
    for i, row in enumerate(rows):
        xs, ys, lo, hi = [], [], [], []
        for j, task in enumerate(tasks):
            r = row.tasks.get(task)
            if not r or r.get("accuracy") is None:
                continue
            acc = float(r["accuracy"])
            xs.append(j - 0.4 + width * (i + 0.5))
            ys.append(acc)
            lo.append(max(0.0, acc - float(r.get("ci_low", acc))))
            hi.append(max(0.0, float(r.get("ci_high", acc)) - acc))
        ax.bar(xs, ys, width=width * 0.95, label=row.label, yerr=[lo, hi], capsize=2, error_kw={"elinewidth": 0.8})
    ax.set_xticks(range(len(tasks)), [t.replace("_", "\n") for t in tasks], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("accuracy (95% interval)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if rows:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def heatmap_figure(rows: list[ResultRow], title: str = "Held-out accuracy"):
    """Rows x tasks heatmap of accuracy with the value (and interval) in each cell."""
    import numpy as np
    from matplotlib.figure import Figure

    tasks = task_columns(rows)
    data = np.full((len(rows), len(tasks)), np.nan)
    for i, row in enumerate(rows):
        for j, task in enumerate(tasks):
            r = row.tasks.get(task)
            if r and r.get("accuracy") is not None:
                data[i, j] = float(r["accuracy"])
    fig = Figure(figsize=(1.5 * len(tasks) + 3, 0.45 * len(rows) + 1.8), dpi=120, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(data), vmin=0, vmax=1, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(tasks)), [t.replace("_", "\n") for t in tasks], fontsize=8)
    ax.set_yticks(range(len(rows)), [r.label for r in rows], fontsize=8)
    for i, row in enumerate(rows):
        for j, task in enumerate(tasks):
            r = row.tasks.get(task)
            if not r or r.get("accuracy") is None:
                continue
            text = f"{r['accuracy']:.2f}"
            if r.get("ci_low") is not None and r.get("ci_high") is not None:
                text += f"\n[{r['ci_low']:.2f},{r['ci_high']:.2f}]"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if data[i, j] < 0.6 else "black")
    fig.colorbar(image, ax=ax, label="accuracy")
    ax.set_title(title)
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
# How a group's runs become its statistic (matrix.aggregate); said wherever a seed's duplicates were folded.
FOLDING_RULE = (
    "runs sharing a seed are averaged into one value per seed first (they are not independent samples), "
    "so the mean and 95% t-interval are across the distinct seeds"
)


def table_records(rows: list[ResultRow]) -> list[dict[str, Any]]:
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


def to_csv(rows: list[ResultRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_FIELDS, lineterminator="\n")
    writer.writeheader()
    for rec in table_records(rows):
        writer.writerow({k: ("" if v is None else v) for k, v in rec.items()})
    return buf.getvalue()


def to_json(rows: list[ResultRow]) -> str:
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


def to_markdown(rows: list[ResultRow]) -> str:
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


def plot_data(rows: list[ResultRow]) -> dict[str, Any]:
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
    rows: list[ResultRow],
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
        bars = accuracy_figure(rows, "Held-out accuracy by task" + suffix)
        heat = heatmap_figure(rows, "Held-out accuracy" + suffix)
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
