"""The evaluation matrix, headless: settings, the per-run result cache, row evaluation, seed grouping and sorting.

One row per checkpoint (a run directory) or fresh untrained model; one
column per task. Results for a checkpoint are cached in its run directory
(`eval_cache.json`) keyed by the checkpoint's fingerprint (size, mtime,
SHA-256) and the evaluation settings, and reused until either changes.
Runs whose configs differ only in seed are grouped into one row holding
the mean across seeds and a 95% t-interval.

Nothing here imports torch at module level: the TUI builds rows, validates
settings and reads caches on its UI thread; only `evaluate_row` needs torch.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from . import runs
from .config import (
    DEFAULT_EVAL_SEED,
    EXTRAPOLATION_FACTOR,
    MODEL_NAMES,
    TASK_NAMES,
    EvalSettings,
)
from .config.names import _is_int
from .errors import one_line
from .stats import mean_interval, seed_units

CACHE_FILE = "eval_cache.json"
CACHE_VERSION = 1

# Train-config fields that do not change what a run learns (or only its seed does): runs that
# differ only in these are the same experiment, grouped into one row across seeds.
NOT_THE_EXPERIMENT = frozenset(
    {"seed", "device", "eval_every", "eval_batches", "checkpoint_every", "log_every", "sweep", "sweep_cell"}
)

# Columns besides the tasks, in display order (the task columns sit between label/status and these).
EXTRA_COLUMNS = ("stale", "params", "time")
SORTABLE = ("label", *TASK_NAMES, *EXTRA_COLUMNS)


# --------------------------------------------------------------------------- settings


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


def checkpoint_rows(runs_dir: str | Path) -> list[RowSpec]:
    """A row for every run under `runs_dir` that has a checkpoint, newest first."""
    specs = []
    for info in runs.list_runs(runs_dir):
        if (info.path / runs.CHECKPOINT_FILE).exists():
            specs.append(RowSpec.for_run(info.path, info.config))
    return specs


def sweep_specs(folder: str | Path) -> tuple[list[RowSpec], EvalSettings]:
    """A sweep's rows (every cell whose run has a checkpoint, in grid order) and the settings it was evaluated with.

    The settings are the manifest's `eval`, so each finished cell's cached
    result (written by `forgetnet sweep`) is found without evaluating again.
    Cells not started yet have no checkpoint and no row; a running cell's row
    holds its latest checkpoint. ValueError when `folder` is not a sweep.
    """
    from .sweep import read_manifest

    folder = Path(folder)
    manifest = read_manifest(folder)
    try:
        settings = EvalSettings.from_dict(manifest.get("eval") or {})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"sweep {folder.name}: unreadable eval settings in its manifest ({one_line(exc)})") from None
    specs = []
    for cell in manifest.get("cells") or []:
        run_dir = folder / str(cell.get("run", ""))
        if cell.get("run") and (run_dir / runs.CHECKPOINT_FILE).exists():
            specs.append(RowSpec.for_run(run_dir))
    return specs, settings


@dataclass
class RowResult:
    """One row's results under one EvalSettings, or the error that stopped it."""

    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # task -> evaluate_model() result
    parameter_count: int | None = None
    wall_time_seconds: float | None = None  # evaluation time, all tasks
    settings: dict[str, Any] = field(default_factory=dict)
    evaluated_at: float | None = None  # unix seconds
    checkpoint_step: int | None = None
    cached: bool = False  # read from eval_cache.json rather than computed now
    error: str | None = None  # one line; when set, `tasks` is empty
    n_seeds: int = 1  # > 1 for a group's aggregate: the DISTINCT seeds its interval is across
    n_runs: int = 1  # runs behind it; > n_seeds when runs sharing a seed were folded (averaged per seed first)
    device: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.tasks)

    def stale_rate(self) -> float | None:
        value = (self.tasks.get("changing_facts") or {}).get("stale_rate")
        return None if value is None else float(value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "parameter_count": self.parameter_count,
            "wall_time_seconds": self.wall_time_seconds,
            "settings": self.settings,
            "evaluated_at": self.evaluated_at,
            "checkpoint_step": self.checkpoint_step,
            "device": self.device,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], cached: bool = False) -> "RowResult":
        return cls(
            tasks={t: r for t, r in (data.get("tasks") or {}).items() if isinstance(r, dict)},
            parameter_count=data.get("parameter_count"),
            wall_time_seconds=data.get("wall_time_seconds"),
            settings=data.get("settings") or {},
            evaluated_at=data.get("evaluated_at"),
            checkpoint_step=data.get("checkpoint_step"),
            device=data.get("device"),
            cached=cached,
        )


# --------------------------------------------------------------------------- the cache


def checkpoint_fingerprint(path: str | Path, digest: bool = True) -> dict[str, Any]:
    """{size, mtime_ns, sha256}: what a cached result is valid for. OSError if the file is missing."""
    path = Path(path)
    st = path.stat()
    fp: dict[str, Any] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if digest:
        sha = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
        fp["sha256"] = sha.hexdigest()
    return fp


def _same_checkpoint(cached: dict[str, Any], path: Path) -> bool:
    """Size and mtime equal: trust it. Same size, other mtime (copied, touched): compare the hash."""
    try:
        now = checkpoint_fingerprint(path, digest=False)
    except OSError:
        return False
    if cached.get("size") != now["size"]:
        return False
    if cached.get("mtime_ns") == now["mtime_ns"]:
        return True
    try:
        return cached.get("sha256") == checkpoint_fingerprint(path)["sha256"]
    except OSError:
        return False


def read_cache(run_dir: str | Path) -> dict[str, Any] | None:
    data = runs.read_json(Path(run_dir) / CACHE_FILE)
    if not data or data.get("version") != CACHE_VERSION or not isinstance(data.get("entries"), dict):
        return None
    return data


def cached_result(run_dir: str | Path, settings: EvalSettings) -> RowResult | None:
    """The cached result for these settings, if the checkpoint is the one it was computed from."""
    run_dir = Path(run_dir)
    data = read_cache(run_dir)
    if data is None:
        return None
    entry = data["entries"].get(settings.cache_key())
    if not isinstance(entry, dict):
        return None
    if not _same_checkpoint(data.get("checkpoint") or {}, run_dir / runs.CHECKPOINT_FILE):
        return None
    return RowResult.from_dict(entry, cached=True)


def write_cache(run_dir: str | Path, settings: EvalSettings, result: RowResult, fingerprint: dict[str, Any]) -> None:
    """Add one complete result to the run's cache (atomically); entries for another checkpoint are dropped."""
    run_dir = Path(run_dir)
    data = read_cache(run_dir)
    if data is None or (data.get("checkpoint") or {}).get("sha256") != fingerprint.get("sha256"):
        data = {"version": CACHE_VERSION, "entries": {}}
    data["checkpoint"] = fingerprint
    data["entries"][settings.cache_key()] = result.to_dict()
    runs.write_json_atomic(run_dir / CACHE_FILE, data)


def clear_cache(run_dir: str | Path) -> bool:
    try:
        (Path(run_dir) / CACHE_FILE).unlink()
    except FileNotFoundError:
        return False
    return True


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


# --------------------------------------------------------------------------- seeds


def aggregate(results: Sequence[RowResult], seeds: Sequence[int | None] | None = None) -> RowResult:
    """One result from several seeds' results: per task the mean accuracy and its 95% t-interval across seeds.

    `seeds` gives each result's training seed. Results that share a seed (the
    same config trained twice, e.g. two sweeps with the same seeds) are
    averaged into that seed's value first, and the mean and interval are
    across the distinct seeds: runs of one seed are not independent samples.
    A None seed counts as a seed of its own; without `seeds` every result does.

    Each task keeps `seed_accuracies` (one per distinct seed, in first-seen
    order), `n_seeds` (distinct), `n_runs`, `interval: "t"`, and when a seed
    had several runs `runs_per_seed` ({seed: runs}). Stale rate, loss and
    memory statistics are means over seeds; `examples` is the total over all
    runs; parameter count is the first one's; wall time is the mean per run.
    """
    units = seed_units(list(seeds) if seeds is not None else [None] * len(results))
    if len(units) != len(results):
        raise ValueError(f"{len(results)} results but {len(units)} seeds")
    good = [(u, r) for u, r in zip(units, results) if r.ok]
    if not good:
        errors = [r.error for r in results if r.error]
        return RowResult(error=errors[0] if errors else "no results", n_seeds=len(set(units)), n_runs=len(results))
    tasks: dict[str, dict[str, Any]] = {}
    for task in [t for t in TASK_NAMES if any(t in r.tasks for _, r in good)] + sorted(
        {t for _, r in good for t in r.tasks} - set(TASK_NAMES)
    ):
        by_unit: dict[Any, list[dict[str, Any]]] = {}
        for unit, r in good:
            if task in r.tasks and r.tasks[task].get("accuracy") is not None:
                by_unit.setdefault(unit, []).append(r.tasks[task])
        if not by_unit:
            continue
        rows = [row for group in by_unit.values() for row in group]

        def per_seed(key: str) -> list[float]:
            means = []
            for group in by_unit.values():
                values = [float(r[key]) for r in group if isinstance(r.get(key), (int, float))]
                if values:
                    means.append(sum(values) / len(values))
            return means

        accs = per_seed("accuracy")
        mean, low, high = mean_interval(accs)
        merged: dict[str, Any] = {
            "accuracy": mean,
            "ci_low": low,
            "ci_high": high,
            "interval": "t" if len(accs) > 1 else rows[0].get("interval", "wilson"),
            "n_seeds": len(accs),
            "n_runs": len(rows),
            "seed_accuracies": accs,
            "examples": sum(int(r.get("examples") or 0) for r in rows),
            "seq_len": rows[0].get("seq_len"),
            "suite": rows[0].get("suite"),
            "seed": rows[0].get("seed"),
        }
        if len(accs) == 1:
            # One seed: no spread across seeds to give an interval from; keep its own interval over the
            # held-out examples (averaged over its runs), not a zero-width [mean, mean].
            lows, highs = per_seed("ci_low"), per_seed("ci_high")
            if lows and highs:
                merged["ci_low"], merged["ci_high"] = lows[0], highs[0]
        if len(rows) > len(accs):
            merged["runs_per_seed"] = {str(u[1]) if u[0] == "seed" else "?": len(g) for u, g in by_unit.items() if len(g) > 1}
        for key in ("stale_rate", "loss", "write_strength", "write_frequency", "surprise", "wall_time_seconds"):
            values = per_seed(key)
            merged[key] = sum(values) / len(values) if values else None
        merged["parameter_count"] = rows[0].get("parameter_count")
        tasks[task] = merged
    walls = [r.wall_time_seconds for _, r in good if r.wall_time_seconds is not None]
    return RowResult(
        tasks=tasks,
        parameter_count=good[0][1].parameter_count,
        wall_time_seconds=sum(walls) / len(walls) if walls else None,
        settings=good[0][1].settings,
        evaluated_at=max((r.evaluated_at or 0.0) for _, r in good) or None,
        cached=all(r.cached for _, r in good),
        n_seeds=len({u for u, _ in good}),
        n_runs=len(good),
        device=good[0][1].device,
    )


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
    """The evaluated lines as export.ResultRow (errors and unevaluated lines left out), in display order.

    Labels are unique, so a figure's legend never lists two entries alike: a
    member of an expanded group is called by its run's own label, plus its run
    directory when its seed has several runs in the group. A group's `extra`
    says how many distinct seeds and runs it holds and which seeds repeat.
    """
    from .export import ResultRow, unique_labels

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
        out.append(ResultRow(label, row.model, row.result.tasks, checkpoint, None, extra))
    for result_row, label in zip(out, unique_labels([r.label for r in out])):
        result_row.label = label
    return out


# --------------------------------------------------------------------------- results on disk, for `forgetnet plot`

EVAL_RUN_GLOB = "eval-*/metrics.json"  # what `forgetnet eval` writes (and the original's layout)
_EVAL_DIR_NAME = re.compile(r"eval-(\d{8}-\d{6})(?:-(\d+))?$")


@dataclass
class _Found:
    """One evaluation found on disk: what was evaluated, its result and where it came from."""

    identity: str  # what was evaluated: a resolved run directory or checkpoint file, or fresh:<model>:<seed>
    spec: RowSpec  # a run directory's spec (groups by seed) or a stand-alone one (config {}: never groups)
    result: RowResult  # result.settings says how; result.evaluated_at when
    source: Path  # the eval-*/metrics.json or eval_cache.json it came from
    checkpoint: str | None  # the checkpoint file as recorded

    def settings_key(self) -> str:
        """Equal for two evaluations made the same way, whichever tasks each covered."""
        same = {k: v for k, v in self.result.settings.items() if k != "tasks"}
        return json.dumps(same, sort_keys=True, default=str)


def _resolved(path: Path) -> str:
    try:
        return str(path.resolve())
    except OSError:
        return str(path.absolute())


def _eval_run_time(path: Path) -> float:
    """When an eval-<YYYYmmdd-HHMMSS>[-N]/metrics.json was written: its folder name, else the file's mtime."""
    match = _EVAL_DIR_NAME.match(path.parent.name)
    if match:
        try:
            return time.mktime(time.strptime(match.group(1), "%Y%m%d-%H%M%S")) + int(match.group(2) or 0) * 1e-3
        except ValueError:
            pass
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _eval_run_settings(data: dict[str, Any], tasks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """An eval-*/metrics.json's settings in EvalSettings.to_dict() form, so they compare with the caches' settings."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    first = next((r for t, r in tasks.items() if t != "length_extrapolation"), None) or next(iter(tasks.values()))
    extrap = (tasks.get("length_extrapolation") or {}).get("seq_len")
    try:
        batches, batch_size = config.get("batches"), config.get("batch_size")
        examples = batches * batch_size if _is_int(batches) and _is_int(batch_size) else first.get("examples")
        seq_len = config.get("seq_len", first.get("seq_len"))
        settings = EvalSettings(
            suite=str(config.get("suite", first.get("suite") or "v2")),
            examples=int(examples),
            seq_len=int(seq_len),
            extrapolation_len=None if extrap in (None, EXTRAPOLATION_FACTOR * int(seq_len)) else int(extrap),
            seed=int(config.get("seed", first.get("seed", DEFAULT_EVAL_SEED))),
            tasks=tuple(tasks),
        )
    except (TypeError, ValueError):  # the original's layout says too little: keep what it says
        return {"suite": first.get("suite"), "examples": first.get("examples"), "seq_len": first.get("seq_len"), "tasks": list(tasks)}
    return settings.to_dict()


def _run_dir_of(checkpoint: str, runs_dir: Path) -> tuple[Path, Path | None]:
    """(the checkpoint file, its run directory when it sits in one with a config.json); relative paths are tried
    from the current directory, then from the runs directory's parent (where `forgetnet eval` is usually run)."""
    given = Path(checkpoint)
    candidates = [given] if given.is_absolute() else [given, runs_dir.parent / given]
    path = next((c for c in candidates if c.exists()), given)
    file = path / runs.CHECKPOINT_FILE if path.is_dir() else path
    run_dir = file.parent if file.name == runs.CHECKPOINT_FILE and (file.parent / runs.CONFIG_FILE).exists() else None
    return file, run_dir


def _eval_run_evaluations(root: Path, notices: list[str]) -> list[_Found]:
    """Every eval-*/metrics.json under `root` (ours or the original's), oldest first; unreadable ones are noticed."""
    found = []
    for path in sorted(root.glob(EVAL_RUN_GLOB), key=_eval_run_time):
        data = runs.read_json(path)
        if data is None:
            notices.append(f"skipped {path}: not a readable JSON object")
            continue
        tasks = {t: r for t, r in (data.get("tasks") or {}).items() if isinstance(r, dict)} if isinstance(data.get("tasks"), dict) else {}
        tasks = {t: r for t, r in tasks.items() if isinstance(r.get("accuracy"), (int, float))}
        if not tasks:
            notices.append(f"skipped {path}: no per-task accuracy in it")
            continue
        model = str(data.get("model", "?"))
        result = RowResult(
            tasks=tasks,
            parameter_count=data.get("parameter_count") if _is_int(data.get("parameter_count")) else None,
            wall_time_seconds=data.get("wall_time_seconds") if isinstance(data.get("wall_time_seconds"), (int, float)) else None,
            settings=_eval_run_settings(data, tasks),
            evaluated_at=_eval_run_time(path),
            cached=True,
        )
        checkpoint = data.get("checkpoint")
        if checkpoint:
            file, run_dir = _run_dir_of(str(checkpoint), root)
            if run_dir is not None:
                spec = RowSpec.for_run(run_dir)
                identity = _resolved(run_dir)
            else:
                identity = _resolved(file)
                name = file.parent.name if file.name == runs.CHECKPOINT_FILE else file.name
                spec = RowSpec(identity, f"{model} ({name})", model, None, None, {})
        else:
            spec = RowSpec.for_fresh(model) if model in MODEL_NAMES else RowSpec(f"fresh:{model}:0", f"{model} (fresh)", model, seed=0)
            identity = spec.key
        found.append(_Found(identity, spec, result, path, str(checkpoint) if checkpoint else None))
    return found


def _cache_evaluations(root: Path, notices: list[str]) -> list[_Found]:
    """The newest entry of every run's eval_cache.json (what the Evaluate screen showed), for its current checkpoint."""
    found = []
    for spec in checkpoint_rows(root):
        path = spec.run_dir / CACHE_FILE  # type: ignore[operator]
        data = read_cache(spec.run_dir)  # type: ignore[arg-type]
        if data is None:
            if path.exists():
                notices.append(f"skipped {path}: not a readable evaluation cache")
            continue
        if not _same_checkpoint(data.get("checkpoint") or {}, spec.checkpoint):  # type: ignore[arg-type]
            continue  # the checkpoint changed since: its cached results are for another model
        entries = [e for e in data["entries"].values() if isinstance(e, dict)]
        if not entries:
            continue
        newest = max(entries, key=lambda e: e.get("evaluated_at") or 0.0)
        result = RowResult.from_dict(newest, cached=True)
        if not result.ok:
            continue
        found.append(_Found(_resolved(spec.run_dir), spec, result, path, str(spec.checkpoint)))  # type: ignore[arg-type]
    return found


def _result_rows(found: list[_Found], group_seeds: bool):
    """ResultRows of deduplicated evaluations: run directories through build_rows (grouped by seed on request,
    never across settings), stand-alone checkpoints and fresh models as rows of their own."""
    from .export import ResultRow, unique_labels

    per_identity: dict[str, int] = {}
    for f in found:
        per_identity[f.identity] = per_identity.get(f.identity, 0) + 1
    specs: list[RowSpec] = []
    results: dict[str, RowResult] = {}
    alone = []
    for f in found:
        spec = f.spec
        several = per_identity[f.identity] > 1  # one checkpoint under several settings: one row each, told apart
        key = f"{f.identity}@{f.settings_key()}" if several else f.identity
        label = f"{spec.label} · {_settings_words(f.result.settings)}" if several else spec.label
        if spec.run_dir is None or not spec.config:
            alone.append(ResultRow(label, spec.model, f.result.tasks, f.checkpoint, str(f.source), _extra(f.result)))
            continue
        config = {**spec.config, "__eval__": f.result.settings} if group_seeds else spec.config
        specs.append(RowSpec(key, label, spec.model, spec.run_dir, spec.seed, config))
        results[key] = f.result
    rows = export_rows(build_rows(specs, results, group_seeds=group_seeds), {s.key: s for s in specs}) + alone
    for row, label in zip(rows, unique_labels([r.label for r in rows])):
        row.label = label
    return rows


def _extra(result: RowResult) -> dict[str, Any]:
    return {
        "parameter_count": result.parameter_count,
        "n_seeds": result.n_seeds,
        "n_runs": result.n_runs,
        "wall_time_seconds": result.wall_time_seconds,
        "settings": result.settings,
    }


def _settings_words(settings: dict[str, Any]) -> str:
    """'v2 160ex len64/192 seed 123': enough to tell two evaluations of one checkpoint apart."""
    words = [str(settings.get("suite", "?"))]
    if settings.get("examples") is not None:
        words.append(f"{settings['examples']}ex")
    if settings.get("seq_len") is not None:
        words.append(f"len{settings['seq_len']}" + (f"/{settings['extrapolation_len']}" if settings.get("extrapolation_len") else ""))
    if settings.get("seed") is not None:
        words.append(f"seed {settings['seed']}")
    return " ".join(words)


def rows_from_caches(runs_dir: str | Path, group_seeds: bool = False):
    """export.ResultRow for every run under `runs_dir` with a cached matrix result (the newest entry of each).

    This is what the Evaluate screen showed. Runs are only grouped when their
    newest entries share settings.
    """
    return _result_rows(_cache_evaluations(Path(runs_dir), []), group_seeds)


def plot_rows(runs_dir: str | Path, group_seeds: bool = False) -> tuple[list[Any], list[str]]:
    """Everything `forgetnet plot` shows: (export.ResultRow list, notices), one row per checkpoint and settings.

    Reads every eval-*/metrics.json (`forgetnet eval`, the original's layout)
    and every run's eval_cache.json (the Evaluate screen, `forgetnet sweep`).
    A checkpoint evaluated more than once with the same settings (two
    `forgetnet eval` runs, or one and the Evaluate screen) is one row: the
    newest evaluation. Under other settings it is another row, its label
    saying which. With `group_seeds`, runs differing only in seed (and
    evaluated alike) are one row, seeds folded as `aggregate` says.

    Notices are one line each, for the caller to show (the CLI prints them to
    stderr): an unreadable file skipped, an older evaluation superseded.
    """
    root = Path(runs_dir)
    notices: list[str] = []
    if not root.is_dir():
        return [], notices
    found = _eval_run_evaluations(root, notices) + _cache_evaluations(root, notices)
    newest: dict[tuple[str, str], _Found] = {}
    for f in found:
        key = (f.identity, f.settings_key())
        old = newest.get(key)
        if old is None or (f.result.evaluated_at or 0.0) >= (old.result.evaluated_at or 0.0):
            newest[key] = f
        loser = f if newest[key] is not f else old
        if loser is not None:
            notices.append(f"skipped {loser.source}: {newest[key].source} evaluated the same checkpoint the same way later")
    kept = [f for f in found if newest[(f.identity, f.settings_key())] is f]
    return _result_rows(kept, group_seeds), notices


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
