"""Figures of a stepped example (matplotlib Figure objects, no pyplot state) and the names exports are written under.

slot_time_figure (a slot memory's read and write weights, slot by time),
head_time_figure (a delta-rule memory's write strength, forget gate and read
strength, head by time), belief_figure (what the model would answer about
each key, keys by time); token labels on the time axis coloured by the
example's marks, with a legend, and titles wrapped to the figure's width.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional

import numpy as np

from .checkpoints import ModelSource
from .stepper import StepperTrace, belief_status

# Token-label colours of the slot-by-time figure, by strip mark, and what each says (the figure's legend).
MARK_COLOURS = {"latest": "#1a9850", "stale": "#d73027", "overwrite": "#fc8d59", "fact": "#4575b4",
                "hop": "#4575b4", "query": "#7b3294"}
MARK_MEANINGS = {
    "latest": "newest fact about the queried key (the answer)",
    "stale": "stale fact (overwritten later)",
    "overwrite": "overwrite of the queried key",
    "fact": "fact about the queried key",
    "hop": "hop of the multi-hop chain",
    "query": "query",
}


def slot_time_figure(st: StepperTrace, upto: Optional[int] = None):
    """A matplotlib Figure (no pyplot state) of the read and write weights, slot by time, tokens on the time axis.

    Columns after ``upto`` (the cursor) are left blank, as on the screen.
    Tick labels are coloured by the strip's marks (stale, newest, query), and
    a legend under the axes says what each colour means. The title is wrapped
    to the figure's width, so a long run name is never clipped.
    """
    if st.memory_kind != "slot":
        raise ValueError(f"{st.model_name} keeps no slot memory: there are no slot read or write weights to plot")
    S = st.read.shape[1]
    panels = [(st.read, "read weight β (slot × time)", 1.0), (st.write, "write weight α (slot × time)", 1.0)]
    return _time_figure(st, upto, panels, "slot", range(0, S, max(1, S // 8)), "slot memory")


def _time_figure(st: StepperTrace, upto: Optional[int], panels, row_label: str, row_ticks, what: str):
    """Stacked rows-by-time heatmaps (each (data T x rows, title, vmax)), blank after the cursor, tokens on the time axis."""
    from matplotlib.figure import Figure

    T, rows = panels[0][0].shape
    upto = T - 1 if upto is None else max(0, min(int(upto), T - 1))
    width = max(8.0, T * 0.17)
    fig = Figure(figsize=(width, 7.0), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (data, title, vmax) in zip(axes, panels):
        shown = np.full((rows, T), np.nan)
        shown[:, : upto + 1] = data[: upto + 1].T
        im = ax.imshow(shown, aspect="auto", origin="lower", cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
        ax.set_ylabel(row_label)
        ax.set_yticks(row_ticks)
        ax.set_title(title, fontsize=10, loc="left")
        ax.axvline(upto, color="white", linewidth=0.8, linestyle=":")
        fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01)
    _token_axis(fig, axes[-1], st, T, upto)
    fig.suptitle(_wrapped_title(st, width, upto, what), fontsize=10)
    return fig


def _wrapped_title(st: StepperTrace, width: float, upto: int, what: str) -> str:
    verdict = st.verdict.describe() if st.verdict else ""
    chars = int(width * 72 / (10 * 0.62))  # 10-pt characters across the figure
    lines = [f"{what} · {st.model_label}",
             f"{st.task} ({st.suite}), example seed {st.seed}, cursor t={upto}" + (f" · {verdict}" if verdict else "")]
    return "\n".join(part for line in lines for part in textwrap.wrap(line, chars))


def _token_axis(fig, ax, st: StepperTrace, T: int, upto: int) -> None:
    """Token names on the time axis, coloured by the strip's marks, and a legend of what the colours mean."""
    from matplotlib.lines import Line2D

    ax.set_xticks(range(T))
    ax.set_xticklabels(st.names[:T], rotation=90, fontsize=6, family="monospace")
    for t, lab in enumerate(ax.get_xticklabels()):
        kind = st.marks.get(t)
        if kind:
            lab.set_color(MARK_COLOURS[kind])
            lab.set_fontweight("bold")
    present = [k for k in MARK_COLOURS if k in set(st.marks.values())]
    handles = [Line2D([], [], color=MARK_COLOURS[k], marker="s", linestyle="none", markersize=7) for k in present]
    handles.append(Line2D([], [], color="0.3", linestyle=":", linewidth=1.2))
    names = [MARK_MEANINGS[k] for k in present] + [f"cursor (t={upto})"]
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(names), 4), fontsize=8, frameon=False,
               title="token labels", title_fontsize=8)


def head_time_figure(st: StepperTrace, upto: Optional[int] = None):
    """A matrix memory's write strength beta, forget gate alpha and read strength |S q|, head by time."""
    if st.memory_kind != "matrix":
        raise ValueError(f"{st.model_name} has no matrix memory")
    top_read = max(float(st.read_strength.max()), 1e-9)
    panels = [(st.beta, "write strength β (head × time)", 1.0), (1.0 - st.alpha, "forget 1 - α (head × time)", 1.0),
              (st.read_strength, "read strength |S q| (head × time)", top_read)]
    return _time_figure(st, upto, panels, "head", range(st.beta.shape[1]), "delta-rule memory")


BELIEF_COLOURS = {"right": "#1a9850", "stale": "#d73027", "wrong": "#878787"}


def belief_figure(st: StepperTrace, upto: Optional[int] = None):
    """Keys x time: at every record boundary, what the model would answer about each key (colour: right, stale,
    wrong; shade: its probability), the believed value written where it changes, the queried key marked."""
    b = st.beliefs
    if b is None:
        raise ValueError("this trace holds no beliefs")
    from matplotlib.colors import to_rgb
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    P, K = b.believed.shape
    T = st.seq_len
    upto = T - 1 if upto is None else max(0, min(int(upto), T - 1))
    width = max(8.0, T * 0.17)
    fig = Figure(figsize=(width, max(3.8, 1.6 + 0.3 * K)), layout="constrained")
    ax = fig.subplots()
    image = np.ones((K, T, 3))
    last = min(upto, P - 1)
    for j in range(K):
        for t in range(last + 1):
            truth = int(b.truth[t, j])
            if truth < 0 and b.keys[j] != b.query_key:
                continue
            believed = int(b.believed[t, j])
            if believed < 0:
                continue
            status = belief_status(b, t, j)
            if status == "unset":
                continue  # asked about before any record of it: nothing to be right or wrong about yet
            shade = 0.25 + 0.75 * float(b.probability[t, j])
            image[j, t] = 1 - shade * (1 - np.array(to_rgb(BELIEF_COLOURS[status])))
    ax.imshow(image, aspect="auto", origin="upper", interpolation="nearest")
    for j in range(K):  # the believed value where it changes
        prev = None
        for t in range(last + 1):
            if not b.probed[t]:
                continue
            believed = int(b.believed[t, j])
            if believed >= 0 and believed != prev and (b.truth[t, j] >= 0 or b.keys[j] == b.query_key):
                ax.text(t, j, st.vocab_names[believed], fontsize=5.5, ha="center", va="center", family="monospace")
            prev = believed
    ax.set_yticks(range(K))
    ax.set_yticklabels([st.vocab_names[k] + (" (query)" if k == b.query_key else "") for k in b.keys],
                       fontsize=7, family="monospace")
    ax.axvline(upto, color="0.3", linewidth=0.8, linestyle=":")
    if P < T:
        ax.axvspan(P - 0.5, T - 0.5, color="0.93")
    ax.set_title("what it would answer about each key if the query came now (shade: probability)", fontsize=9, loc="left")
    _token_axis(fig, ax, st, T, upto)
    fig.legend([Patch(color=BELIEF_COLOURS[k]) for k in BELIEF_COLOURS],
               ["right (the key's newest value)", "stale (an older value of the key)", "wrong"],
               loc="outside right center", fontsize=8, frameon=False, title="belief", title_fontsize=8)
    fig.suptitle(_wrapped_title(st, width, upto, "beliefs"), fontsize=10)
    return fig


def save_slot_time_png(st: StepperTrace, path: str | Path, upto: Optional[int] = None) -> Path:
    """Write the memory's own time figure (slot weights, or head strengths for a matrix memory) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = head_time_figure(st, upto) if st.memory_kind == "matrix" else slot_time_figure(st, upto)
    fig.savefig(path, dpi=120)
    return path


def save_belief_png(st: StepperTrace, path: str | Path, upto: Optional[int] = None) -> Path:
    """Write :func:`belief_figure` to ``path`` (parents created); return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    belief_figure(st, upto).savefig(path, dpi=120)
    return path


def source_slug(source: Optional[ModelSource]) -> str:
    """A model source as a file-name part: a checkpoint's run directory name, 'bundled-<model>' or 'fresh-<model>'."""
    if source is None:
        return "model"
    if source.kind == "checkpoint" and source.path:
        path = Path(source.path)
        name = path.parent.name if path.name == "checkpoint.pt" else path.stem
    elif source.kind == "bundled":
        name = f"bundled-{source.model}"
    else:
        name = f"{source.kind}-{source.model}"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "model"


def export_names(primary: Optional[ModelSource], compare: Optional[ModelSource], task: str, seed: int, cursor: int,
                 stamp: str) -> tuple[str, list[str]]:
    """(the export's base name, the PNG name of each model): compare mode names both models' runs.

    One model: ``stepper-<run>-<task>-seed<S>-t<T>-<stamp>`` and ``<base>.png``.
    Two: ``stepper-<run A>-vs-<run B>-<task>-...`` and ``<base>-<run A>.png``,
    ``<base>-<run B>.png`` (``-2`` on the second when a model is compared with itself).
    """
    a = source_slug(primary)
    if compare is None:
        base = f"stepper-{a}-{task}-seed{seed}-t{cursor}-{stamp}"
        return base, [f"{base}.png"]
    b = source_slug(compare)
    base = f"stepper-{a}-vs-{b}-{task}-seed{seed}-t{cursor}-{stamp}"
    return base, [f"{base}-{a}.png", f"{base}-{b}{'-2' if b == a else ''}.png"]



__all__ = [
    "BELIEF_COLOURS",
    "MARK_COLOURS",
    "MARK_MEANINGS",
    "belief_figure",
    "export_names",
    "head_time_figure",
    "save_belief_png",
    "save_slot_time_png",
    "slot_time_figure",
    "source_slug",
]
