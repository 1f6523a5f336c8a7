"""Every message the lab posts, named as what happened: workers post them from threads, widgets post them up.

A message is handled by `on_<snake_case_name>` on the node it was posted to
(e.g. RowsLoaded -> `on_rows_loaded`) or by `@on(MessageClass, "#id")` where
it carries a `control`. Posting is the only thing a worker thread does to
the UI (post_message is thread-safe).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from rich.text import Text
    from textual.widget import Widget

    from forgetnet_core.config import EvalSettings, TrainConfig
    from forgetnet_core.listing import Listing, RunInfo
    from forgetnet_core.matrix import RowResult, RowSpec

# --------------------------------------------------------------------------- the app: device and run control


@dataclass
class DeviceResolved(Message):
    """The training device was described (torch imported in a worker)."""

    label: str


@dataclass
class RunLaunched(Message):
    """A run was started (or resumed) as its own process; `path` is its directory."""

    path: Path
    resumed: bool = False


@dataclass
class RunControlled(Message):
    """A stop or delete finished (or failed); `message` says what happened, `changed` whether to rescan."""

    message: str
    severity: str = "information"
    changed: bool = True


# --------------------------------------------------------------------------- Runs screen and pickers


@dataclass
class RunsScanned(Message):
    """A fresh listing of the runs directory (runs and sweeps), made in a worker."""

    listing: Listing


@dataclass
class RunsListed(Message):
    """A picker's runs (names and states, no metrics), listed in a worker."""

    runs: list[RunInfo]


@dataclass
class SweepsListed(Message):
    """The sweep picker's folders, newest first, each with a one-line description."""

    sweeps: list[tuple[Path, str]]


@dataclass
class SourcesListed(Message):
    """The model picker's sources (forgetnet_core.checkpoints.ModelSource): run checkpoints, bundled, fresh."""

    sources: list[Any]


@dataclass
class LaunchRequested(Message):
    """The config form's Launch was pressed with a valid config."""

    config: TrainConfig


@dataclass
class ChoiceChanged(Message):
    """A ChoiceField's value changed."""

    choice: Widget
    value: str

    @property
    def control(self) -> Widget:
        return self.choice


# --------------------------------------------------------------------------- Train screen


@dataclass
class MetricsPolled(Message):
    """What a poll of the watched runs found (screens.train.FeedUpdate, one per run that was read)."""

    updates: list[Any]


@dataclass
class ChartsRendered(Message):
    """The three charts drawn in a worker: their text, titles and legends by chart name."""

    texts: dict[str, Text]
    titles: dict[str, str]
    legends: dict[str, Text]


@dataclass
class DefaultRunFound(Message):
    """The run the Train screen shows when none was chosen (the newest running, else the newest), or None."""

    path: Path | None


@dataclass
class ChartResized(Message):
    """A chart's drawing area changed size."""


# --------------------------------------------------------------------------- Evaluate screen


@dataclass
class RowsLoaded(Message):
    """The first rows (the runs directory's checkpoints, else the bundled ones) and their cached results."""

    specs: list[RowSpec]
    results: dict[str, RowResult]
    settings_key: str
    bundled: bool = False  # the runs directory has no checkpoint yet: the rows are the bundled checkpoints


@dataclass
class CachesRead(Message):
    """Cached results of checkpoint rows for `settings_key` (after the settings or the rows changed)."""

    results: dict[str, RowResult]
    settings_key: str
    keys: list[str]


@dataclass
class SweepLoaded(Message):
    """A sweep's rows, the settings in its manifest and the cached results for them (or why it could not be read)."""

    folder: Path
    specs: list[RowSpec]
    settings: EvalSettings | None
    results: dict[str, RowResult]
    error: str | None = None


@dataclass
class RowStarted(Message):
    key: str


@dataclass
class RowProgressed(Message):
    key: str
    done: int
    total: int


@dataclass
class RowEvaluated(Message):
    key: str
    result: RowResult
    settings_key: str


@dataclass
class EvaluationEnded(Message):
    cancelled: bool
    rows: int
    errors: int
    seconds: float


@dataclass
class MatrixExported(Message):
    """The Evaluate export finished: the files written into `folder`, or the error that stopped it."""

    folder: Path | None
    paths: list[Path]
    error: str | None


@dataclass
class SettingsEdited(Message):
    """The evaluation settings form was edited: `settings` is None while a field is invalid."""

    form: Widget
    settings: EvalSettings | None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def control(self) -> Widget:
        return self.form


@dataclass
class KnobScored(Message):
    """The difficulty dialog's worker scored one (row, knob value)."""

    generation: int
    samples: list[Any]  # forgetnet_core.difficulty.Sample
    done: int
    total: int
    error: str | None


@dataclass
class DifficultyExported(Message):
    paths: list[Path]
    error: str | None


# --------------------------------------------------------------------------- Stepper screen


@dataclass
class TracesComputed(Message):
    """The worker traced the example through the model(s) (screens.stepper.Loaded)."""

    generation: int
    loaded: Any


@dataclass
class TraceFailed(Message):
    generation: int
    error: str


@dataclass
class ExportWritten(Message):
    """The stepper's export: the SVG and PNGs written, and why a PNG failed if one did."""

    paths: list[Path]
    error: str | None = None
