"""Every evaluation on disk, as `forgetnet plot` shows them: eval-*/metrics.json and each run's eval_cache.json,
one row per checkpoint and settings (the newest), seeds folded on request, with a notice for each file skipped."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import runs
from .config import DEFAULT_EVAL_SEED, EXTRAPOLATION_FACTOR, MODEL_NAMES, EvalSettings
from .config.names import _is_int
from .listing import checkpoint_rows
from .matrix import RowSpec, build_rows, export_rows
from .results import CACHE_FILE, RowResult, read_cache, same_checkpoint

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
        if not same_checkpoint(data.get("checkpoint") or {}, spec.checkpoint):  # type: ignore[arg-type]
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
    from .export import FigureRow, unique_labels

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
            alone.append(FigureRow(label, spec.model, f.result.tasks, f.checkpoint, str(f.source), _extra(f.result)))
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
    """export.FigureRow for every run under `runs_dir` with a cached matrix result (the newest entry of each).

    This is what the Evaluate screen showed. Runs are only grouped when their
    newest entries share settings.
    """
    return _result_rows(_cache_evaluations(Path(runs_dir), []), group_seeds)


def plot_rows(runs_dir: str | Path, group_seeds: bool = False) -> tuple[list[Any], list[str]]:
    """Everything `forgetnet plot` shows: (export.FigureRow list, notices), one row per checkpoint and settings.

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



__all__ = ["EVAL_RUN_GLOB", "plot_rows", "rows_from_caches"]
