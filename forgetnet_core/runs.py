"""Run directories: config, status, metrics.jsonl tailing, atomic checkpoints, listing and stopping."""

from __future__ import annotations

import json
import math
import os
import signal
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_JSONL = "metrics.jsonl"
METRICS_JSON = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"
OUTPUT_LOG = "output.log"

STATES = ("pending", "running", "finished", "stopped", "failed", "stale")
CHECKPOINT_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable or incompatible; str() is one line."""


class FolderError(ValueError):
    """A folder that cannot be created or written to (a file in the way, no permission); str() is one line."""


# --------------------------------------------------------------------------- files


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write JSON to a temp file in the same directory, then rename it over `path`."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(_jsonable(obj), fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_json(path: str | Path) -> dict[str, Any] | None:
    """The JSON object at `path`, or None when missing or unreadable (e.g. mid-write by an old tool)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _jsonable(obj: Any) -> Any:
    """Replace non-finite floats with None so files stay strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def make_folder(path: str | Path) -> Path:
    """Create `path` (and its parents) if needed and check it is a folder this process can write to.

    FolderError names the path and the reason in one line, before anything is written there.
    """
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FolderError(f"not a folder (a file is in the way): {path}") from None
    except OSError as exc:
        raise FolderError(_os_reason("cannot create folder", exc, path)) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise FolderError(f"cannot write to folder (permission denied): {path}")
    return path


def _os_reason(what: str, exc: OSError, path: str | Path) -> str:
    """'cannot create folder (Not a directory): runs/x', naming the path the OS error was about."""
    return f"{what} ({exc.strerror or type(exc).__name__}): {exc.filename or path}"


def unique_dir(root: str | Path, name: str) -> Path:
    """Create and return root/name, or root/name-N when that exists: never reuses a folder (FolderError if it can't)."""
    root = make_folder(root)
    for n in range(1000):
        candidate = root / (name if n == 0 else f"{name}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise FolderError(_os_reason("cannot create folder", exc, candidate)) from None
    raise FolderError(f"could not create a folder named {name} under {root}")


def new_run_dir(root: str | Path, model: str, task: str, when: datetime | None = None) -> Path:
    """Create and return runs/<model>-<task>-<YYYYmmdd-HHMMSS>[-N], never reusing a name."""
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S")
    return unique_dir(root, f"{model}-{task}-{stamp}")


# --------------------------------------------------------------------------- status


def read_status(run_dir: str | Path) -> dict[str, Any] | None:
    return read_json(Path(run_dir) / STATUS_FILE)


def write_status(run_dir: str | Path, **fields_: Any) -> dict[str, Any]:
    """Merge `fields_` into status.json (atomically) and stamp `updated`."""
    path = Path(run_dir) / STATUS_FILE
    status = read_json(path) or {}
    status.update(fields_)
    status["updated"] = time.time()
    write_json_atomic(path, status)
    return status


def pid_alive(pid: Any) -> bool:
    """True when a process with this pid exists (and is not a zombie we can see)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child still answers kill(0); /proc tells the truth on Linux
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def effective_state(status: dict[str, Any] | None) -> str:
    """The state to show: status.json's, `stale` when it says running but its process is gone, `pending` without one."""
    if not status:
        return "pending"  # a run directory not started yet (e.g. a sweep cell)
    state = status.get("state", "stale")
    if state == "running" and not pid_alive(status.get("pid")):
        return "stale"
    return state if state in STATES else "stale"


def request_stop(run_dir: str | Path) -> bool:
    """Ask a running run to stop gracefully (SIGTERM: checkpoint, then `stopped`). False if not running."""
    status = read_status(run_dir)
    if not status or effective_state(status) != "running":
        return False
    try:
        os.kill(int(status["pid"]), signal.SIGTERM)
    except (ProcessLookupError, PermissionError, KeyError, TypeError, ValueError):
        return False
    return True


# --------------------------------------------------------------------------- metrics


class MetricsTail:
    """Reads a growing metrics.jsonl, returning only the records appended since the last call.

    A line without its newline yet is left for the next call (the writer is
    mid-line); a complete line that is not a JSON object is counted in
    `bad_lines` and skipped. If the file shrinks or is replaced by another
    file (a resume rewrites it through a rename), reading restarts from the
    beginning and `reset` is set: the caller should drop what it had.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.offset = 0
        self.bad_lines = 0
        self.reset = False
        self._partial = b""
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file being read

    def read_new(self) -> tuple[list[dict[str, Any]], int]:
        """Return (new records, bad lines found in this call)."""
        self.reset = False
        try:
            st = self.path.stat()
        except OSError:
            return [], 0
        size = st.st_size
        identity = (st.st_dev, st.st_ino)
        replaced = self._identity is not None and identity != self._identity
        self._identity = identity
        if size < self.offset or replaced:
            self.offset, self._partial, self.reset = 0, b"", True
        if size == self.offset:
            return [], 0
        with open(self.path, "rb") as fh:
            fh.seek(self.offset)
            chunk = fh.read(size - self.offset)
        self.offset += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()  # b"" when the chunk ended on a newline
        records, bad = parse_lines(lines)
        self.bad_lines += bad
        return records, bad


def parse_lines(lines: Iterable[bytes | str]) -> tuple[list[dict[str, Any]], int]:
    records: list[dict[str, Any]] = []
    bad = 0
    for raw in lines:
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                bad += 1
                continue
        raw = raw.strip()
        if not raw:
            continue
        try:
            obj = json.loads(raw)
        except ValueError:
            bad += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            bad += 1
    return records, bad


def read_metrics(run_dir: str | Path) -> tuple[list[dict[str, Any]], int]:
    """All records of a run's metrics.jsonl (a trailing partial line included if it parses)."""
    path = Path(run_dir) / METRICS_JSONL
    try:
        data = path.read_bytes()
    except OSError:
        return [], 0
    return parse_lines(data.split(b"\n"))


def append_metrics(fh, record: dict[str, Any]) -> None:
    """Append one record as a JSON line and flush it so readers see it now."""
    fh.write(json.dumps(_jsonable(record)) + "\n")
    fh.flush()


def truncate_metrics_after(run_dir: str | Path, step: int) -> None:
    """Drop metrics lines logged after `step` (used when resuming from a checkpoint at `step`)."""
    path = Path(run_dir) / METRICS_JSONL
    if not path.exists():
        return
    records, _ = read_metrics(run_dir)
    kept = [r for r in records if not isinstance(r.get("step"), int) or r["step"] <= step]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
    os.replace(tmp, path)


# --------------------------------------------------------------------------- checkpoints


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """torch.save to a temp file beside `path`, fsync, then rename: a reader never sees half a file."""
    import torch

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    payload = {"format": CHECKPOINT_FORMAT, **payload}
    with open(tmp, "wb") as fh:
        torch.save(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint with weights_only=True; CheckpointError (one line) when it can't be used."""
    import torch

    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except OSError as exc:  # the file is there but cannot be opened (permissions, a folder, an I/O error)
        raise CheckpointError(_os_reason("cannot read checkpoint", exc, path)) from None
    except Exception as exc:  # noqa: BLE001 - torch's messages run to paragraphs (miniz, pickle opcodes, bare numbers)
        # The one failure that is not damage: a whole archive (torch.save's format) whose pickle holds Python
        # objects weights_only refuses to build. Random bytes can read as such a pickle opcode too.
        refused = next((line.strip() for line in str(exc).splitlines() if "Unsupported global" in line), None)
        if refused and zipfile.is_zipfile(path):
            found = refused.split("GLOBAL", 1)[-1].split(" was not")[0].strip()
            raise CheckpointError(f"not a forgetnet checkpoint (weights-only loading refuses its Python object "
                                  f"'{found}'): {path}") from None
        raise CheckpointError(f"not a checkpoint (corrupt or truncated): {path}") from None
    if not isinstance(data, dict) or "model_state" not in data or "config" not in data:
        raise CheckpointError(f"not a forgetnet checkpoint (no model_state/config): {path}")
    if not isinstance(data["config"], dict) or "model" not in data["config"]:
        raise CheckpointError(f"checkpoint config is missing the model name: {path}")
    return data


# --------------------------------------------------------------------------- listing


@dataclass
class RunInfo:
    """What the runs table shows about one run directory."""

    path: Path
    name: str
    model: str
    task: str
    state: str
    step: int
    total_steps: int
    last_loss: float | None
    best_eval_accuracy: float | None
    updated: float | None
    started: float | None
    error: str | None
    sweep: str | None = None
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def age(self) -> float | None:
        """Seconds since the run last wrote its status."""
        return None if self.updated is None else max(0.0, time.time() - self.updated)


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_FILE).exists() or (path / STATUS_FILE).exists()


def run_info(run_dir: str | Path) -> RunInfo:
    """Summarize a run directory from its config, status and metrics (cheap enough to poll)."""
    run_dir = Path(run_dir)
    config = read_json(run_dir / CONFIG_FILE) or {}
    status = read_status(run_dir) or {}
    last_loss, best = _scan_metrics_summary(run_dir)
    return RunInfo(
        path=run_dir,
        name=run_dir.name,
        model=str(config.get("model", "?")),
        task=str(config.get("task", "?")),
        state=effective_state(status),
        step=int(status.get("step") or 0),
        total_steps=int(status.get("total_steps") or config.get("steps") or 0),
        last_loss=last_loss,
        best_eval_accuracy=best,
        updated=status.get("updated"),
        started=status.get("started"),
        error=status.get("error"),
        sweep=status.get("sweep") or config.get("sweep"),
        config=config,
    )


class _Summary:
    """Latest training loss and best held-out accuracy of one metrics.jsonl, kept up to date incrementally."""

    def __init__(self, path: Path):
        self.tail = MetricsTail(path)
        self.last_loss: float | None = None
        self.best: float | None = None

    def update(self) -> tuple[float | None, float | None]:
        records, _ = self.tail.read_new()
        if self.tail.reset:
            self.last_loss = self.best = None
        for r in records:
            if r.get("kind") == "train" and isinstance(r.get("loss"), (int, float)):
                self.last_loss = float(r["loss"])
            elif r.get("kind") == "eval" and isinstance(r.get("eval_accuracy"), (int, float)):
                acc = float(r["eval_accuracy"])
                self.best = acc if self.best is None else max(self.best, acc)
        return self.last_loss, self.best


_SUMMARIES: dict[Path, _Summary] = {}


def _scan_metrics_summary(run_dir: Path) -> tuple[float | None, float | None]:
    """(latest training loss, best held-out accuracy), reading only what was appended since the last call."""
    path = run_dir / METRICS_JSONL
    summary = _SUMMARIES.get(path)
    if summary is None:
        summary = _SUMMARIES[path] = _Summary(path)
    return summary.update()


def list_runs(root: str | Path) -> list[RunInfo]:
    """Every training run under `root` (one level, plus one level inside sweep folders), newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found: list[RunInfo] = []
    for child in root.iterdir():
        if not child.is_dir() or child.name.startswith("eval-"):
            continue
        if is_run_dir(child):
            found.append(run_info(child))
        elif (child / "sweep.json").exists():
            for grandchild in child.iterdir():
                if grandchild.is_dir() and is_run_dir(grandchild):
                    info = run_info(grandchild)
                    info.sweep = info.sweep or child.name
                    found.append(info)
    found.sort(key=lambda r: (r.started or r.updated or 0.0, r.name), reverse=True)
    return found


def find_run_dir(root: str | Path, name: str) -> Path | None:
    """A run directory by name (or path), searching sweep folders too."""
    direct = Path(name)
    if direct.is_dir() and is_run_dir(direct):
        return direct
    for info in list_runs(root):
        if info.name == name:
            return info.path
    return None
