"""The headless CLI: `forgetnet train|eval|plot|demo` with the original's flags and defaults, plus ours."""

from __future__ import annotations

import argparse
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from .config import (
    AUTO,
    MODEL_NAMES,
    RECIPE_NAMES,
    RECIPES,
    SUITE_NAMES,
    TASK_NAMES,
    ConfigError,
    TaskKnobs,
    TrainConfig,
    fields_by_name,
    format_field,
    help_of,
    load_config,
    recipe_config,
)

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


class UsageError(Exception):
    """Bad input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        raise UsageError(message)


def _number(kind: type, positive: bool):
    """An argparse type: int or float, > 0 (positive) or >= 0, finite; one-line messages."""
    what = "an integer" if kind is int else "a number"
    bound = "positive" if positive else "non-negative"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (value > 0 if positive else value >= 0) or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be {bound}, got {text}")
        return value

    return parse


_positive_int = _number(int, positive=True)
_nonneg_int = _number(int, positive=False)
_positive_float = _number(float, positive=True)
_nonneg_float = _number(float, positive=False)


def _choice(names: Sequence[str], what: str):
    def parse(text: str) -> str:
        if text not in names:
            raise argparse.ArgumentTypeError(f"unknown {what} '{text}' (choose from {', '.join(names)})")
        return text

    return parse


# TrainConfig fields that train and sweep take as --flags (model, task and seed are per-command).
TRAINING_FLAGS = (
    "suite", "steps", "batch_size", "seq_len", "lr", "aux_weight", "recall_loss_weight", "weight_decay",
    "grad_clip", "warmup_steps", "lr_decay", "position_offsets", "conv", "d_model", "memory_slots", "window",
    "max_seq_len", "device", "eval_every", "eval_batches", "checkpoint_every", "log_every",
)
KNOB_FLAGS = tuple(f.name for f in fields(TaskKnobs))
_POSITIVE = {"steps", "batch_size", "seq_len", "d_model", "memory_slots", "window", "max_seq_len", "eval_batches",
             "log_every", "lr", "grad_clip", "keys", "values", "records", "overwrites"}


def _field_type(name: str, default: Any):
    """The argparse type of TrainConfig.<name>: its value type, with the config's own bounds."""
    choices = fields_by_name(TrainConfig)[name].metadata.get("choices")
    if name == "device":
        return str  # auto, cpu, cuda, cuda:N, mps: TrainConfig.validate and resolve_device say what is wrong
    if choices:
        return _choice(choices, name.replace("_", " "))
    positive = name in _POSITIVE
    if default is None:  # optional integers: a number or auto
        number = _number(int, positive)
        return lambda text: AUTO if text.strip().lower() == AUTO else number(text)
    if isinstance(default, float):
        return _number(float, positive)
    if isinstance(default, int):
        return _number(int, positive)
    return str


def _add_training_flags(parser: argparse.ArgumentParser, sweep: bool = False) -> None:
    """The settings train and sweep share, help text from the config module. Every default is None:
    only the flags given override the recipe (--recipe original|recall, the seed's defaults by default)."""
    parser.add_argument("--recipe", type=_choice(RECIPE_NAMES, "recipe"), default="original",
                        help=help_of(TrainConfig, "recipe") + "; flags given with it override it")
    for name in TRAINING_FLAGS:
        default = fields_by_name(TrainConfig)[name].default
        parser.add_argument("--" + name.replace("_", "-"), type=_field_type(name, default), default=None,
                            help=f"{help_of(TrainConfig, name)} ({_defaults_text(name)})".replace("%", "%%"))
    for name in KNOB_FLAGS:
        default = fields_by_name(TrainConfig)[name].default
        one = _field_type(name, default)
        kind = _number_list(one) if sweep else one
        extra = "; a comma list sweeps it" if sweep else ""
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                            help=f"{help_of(TrainConfig, name)} (default {format_field(default)}){extra}".replace("%", "%%"))


def _defaults_text(name: str) -> str:
    """'default 0.0003; recall 0.003': the value under each recipe that changes it."""
    text = f"default {format_field(fields_by_name(TrainConfig)[name].default)}"
    for recipe, changes in RECIPES.items():
        if name in changes:
            text += f"; {recipe} {format_field(changes[name])}"
    return text


def _number_list(one):
    def parse(text: str) -> list[Any]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma list, got {text!r}")
        values = [one(t) for t in items]
        if len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"repeated value in {text!r}")
        return values

    return parse


def _add_threads_flag(parser: argparse.ArgumentParser, what: str = "this run") -> None:
    parser.add_argument("--threads", type=_positive_int, default=None,
                        help=f"CPU threads for {what} (default 1, or OMP_NUM_THREADS when set: these models run as "
                             "fast on one thread, and more stall beside other busy processes)")


def build_parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    parser = _Parser(prog="forgetnet", description="ForgetNet: train, evaluate, plot and inspect memory models.")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    sub.required = True

    t = sub.add_parser("train", help="train one model on one task, writing runs/<model>-<task>-<time>/")
    t.add_argument("--task", type=_choice(TASK_NAMES, "task"), default=defaults.task)
    t.add_argument("--model", type=_choice(MODEL_NAMES, "model"), default=defaults.model)
    t.add_argument("--seed", type=_nonneg_int, default=None, help=f"seeds the weights and the training stream (default {defaults.seed})")
    _add_training_flags(t)
    t.add_argument("--output-dir", default="runs", help="where run directories go (default runs/)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue a stopped run (--steps may extend it)")
    t.add_argument("--run-dir", help=argparse.SUPPRESS)  # used by launch_detached: config.json is already there
    t.add_argument("--quiet", action="store_true", help="no progress lines")
    _add_threads_flag(t)

    w = sub.add_parser("sweep", help="train a models x tasks x seeds grid, N processes at a time, then evaluate")
    w.add_argument("--models", default="all", help="all or a comma list of model names")
    w.add_argument("--tasks", default="all", help="all or a comma list of task names")
    w.add_argument("--seeds", default="42,43,44", help="comma list of seeds")
    w.add_argument("--jobs", type=_positive_int, default=1, help="runs trained at once (separate processes; Ray: the local instance's CPUs)")
    w.add_argument("--devices", help="place cells round-robin on these devices, e.g. cuda:0,cuda:1 (default: each run's --device)")
    w.add_argument("--per-device", type=_positive_int, default=1, help="runs at once on each of --devices (local backend)")
    w.add_argument("--backend", choices=("local", "ray"), default="local",
                   help="local: child processes on this machine; ray: Ray tasks (a local instance on 127.0.0.1, or --address)")
    w.add_argument("--address", help="Ray: join this cluster (auto or HOST:PORT) instead of starting a local instance")
    w.add_argument("--cpus-per-cell", type=_positive_float, default=1.0, help="Ray: CPUs a cell asks for (default 1)")
    w.add_argument("--gpus-per-cell", type=_nonneg_float, default=0.0, help="Ray: GPUs a cell asks for, e.g. 0.25 (default 0: CPU)")
    w.add_argument("--name", help="sweep folder name under --output-dir (default sweep-<time>); reuse it to resume")
    w.add_argument("--output-dir", default="runs")
    w.add_argument("--retry-failed", action="store_true", help="rerun cells whose run failed")
    w.add_argument("--eval-batches-final", type=_positive_int, default=5, help="batches of 32 per task in the final evaluation")
    w.add_argument("--headline", metavar="DIR", help="when every run is evaluated, write the headline table there")
    _add_threads_flag(w, "each run (--jobs runs at once)")
    _add_training_flags(w, sweep=True)

    h = sub.add_parser("headline", help="the headline table of a finished sweep (CSV, Markdown, JSON, PNG)")
    h.add_argument("--sweep", required=True, help="the sweep folder (runs/<name>)")
    h.add_argument("--output-dir", required=True)

    e = sub.add_parser("eval", help="evaluate a checkpoint (or a fresh model) on tasks")
    e.add_argument("--checkpoint", help="checkpoint.pt or its run directory (default: a fresh model)")
    e.add_argument("--model", type=_choice(MODEL_NAMES, "model"), default=None,
                   help="for a fresh model (default forgetnet); with --checkpoint it must name the checkpoint's model")
    e.add_argument("--task", default="all", help="all, a task name, or a comma list")
    e.add_argument("--suite", type=_choice(SUITE_NAMES, "suite"), default="v2")
    e.add_argument("--batches", type=_positive_int, default=5)
    e.add_argument("--batch-size", type=_positive_int, default=32)
    e.add_argument("--seq-len", type=_positive_int, default=64)
    e.add_argument("--seed", type=_nonneg_int, default=123)
    e.add_argument("--device", default="auto")
    e.add_argument("--output-dir", default="runs")
    _add_threads_flag(e)
    for name in KNOB_FLAGS:
        default = fields_by_name(TaskKnobs)[name].default
        e.add_argument("--" + name.replace("_", "-"), type=_field_type(name, default), default=None,
                       help=f"{help_of(TaskKnobs, name)} (default {format_field(default)})")

    p = sub.add_parser("plot", help="figures and tables from runs/eval-*/metrics.json and the Evaluate screen's caches")
    p.add_argument("--runs", default="runs")
    p.add_argument("--output-dir", default="results")
    p.add_argument("--formats", default="png,svg,csv,json,md", help="comma list of png, svg, pdf, csv, json, md")
    p.add_argument("--group-seeds", action="store_true", help="one row per experiment: mean and t-interval across seeds")
    p.add_argument("--against", metavar="KNOB", choices=KNOB_FLAGS,
                   help="instead: accuracy against a task knob (records, keys, values, overwrites, min_distance), "
                        "a line per model, from every cached evaluation under --runs (difficulty_KNOB.png/.csv/.json)")

    d = sub.add_parser("demo", help="one example, token by token: what the model read, wrote and erased")
    d.add_argument("--task", type=_choice(TASK_NAMES, "task"), default="changing_facts")
    d.add_argument("--checkpoint", help="checkpoint.pt or run directory (default: the bundled one, else fresh)")
    d.add_argument("--model", type=_choice(MODEL_NAMES, "model"), default=None,
                   help="a model: its bundled checkpoint if one ships, else fresh (default: the bundled model that solves changing_facts)")
    d.add_argument("--suite", type=_choice(SUITE_NAMES, "suite"), default="v2")
    d.add_argument("--seed", type=_nonneg_int, default=0)
    d.add_argument("--seq-len", type=_positive_int, default=64)
    d.add_argument("--device", default="cpu")
    return parser


def _check_seq_len(seq_len: int, task: str | None = None, max_seq_len: int = 512) -> None:
    if seq_len < 14:
        raise UsageError(f"--seq-len must be at least 14, got {seq_len}")
    longest = seq_len * 3 if task in (None, "all", "length_extrapolation") else seq_len
    if longest > max_seq_len:
        raise UsageError(f"--seq-len {seq_len} is too long: evaluation needs {longest} > max_seq_len {max_seq_len}")


def _train_config(args: argparse.Namespace, **fixed: Any) -> TrainConfig:
    """The recipe's config with every flag the user gave on top (AUTO -> None for optional integers)."""
    given: dict[str, Any] = {}
    for name in (*TRAINING_FLAGS, *KNOB_FLAGS, "model", "task", "seed"):
        value = fixed.get(name, getattr(args, name, None))
        if value is not None:
            given[name] = None if value == AUTO else value
    return recipe_config(args.recipe, **given)


def _progress_printer(quiet: bool):
    def on_event(record: dict[str, Any]) -> None:
        if quiet:
            return
        kind = record.get("kind")
        if kind == "train" and (record["step"] % 10 == 0 or record["step"] == 1):
            rate = record.get("sequences_per_sec")  # throughput: steps/s x batch size
            print(
                f"step {record['step']:>6}  loss {record['loss']:.4f}  acc {record['accuracy']:.3f}"
                f"  {record['steps_per_sec']:.1f} steps/s" + (f"  {rate:,.0f} seq/s" if rate is not None else ""),
                flush=True,
            )
        elif kind == "eval":
            print(
                f"step {record['step']:>6}  held-out acc {record['eval_accuracy']:.3f}"
                f" [{record['eval_ci_low']:.2f}, {record['eval_ci_high']:.2f}]",
                flush=True,
            )
        elif kind in ("finished", "stopped", "failed"):
            print(f"{kind} at step {record['step']}: {record.get('run_dir', '')} {record.get('error') or ''}".rstrip(), flush=True)

    return on_event


def cmd_train(args: argparse.Namespace) -> int:
    from . import runs
    from .device import resolve_device
    from .train import ResumeRefused, TrainingFailed, train

    if args.resume or args.run_dir:
        run_dir = Path(args.resume or args.run_dir)
        if not (run_dir / runs.CONFIG_FILE).exists():
            raise UsageError(f"not a run directory (no config.json): {run_dir}")
        try:
            config = load_config(run_dir / runs.CONFIG_FILE)
        except ValueError as exc:
            raise UsageError(f"unreadable config.json in {run_dir}: {exc}") from None
        if args.steps is not None:
            config = config.replace(steps=args.steps)
        resume = bool(args.resume)
        if resume:
            runs.load_checkpoint(run_dir / runs.CHECKPOINT_FILE)  # one clear line if missing/corrupt
            status = runs.read_status(run_dir) or {}
            if runs.effective_state(status) == "running" and status.get("pid") not in (None, __import__("os").getpid()):
                raise UsageError(f"run is still running (pid {status.get('pid')}): {run_dir}")
    else:
        config = _train_config(args)
        run_dir = None
        resume = False
    try:
        config.check()
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    resolve_device(config.device)
    try:
        out = train(config, runs_dir=args.output_dir, run_dir=run_dir, on_event=_progress_printer(args.quiet), resume=resume,
                    threads=args.threads)
    except ResumeRefused as exc:  # finished already, or --steps below the checkpoint: nothing was touched
        raise UsageError(str(exc)) from None
    except TrainingFailed as exc:
        print(f"forgetnet: error: {exc}", file=sys.stderr)
        return 1
    print(out)
    if (runs.read_status(out) or {}).get("stopped_by") == "SIGINT":  # Ctrl-C: checkpointed, like a shell's 130
        print(f"forgetnet: interrupted (resume with: forgetnet train --resume {out})", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _loaded(checkpoint, model_name, device):
    from .checkpoints import load_or_fresh

    try:
        return load_or_fresh(checkpoint, model_name, device)
    except ValueError as exc:  # --model does not name the checkpoint's model
        raise UsageError(str(exc)) from None


def cmd_eval(args: argparse.Namespace) -> int:
    from .device import run_device, run_threads
    from .evaluate import evaluate_model, resolve_tasks, write_eval_run
    from .models import parameter_count
    from .runs import make_folder

    try:
        tasks = resolve_tasks(args.task)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    device = run_device(args.device, args.threads)
    model, cfg, checkpoint = _loaded(args.checkpoint, args.model, device)
    _check_seq_len(args.seq_len, "length_extrapolation" if "length_extrapolation" in tasks else None, model.config.max_seq_len)
    make_folder(args.output_dir)  # a bad --output-dir is said before the evaluation, not after it
    knobs = TaskKnobs(**{name: getattr(args, name) for name in KNOB_FLAGS if getattr(args, name) not in (None, AUTO)})
    started = time.perf_counter()
    try:
        results = evaluate_model(
            model, tasks, args.suite, args.batches, args.batch_size, args.seq_len, args.seed, device, knobs=knobs
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    wall = time.perf_counter() - started
    out = write_eval_run(
        args.output_dir,
        results,
        model_name=cfg["model"],
        parameter_count_=parameter_count(model),
        device=str(device),
        wall_time=wall,
        config={**{k: getattr(args, k) for k in ("suite", "batches", "batch_size", "seq_len", "seed")},
                **({"knobs": knobs.changed()} if not knobs.is_default() else {}), "threads": run_threads(args.threads)},
        checkpoint=checkpoint,
    )
    for task, r in results.items():
        stale = "" if r["stale_rate"] is None else f"  stale {r['stale_rate']:.2f}"
        print(f"{task:<22} acc {r['accuracy']:.3f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]  n={r['examples']}  len={r['seq_len']}{stale}")
    print(out / "metrics.json")
    return 0


def _names(spec: str, choices: Sequence[str], what: str) -> list[str]:
    names = list(choices) if spec.strip() == "all" else [s.strip() for s in spec.split(",") if s.strip()]
    for name in names:
        if name not in choices:
            raise UsageError(f"unknown {what} '{name}' (choose from all, {', '.join(choices)})")
    if not names:
        raise UsageError(f"no {what}s given")
    return names


def cmd_sweep(args: argparse.Namespace) -> int:
    from .device import resolve_device
    from .sweep import create_sweep, default_eval_settings, run_sweep

    models = _names(args.models, MODEL_NAMES, "model")
    tasks = _names(args.tasks, TASK_NAMES, "task")
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds must be a comma list of integers, got {args.seeds!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageError(f"--seeds must be non-negative integers, got {args.seeds!r}")
    # A knob given one value is part of every cell's config; a comma list is a grid dimension.
    swept = {name: [None if v == AUTO else v for v in getattr(args, name)] for name in KNOB_FLAGS if getattr(args, name)}
    fixed = {name: values[0] for name, values in swept.items() if len(values) == 1}
    grid = {name: values for name, values in swept.items() if len(values) > 1}
    base = _train_config(args, model=models[0], task=tasks[0], seed=seeds[0], **{k: AUTO if v is None else v for k, v in fixed.items()})
    resolve_device(base.device)
    settings = default_eval_settings(base, examples=32 * args.eval_batches_final)
    try:
        folder = create_sweep(args.output_dir, base, models, tasks, seeds, args.name, settings, knobs=grid)
    except (ValueError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    points = 1
    for values in grid.values():
        points *= len(values)
    devices = None
    if args.devices:
        from .placement import parse_devices

        try:
            devices = parse_devices(args.devices)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        for device in devices:
            resolve_device(device)  # an absent GPU is one line now, not a failed cell later
    if args.backend == "local" and (args.address or args.gpus_per_cell):
        raise UsageError("--address and --gpus-per-cell are for --backend ray (the local backend places with --devices)")
    at_once = (f"{len(devices)} device(s) x {args.per_device}" if devices else f"{args.jobs}") + " at a time"
    print(f"sweep {folder}: {len(models) * len(tasks) * len(seeds) * points} runs, {at_once}, backend {args.backend}",
          flush=True)
    stop = threading.Event()  # set by Ctrl-C (SIGINT) or SIGTERM: the children checkpoint and stop
    say = lambda line: print(line, flush=True)  # noqa: E731
    if args.backend == "ray":
        from .sweep_ray import RayMissing, run_sweep_ray

        try:
            counts = run_sweep_ray(folder, address=args.address, jobs=args.jobs, cpus_per_cell=args.cpus_per_cell,
                                   gpus_per_cell=args.gpus_per_cell, report=say, stop=stop,
                                   retry_failed=args.retry_failed, threads=args.threads)
        except RayMissing as exc:
            raise UsageError(str(exc)) from None
    else:
        counts = run_sweep(folder, jobs=args.jobs, report=say, stop=stop, retry_failed=args.retry_failed,
                           threads=args.threads, devices=devices, per_device=args.per_device)
    print(" ".join(f"{k} {v}" for k, v in counts.items()))
    if stop.is_set():
        print(f"forgetnet: interrupted (run the same command again to resume): {folder}", file=sys.stderr)
        return EXIT_INTERRUPTED
    done = counts.get("evaluated", 0) == counts["total"]
    if done and args.headline:
        from .headline import write_headline

        for path in write_headline(folder, args.headline):
            print(path)
    return 0 if done else 1


def cmd_headline(args: argparse.Namespace) -> int:
    from .headline import write_headline
    from .sweep import read_manifest

    try:
        read_manifest(args.sweep)
        paths = write_headline(args.sweep, args.output_dir)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for path in paths:
        print(path)
    return 0


def cmd_plot_against(args: argparse.Namespace, formats: list[str]) -> int:
    from .difficulty import curves, samples_from_runs, write_difficulty

    data = curves(samples_from_runs(args.runs, args.against))
    if not any(len(points) > 1 for lines in data.values() for points in lines.values()):
        raise UsageError(
            f"no model under {args.runs} was evaluated at more than one {args.against} value "
            f"(sweep it: forgetnet sweep --{args.against.replace('_', '-')} 4,8,16 ...)"
        )
    for path in _writing(args.output_dir, lambda: write_difficulty(data, args.output_dir, args.against, formats)):
        print(path)
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from forgetnet_core.evaluations import plot_rows

    from .export import FORMATS, export_all

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"unknown format '{(unknown or [''])[0]}' (choose from {', '.join(FORMATS)})")
    if args.against:
        return cmd_plot_against(args, formats)
    # eval-*/metrics.json (forgetnet eval, the original's layout), then each run's eval_cache.json (the Evaluate screen).
    rows, notices = plot_rows(args.runs, group_seeds=args.group_seeds)  # one row per checkpoint and settings (the newest)
    for notice in notices:
        print(f"forgetnet: {notice}", file=sys.stderr)
    if not rows:
        raise UsageError(f"no evaluation results under {args.runs} (run `forgetnet eval` or evaluate on screen 3 first)")
    for path in _writing(args.output_dir, lambda: export_all(rows, args.output_dir, formats)):
        print(path)
    return 0


def _writing(folder: str, write):
    """write() into `folder` once it is known to be a writable folder; an OS error part way (a read-only file,
    a full disk) is one line."""
    from .runs import make_folder

    make_folder(folder)
    try:
        return write()
    except OSError as exc:
        raise UsageError(f"cannot write ({exc.strerror or type(exc).__name__}): {exc.filename or folder}") from None


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo
    from .device import use_threads

    use_threads()
    try:
        print(run_demo(args), end="")
    except ValueError as exc:  # --model that is not the checkpoint's, a length the model cannot take
        raise UsageError(str(exc)) from None
    return 0


COMMANDS = {"train": cmd_train, "sweep": cmd_sweep, "headline": cmd_headline, "eval": cmd_eval, "plot": cmd_plot, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    from .device import DeviceError
    from .runs import CheckpointError, FolderError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if getattr(args, "seq_len", None) is not None and args.command in ("train", "demo", "sweep"):
            _check_seq_len(args.seq_len, getattr(args, "task", None) if args.command == "train" else None,
                           getattr(args, "max_seq_len", None) or 512)
        return COMMANDS[args.command](args)
    except (UsageError, CheckpointError, DeviceError, ConfigError, FolderError) as exc:
        print(f"forgetnet: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("forgetnet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
