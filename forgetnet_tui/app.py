"""The forgetnet-lab Textual app: four screens on keys 1-4, run control through a Launcher, and main()."""

from __future__ import annotations

import argparse
import gc
import os
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from forgetnet_core.config import SUITE_NAMES, TASK_NAMES, TrainConfig
from forgetnet_core.matrix import results_root
from forgetnet_core.runs import CHECKPOINT_FILE, effective_state, read_status

from .launchers import DetachedLauncher, Launcher
from .messages import DeviceResolved, RunControlled, RunLaunched
from .widgets.charts import ColourBook

SCREENS = (("runs", "Runs", "1"), ("train", "Train", "2"), ("evaluate", "Evaluate", "3"), ("stepper", "Stepper", "4"))
SCREEN_NAMES = tuple(name for name, _label, _key in SCREENS)


@dataclass(frozen=True)
class StepperOptions:
    """Pass-through options for the Stepper screen (`--checkpoint --task --seed --suite`)."""

    checkpoint: str | None = None
    task: str = "changing_facts"
    seed: int = 0
    suite: str = "v2"


class ForgetNetLab(App):
    """Configure, launch and watch ForgetNet runs; evaluate and step through models (screens 3 and 4)."""

    CSS_PATH = "lab.tcss"
    TITLE = "forgetnet-lab"
    BINDINGS = [
        *(Binding(key, f"show_screen('{name}')", label, show=False) for name, label, key in SCREENS),
        Binding("question_mark", "help", "Keys", tooltip="Every key of this screen, in words"),
        Binding("q", "quit", "Quit", tooltip="Quit (runs keep training: they are their own processes)"),
    ]

    device_label: reactive[str | None] = reactive(None)

    def __init__(
        self,
        runs_dir: str | Path = "runs",
        launcher: Launcher | None = None,
        results_dir: str | Path | None = None,
        screen: str = "runs",
        stepper: StepperOptions | None = None,
        poll_interval: float = 1.0,
        tail_interval: float = 0.25,
        redraw_interval: float = 0.4,
        resolve_device: bool = True,
    ) -> None:
        if screen not in SCREEN_NAMES:
            raise ValueError(f"unknown screen '{screen}' (choose from {', '.join(SCREEN_NAMES)})")
        self.DEFAULT_MODE = screen  # the first screen is composed directly, with no blank frame before it
        super().__init__()
        self.runs_dir = Path(runs_dir)
        # Exports (screens 3 and 4) go here: results/ beside the runs directory unless --results-dir says otherwise.
        self.results_dir = Path(results_dir).resolve() if results_dir is not None else results_root(self.runs_dir)
        self.launcher: Launcher = launcher or DetachedLauncher()
        self.stepper_options = stepper or StepperOptions()
        self.poll_interval = poll_interval
        self.tail_interval = tail_interval
        self.redraw_interval = redraw_interval
        self.resolve_device = resolve_device
        self.colours = ColourBook()
        self.lab_screens: dict[str, Screen] = {}
        for name in SCREEN_NAMES:
            self.add_mode(name, partial(self._make_screen, name))
        self.sub_title = "device: …"

    def _make_screen(self, name: str) -> Screen:
        # Imported when first shown: screens 3 and 4 may pull in torch, which must not delay the first paint.
        if name == "runs":
            from .screens.runs import RunsScreen

            screen: Screen = RunsScreen(self.runs_dir, poll_interval=self.poll_interval)
        elif name == "train":
            from .screens.train import TrainScreen

            screen = TrainScreen(self.runs_dir, self.colours, self.tail_interval, self.redraw_interval)
        elif name == "evaluate":
            from .screens.evaluate import EvaluateScreen

            screen = EvaluateScreen(self.runs_dir)  # it exports to self.results_dir
        else:
            from .screens.stepper import StepperScreen

            o = self.stepper_options
            screen = StepperScreen(checkpoint=o.checkpoint, task=o.task, seed=o.seed, suite=o.suite)
        self.lab_screens[name] = screen
        return screen

    def on_mount(self) -> None:
        if self.resolve_device:
            self._describe_device()

    @work(thread=True, exit_on_error=False, group="device")
    def _describe_device(self) -> None:
        from forgetnet_core.device import (
            describe_device,  # imports torch: seconds, so never on the UI thread
        )

        try:
            label = describe_device("auto")
        except Exception as exc:  # noqa: BLE001
            label = f"unknown ({type(exc).__name__})"
        # torch brings a few hundred thousand long-lived objects; left in the collector's oldest generation
        # they make every full collection a 150-300 ms pause of the UI. Freeze them (and everything so far).
        gc.freeze()
        self.post_message(DeviceResolved(label))

    def on_device_resolved(self, message: DeviceResolved) -> None:
        self.device_label = message.label
        self.sub_title = f"device: {message.label}"

    # ------------------------------------------------------------------ navigation

    def action_show_screen(self, name: str) -> None:
        self.switch_mode(name)

    def open_runs(self, primary: Path, overlays: Iterable[Path] = ()) -> None:
        """Show `primary` (and overlays) on the Train screen."""
        self.switch_mode("train")
        self.lab_screens["train"].show_runs(primary, list(overlays))  # type: ignore[attr-defined]

    def action_help(self) -> None:
        """The key help: this screen's keys in words, its parts' keys, and the keys that work everywhere."""
        from .dialogs.help import HelpScreen
        from .keys import help_rows

        screen = self.screen
        title = (screen.title or self.title).replace("forgetnet-lab · ", "")
        self.push_screen(HelpScreen(title, help_rows(screen, self)))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name, label, key in SCREENS:
            yield SystemCommand(f"Screen: {label}", f"Show the {label} screen (key {key})", partial(self.action_show_screen, name))
        yield SystemCommand("Keys: every key of this screen", "The key help (?)", self.action_help)
        for title, help_text, action in getattr(screen, "PALETTE_ACTIONS", ()):
            yield SystemCommand(title, help_text, getattr(screen, f"action_{action}"))

    # ------------------------------------------------------------------ run control (blocking work in workers)

    def launch_run(self, config: TrainConfig) -> None:
        self._launch(config)

    @work(thread=True, exit_on_error=False, group="run-control")
    def _launch(self, config: TrainConfig) -> None:
        try:
            path = self.launcher.launch(config, self.runs_dir)
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash
            self.post_message(RunControlled(f"Launch failed: {_one_line(exc)}", "error"))
            return
        self.post_message(RunLaunched(Path(path)))

    def resume_run(self, path: Path) -> None:
        self._resume(Path(path))

    @work(thread=True, exit_on_error=False, group="run-control")
    def _resume(self, path: Path) -> None:
        state = effective_state(read_status(path))
        if state not in ("stopped", "stale"):
            self.post_message(RunControlled(f"Only a stopped run can be resumed ({path.name} is {state})", "warning", False))
            return
        if not (path / CHECKPOINT_FILE).exists():
            self.post_message(RunControlled(f"{path.name} has no checkpoint to resume from", "error", False))
            return
        try:
            self.launcher.resume(path)
        except Exception as exc:  # noqa: BLE001
            self.post_message(RunControlled(f"Resume failed: {_one_line(exc)}", "error"))
            return
        self.post_message(RunLaunched(path, resumed=True))

    def on_run_launched(self, message: RunLaunched) -> None:
        verb = "Resumed" if message.resumed else "Launched"
        self.notify(f"{verb} {message.path.name}", timeout=3)
        self._rescan()
        self.open_runs(message.path)

    def stop_run(self, path: Path) -> None:
        self._stop(Path(path))

    @work(thread=True, exit_on_error=False, group="run-control")
    def _stop(self, path: Path) -> None:
        try:
            ok = self.launcher.stop(path)
        except Exception as exc:  # noqa: BLE001
            self.post_message(RunControlled(f"Stop failed: {_one_line(exc)}", "error"))
            return
        if ok:
            self.post_message(RunControlled(f"Stopping {path.name}: it checkpoints, then ends `stopped`"))
        else:
            self.post_message(RunControlled(f"{path.name} is not running here", "warning", False))

    def delete_run(self, path: Path, state: str) -> None:
        from .dialogs.confirm import ConfirmScreen

        if state == "running":
            self.notify("Stop the run before deleting it", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._delete(Path(path))

        self.push_screen(ConfirmScreen(f"Delete {path.name} ({state})?\nIts checkpoint and metrics go for good.", yes="Delete"), answered)

    @work(thread=True, exit_on_error=False, group="run-control")
    def _delete(self, path: Path) -> None:
        state = effective_state(read_status(path))
        if state == "running":
            self.post_message(RunControlled(f"{path.name} is running again; not deleted", "warning", False))
            return
        try:
            shutil.rmtree(path)
        except OSError as exc:
            self.post_message(RunControlled(f"Delete failed: {_one_line(exc)}", "error"))
            return
        self.post_message(RunControlled(f"Deleted {path.name}"))

    def on_run_controlled(self, message: RunControlled) -> None:
        self.notify(message.message, severity=message.severity, timeout=4)  # type: ignore[arg-type]
        if message.changed:
            self._rescan()

    def _rescan(self) -> None:
        runs = self.lab_screens.get("runs")
        if runs is not None and runs.is_mounted:
            runs.scan()  # type: ignore[attr-defined]
        train = self.lab_screens.get("train")
        if train is not None and train.is_mounted:
            train.poll()  # type: ignore[attr-defined]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="forgetnet-lab",
        description="A terminal lab for ForgetNet: configure, launch and watch training runs.",
    )
    parser.add_argument("--runs-dir", default="runs", metavar="DIR", help="where runs live (default: runs/)")
    parser.add_argument("--results-dir", metavar="DIR", help="where exports go (default: results/ beside the runs directory)")
    parser.add_argument("--screen", choices=SCREEN_NAMES, default="runs", help="the screen to open on")
    parser.add_argument("--threads", type=_positive, metavar="N",
                        help="CPU threads of each run the lab launches or resumes (default 1, or OMP_NUM_THREADS)")
    stepper = parser.add_argument_group("stepper", "options passed to the Stepper screen")
    stepper.add_argument("--checkpoint", metavar="PATH", help="a run directory or checkpoint.pt to step through")
    stepper.add_argument("--task", choices=TASK_NAMES, default="changing_facts")
    stepper.add_argument("--seed", type=int, default=0)
    stepper.add_argument("--suite", choices=SUITE_NAMES, default="v2")
    return parser


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def use_lab_threads() -> int:
    """Give the lab's own torch work the CPU thread policy (device.run_threads: 1 unless OMP_NUM_THREADS says
    otherwise): evaluation, the stepper's traces and the difficulty dialog run in worker threads, beside runs.

    Said through the environment, which torch reads when a worker first imports it; calling device.use_threads()
    here would import torch before the first paint (0.4 s -> 1.5 s on two busy cores). Returns the count.
    """
    from forgetnet_core.device import run_threads, thread_env

    os.environ.update(thread_env())
    return run_threads()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    use_lab_threads()
    app = ForgetNetLab(
        runs_dir=args.runs_dir,
        results_dir=args.results_dir,
        screen=args.screen,
        stepper=StepperOptions(checkpoint=args.checkpoint, task=args.task, seed=args.seed, suite=args.suite),
        launcher=DetachedLauncher(threads=args.threads),
    )
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    raise SystemExit(main())
