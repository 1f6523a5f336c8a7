"""The evaluation matrix, headless: what a row is (RowSpec), evaluating a row, grouping by seed, sorting, export naming.

One row per checkpoint (a run directory) or fresh untrained model; one
column per task. A row's results (RowResult) and their cache live in
results.py; runs whose configs differ only in seed are grouped into one row
holding the mean across seeds and a 95% t-interval (results.aggregate).

Nothing here imports torch at module level: the TUI builds rows, validates
settings and reads caches on its UI thread; only `evaluate_row` needs torch.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from . import runs
from .config import (
    MODEL_NAMES,
    TASK_NAMES,
    EvalSettings,
)
from .config.names import _is_int
from .errors import one_line
from .results import (
    RowResult,
    aggregate,
    cached_result,
    checkpoint_fingerprint,
    write_cache,
)
from .stats import seed_units

# Train-config fields that do not change what a run learns (or only its seed does): runs that
# differ only in these are the same experiment, grouped into one row across seeds.
NOT_THE_EXPERIMENT = frozenset(
    {"seed", "device", "eval_every", "eval_batches", "checkpoint_every", "log_every", "sweep", "sweep_cell"}
)

# Columns besides the tasks, in display order (the task columns sit between label/status and these).
EXTRA_COLUMNS = ("stale", "params", "time")
SORTABLE = ("label", *TASK_NAMES, *EXTRA_COLUMNS)


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class RowSpec:
    """What a row evaluates: a run's checkpoint, or a fresh untrained model of a registry name."""

    key: str  # unique id: the run directory, or fresh:<model>:<seed>
    label: str  # shown in the table and the figures
    model: str  # registry name
    run_dir: Path | None = None  # checkpoint rows: the run directory holding checkpoint.pt
    seed: int | None = None  # the training seed (checkpoint) or the init seed (fresh)
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # the run's config.json

    @property
    def fresh(self) -> bool:
        return self.run_dir is None

    @property
    def checkpoint(self) -> Path | None:
        return None if self.run_dir is None else self.run_dir / runs.CHECKPOINT_FILE

    @classmethod
    def for_run(cls, run_dir: str | Path, config: dict[str, Any] | None = None) -> "RowSpec":
        run_dir = Path(run_dir)
        config = config if config is not None else (runs.read_json(run_dir / runs.CONFIG_FILE) or {})
        seed = config.get("seed")
        return cls(
            key=str(run_dir),
            label=f"{config.get('model', '?')} · {config.get('task', '?')} · s{seed if _is_int(seed) else '?'}",
            model=str(config.get("model", "?")),
            run_dir=run_dir,
            seed=seed if _is_int(seed) else None,
            config=dict(config),
        )

    @classmethod
    def for_fresh(cls, model: str, seed: int = 0) -> "RowSpec":
        if model not in MODEL_NAMES:
            raise ValueError(f"unknown model '{model}' (choose from {', '.join(MODEL_NAMES)})")
        return cls(key=f"fresh:{model}:{seed}", label=f"{model} (fresh, seed {seed})", model=model, seed=seed)

    def group_key(self) -> str:
        """Rows with equal group keys are the same experiment up to the seed."""
        if self.fresh:
            return f"fresh:{self.model}"
        if not self.config:
            return f"run:{self.key}"  # nothing to compare: a group of its own
        same = {k: v for k, v in self.config.items() if k not in NOT_THE_EXPERIMENT}
        return "config:" + json.dumps(same, sort_keys=True, default=str)


# --------------------------------------------------------------------------- evaluation


def evaluate_row(
    spec: RowSpec,
    settings: EvalSettings,
    device: Any = "cpu",
    stop: threading.Event | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    use_cache: bool = True,
    model_overrides: dict[str, Any] | None = None,
) -> RowResult:
    """Evaluate one row; a result, or a RowResult with `error` when the checkpoint or model cannot be used.

    Checkpoint rows read and write `eval_cache.json` in their run directory
    (`use_cache=False` re-evaluates and overwrites the entry). The cache is
    written only after every task finished: EvaluationCancelled (from `stop`)
    propagates and leaves the cache as it was. Fresh rows are never cached on
    disk (`model_overrides` sizes them; default: the spec's ModelConfig).
    """
    from forgetnet_core.checkpoints import fresh_model, load_model

    from .evaluate import EvaluationCancelled, evaluate_model
    from .models import parameter_count

    if use_cache and spec.run_dir is not None:
        hit = cached_result(spec.run_dir, settings)
        if hit is not None:
            return hit
    fingerprint: dict[str, Any] | None = None
    step = None
    try:
        if spec.run_dir is not None:
            checkpoint = spec.run_dir / runs.CHECKPOINT_FILE
            try:
                fingerprint = checkpoint_fingerprint(checkpoint)
            except OSError:
                raise runs.CheckpointError(f"checkpoint not found: {checkpoint}") from None
            model, data = load_model(checkpoint, device)
            step = data.get("step")
        else:
            model = fresh_model(spec.model, spec.seed or 0, **(model_overrides or {})).to(device)
        started = time.perf_counter()
        tasks = evaluate_model(
            model,
            settings.tasks,
            settings.suite,
            batch_size=settings.batch_size,
            seq_len=settings.seq_len,
            seed=settings.seed,
            device=device,
            stop=stop,
            on_progress=on_progress,
            extrapolation_len=settings.extrapolation_length,
            examples=settings.examples,
            knobs=settings.knobs,
        )
        wall = time.perf_counter() - started
    except EvaluationCancelled:
        raise
    except (runs.CheckpointError, ValueError, RuntimeError, OSError, KeyError, TypeError) as exc:
        return RowResult(settings=settings.to_dict(), error=one_line(exc), evaluated_at=time.time())
    result = RowResult(
        tasks=tasks,
        parameter_count=parameter_count(model),
        wall_time_seconds=wall,
        settings=settings.to_dict(),
        evaluated_at=time.time(),
        checkpoint_step=step if _is_int(step) else None,
        device=str(device),
    )
    if spec.run_dir is not None and fingerprint is not None:
        # Only cache what was computed from the checkpoint as it still is (a training run may have rewritten it).
        try:
            unchanged = checkpoint_fingerprint(spec.run_dir / runs.CHECKPOINT_FILE, digest=False)
        except OSError:
            unchanged = {}
        if unchanged.get("size") == fingerprint["size"] and unchanged.get("mtime_ns") == fingerprint["mtime_ns"]:
            try:
                write_cache(spec.run_dir, settings, result, fingerprint)
            except OSError:
                pass  # a read-only run directory: the result is still shown, just not kept
    return result


# --------------------------------------------------------------------------- display rows


@dataclass
class MatrixRow:
    """A line of the matrix as shown: a single row, a seed group, or one seed inside an expanded group."""

    key: str  # unique table key: the spec key, or group:<group key>
    label: str
    model: str
    kind: str  # "single", "group" or "member"
    members: list[str]  # spec keys this line covers (one for single and member)
    result: RowResult | None  # None: not evaluated under the current settings
    expanded: bool = False
    seeds: list[int | None] = field(default_factory=list)
    parent: str | None = None  # a member's group key

    @property
    def n_seeds(self) -> int:
        """Distinct seeds among the runs this line covers (an unknown seed counts as one of its own)."""
        return len(set(seed_units(self.seeds))) if self.seeds else len(self.members)

    @property
    def runs_per_seed(self) -> dict[int, int]:
        """{seed: runs} for every seed with more than one run here (empty when each seed has one run)."""
        counts: dict[int, int] = {}
        for seed in self.seeds:
            if seed is not None:
                counts[seed] = counts.get(seed, 0) + 1
        return {seed: n for seed, n in counts.items() if n > 1}

    def folded(self) -> str | None:
        """For a group holding several runs of one seed: what was folded, e.g. '4 runs of 2 seeds (seed 1 ×2, seed 2 ×2)'."""
        repeats = self.runs_per_seed
        if self.kind != "group" or not repeats:
            return None
        which = ", ".join(f"seed {seed} ×{n}" for seed, n in sorted(repeats.items()))
        return f"{len(self.members)} runs of {self.n_seeds} seeds ({which})"


def folded_note(rows: Sequence[MatrixRow]) -> str | None:
    """One paragraph naming every group whose seeds repeat and what was done about it; None when no seed repeats."""
    from .export import FOLDING_RULE

    parts = [f"{row.label}: {row.folded()}" for row in rows if row.folded()]
    if not parts:
        return None
    return "; ".join(parts) + ". " + FOLDING_RULE[0].upper() + FOLDING_RULE[1:] + "."


def _group_label(specs: list[RowSpec], clash: dict[str, list[str]]) -> str:
    first = specs[0]
    if first.fresh:
        return f"{first.model} (fresh)"
    base = f"{first.model} · {first.config.get('task', '?')}"
    differing = clash.get(base) or []
    extra = " ".join(f"{k}={first.config.get(k)}" for k in differing[:3])
    return f"{base} {extra}".strip()


def _differing_keys(configs: list[dict[str, Any]]) -> list[str]:
    keys = sorted({k for c in configs for k in c} - NOT_THE_EXPERIMENT - {"model", "task"})
    return [k for k in keys if len({json.dumps(c.get(k), default=str) for c in configs}) > 1]


def build_rows(
    specs: Sequence[RowSpec],
    results: dict[str, RowResult],
    group_seeds: bool = True,
    expanded: Iterable[str] = (),
    sort_by: str | None = None,
    descending: bool = True,
) -> list[MatrixRow]:
    """The lines of the matrix, in display order.

    With `group_seeds`, specs with equal `group_key()` and more than one
    member become a group line (the aggregate of its members' results, shown
    once every member is evaluated; partial aggregates would mislead), followed,
    when its key is in `expanded`, by one member line per seed. Sorting moves
    groups as units (members stay under their group, ordered by seed); lines
    without a value in the sort column go last either way.
    """
    expanded = set(expanded)
    groups: dict[str, list[RowSpec]] = {}
    for spec in specs:
        gkey = spec.group_key() if group_seeds else f"one:{spec.key}"
        groups.setdefault(gkey, []).append(spec)
    # Labels for groups that share model and task but differ in some other setting.
    by_base: dict[str, list[dict[str, Any]]] = {}
    for members in groups.values():
        if len(members) > 1 and not members[0].fresh:
            by_base.setdefault(f"{members[0].model} · {members[0].config.get('task', '?')}", []).append(members[0].config)
    clash = {base: _differing_keys(cfgs) for base, cfgs in by_base.items() if len(cfgs) > 1}

    units: list[list[MatrixRow]] = []
    for gkey, members in groups.items():
        if len(members) == 1:
            spec = members[0]
            units.append([MatrixRow(spec.key, spec.label, spec.model, "single", [spec.key], results.get(spec.key), seeds=[spec.seed])])
            continue
        members = sorted(members, key=lambda s: (s.seed is None, s.seed or 0, s.key))
        member_results = [results.get(s.key) for s in members]
        seeds = [s.seed for s in members]
        agg = aggregate(member_results, seeds) if all(r is not None for r in member_results) else None  # type: ignore[arg-type]
        key = f"group:{gkey}"
        is_open = key in expanded
        n_seeds = len(set(seed_units(seeds)))
        runs = f" ({len(members)} runs)" if n_seeds < len(members) else ""
        label = f"{_group_label(members, clash)} ×{n_seeds} seed{'s' if n_seeds != 1 else ''}{runs}"
        unit = [MatrixRow(key, label, members[0].model, "group", [s.key for s in members], agg, is_open, seeds)]
        if is_open:
            repeated = {s for s in seeds if s is not None and seeds.count(s) > 1}
            names = _run_names(members)
            for spec, res in zip(members, member_results):
                label = f"seed {'?' if spec.seed is None else spec.seed}"
                if (spec.seed in repeated or spec.seed is None) and spec.key in names:
                    label += f" · {names[spec.key]}"
                unit.append(MatrixRow(spec.key, label, spec.model, "member", [spec.key], res, seeds=[spec.seed], parent=key))
        units.append(unit)

    _disambiguate([row for unit in units for row in unit if row.kind == "single"], specs)
    if sort_by:
        present = [u for u in units if sort_value(u[0], sort_by) is not None]
        missing = [u for u in units if sort_value(u[0], sort_by) is None]
        present.sort(key=lambda u: sort_value(u[0], sort_by), reverse=descending)
        units = present + missing
    return [row for unit in units for row in unit]


def _run_names(specs: Sequence[RowSpec]) -> dict[str, str]:
    """Each run's directory name, or sweep/name where two runs (e.g. of two sweeps) share a name."""
    names = {s.key: s.run_dir.name for s in specs if s.run_dir is not None}
    values = list(names.values())
    return {
        s.key: names[s.key] if values.count(names[s.key]) == 1 else f"{s.run_dir.parent.name}/{s.run_dir.name}"
        for s in specs
        if s.run_dir is not None
    }


def _disambiguate(rows: list[MatrixRow], specs: Sequence[RowSpec]) -> None:
    """Equal labels (same model, task and seed, other settings) get their run directory's name appended."""
    by_key = {s.key: s for s in specs}
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.label] = counts.get(row.label, 0) + 1
    for row in rows:
        spec = by_key.get(row.key)
        if counts[row.label] > 1 and spec is not None and spec.run_dir is not None:
            row.label = f"{row.label} · {spec.run_dir.name}"


def sort_value(row: MatrixRow, column: str) -> Any:
    """The value a column sorts by (None: no value, sorts last). Label sorts alphabetically."""
    if column == "label":
        return row.label.lower()
    result = row.result
    if result is None or not result.ok:
        return None
    if column in TASK_NAMES or column in result.tasks:
        task = result.tasks.get(column)
        return None if not task or task.get("accuracy") is None else float(task["accuracy"])
    if column == "stale":
        return result.stale_rate()
    if column == "params":
        return result.parameter_count
    if column == "time":
        return result.wall_time_seconds
    raise ValueError(f"unknown column '{column}' (choose from {', '.join(SORTABLE)})")


def export_rows(rows: Sequence[MatrixRow], specs: dict[str, RowSpec] | None = None):
    """The evaluated lines as export.FigureRow (errors and unevaluated lines left out), in display order.

    Labels are unique, so a figure's legend never lists two entries alike: a
    member of an expanded group is called by its run's own label, plus its run
    directory when its seed has several runs in the group. A group's `extra`
    says how many distinct seeds and runs it holds and which seeds repeat.
    """
    from .export import FigureRow, unique_labels

    out = []
    for row in rows:
        if row.result is None or not row.result.ok:
            continue
        spec = (specs or {}).get(row.members[0]) if row.kind != "group" else None
        checkpoint = str(spec.checkpoint) if spec is not None and spec.checkpoint is not None else None
        label = row.label
        if row.kind == "member" and spec is not None:
            label = spec.label  # "seed 1" alone says too little
            if " · " in row.label:  # "seed 1 · <run>": its seed repeats in the group, so the run is named
                label = f"{label} · {row.label.split(' · ', 1)[1]}"
        distinct = sorted({s for s in row.seeds if s is not None})
        extra = {
            "parameter_count": row.result.parameter_count,
            "n_seeds": row.result.n_seeds,
            "n_runs": row.result.n_runs,
            "seeds": distinct,
            "wall_time_seconds": row.result.wall_time_seconds,
            "settings": row.result.settings,
        }
        if row.kind == "group" and row.runs_per_seed:
            extra["runs_per_seed"] = {str(k): v for k, v in sorted(row.runs_per_seed.items())}
            extra["folded"] = row.folded()
        if row.kind == "member" and row.parent is not None:
            extra["group"] = row.parent
        out.append(FigureRow(label, row.model, row.result.tasks, checkpoint, None, extra))
    for result_row, label in zip(out, unique_labels([r.label for r in out])):
        result_row.label = label
    return out


# --------------------------------------------------------------------------- export naming


def export_folder_name(rows: Sequence[Any], settings: EvalSettings | None = None, when: float | None = None) -> str:
    """A folder name that says what an export shows: models, suite, examples, length and the time.

    e.g. 'accuracy-forgetnet-local_transformer-v2-160ex-len64-20250612-153001'.
    """
    models: list[str] = []
    for row in rows:
        model = getattr(row, "model", None)
        if model and model not in models:
            models.append(model)
    what = "-".join(models[:4]) + (f"-and-{len(models) - 4}-more" if len(models) > 4 else "")
    parts = ["accuracy", what or "empty"]
    if settings is not None:
        parts += [settings.suite, f"{settings.examples}ex", f"len{settings.seq_len}"]
    parts.append(time.strftime("%Y%m%d-%H%M%S", time.localtime(when)))
    return "-".join(p for p in parts if p)


def results_root(runs_dir: str | Path) -> Path:
    """Where the lab's exports go by default: `results/` beside the runs directory (never the current directory
    by accident: `forgetnet-lab --runs-dir /data/runs` exports to /data/results wherever it was started)."""
    return Path(runs_dir).resolve().parent / "results"


def where_files_are() -> str | None:
    """Over SSH, a note that files are on the server (for notifications); None on a local terminal."""
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT") or os.environ.get("SSH_TTY"):
        import socket

        return f"on the server {socket.gethostname()} (this is an SSH session: copy them with scp/rsync)"
    return None
