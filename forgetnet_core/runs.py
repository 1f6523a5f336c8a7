"""Run directories: config, status, metrics.jsonl tailing, atomic checkpoints and stopping (listing: listing.py)."""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import time
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_JSONL = "metrics.jsonl"
METRICS_JSON = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"
OUTPUT_LOG = "output.log"
STOP_FILE = "stop-requested"  # written by request_stop, read by the trainer every step: a stop that crosses machines
HOST = socket.gethostname()  # status.json's `host`: where a run trains (sweeps through Ray run on several)
REMOTE_STALE_AFTER = 600.0  # seconds: a run on another host that has not written its status for this long is stale

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
    if state == "running":
        host = status.get("host")
        if host and host != HOST:  # another machine: its pid means nothing here, its heartbeat does
            updated = status.get("updated")
            fresh = isinstance(updated, (int, float)) and time.time() - updated < REMOTE_STALE_AFTER
            return "running" if fresh else "stale"
        if not pid_alive(status.get("pid")):
            return "stale"
    return state if state in STATES else "stale"


def request_stop(run_dir: str | Path) -> bool:
    """Ask a running run to stop gracefully (checkpoint, then `stopped`); False if it is not running.

    Writes RUN_DIR/stop-requested, which the trainer checks every step (so a run on another machine
    sharing the runs directory stops too), and sends SIGTERM when the run's process is on this host.
    """
    status = read_status(run_dir)
    if not status or effective_state(status) != "running":
        return False
    try:
        (Path(run_dir) / STOP_FILE).write_text(f"{time.time()}\n")
    except OSError:
        pass
    if status.get("host") in (None, HOST):
        try:
            os.kill(int(status["pid"]), signal.SIGTERM)
        except (ProcessLookupError, PermissionError, KeyError, TypeError, ValueError):
            pass
    return True


def stop_requested(run_dir: str | Path) -> bool:
    """Whether request_stop asked this run to stop (the trainer's per-step check)."""
    return (Path(run_dir) / STOP_FILE).exists()


def clear_stop_request(run_dir: str | Path) -> None:
    """Forget a stop request (a run that starts or resumes was not asked to stop by it)."""
    try:
        (Path(run_dir) / STOP_FILE).unlink()
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------- metrics


class MetricsTail:
    """Reads a growing metrics.jsonl, returning only the records appended since the last call.

    A line without its newline yet is left for the next call (the writer is
    mid-line); a complete line that is not a JSON object is counted in
    `bad_lines` and skipped. If the file shrinks or is replaced by another
    file (a resume rewrites it through a rename), reading restarts from the
    beginning and `reset` is set: the caller should drop what it had.

    With `max_bytes`, a call reads at most that many bytes, so a long file
    (300,000 lines, 80 MB) comes in chunks a caller can show as they arrive;
    `more` then says whether bytes remain and `fraction_read` how far it is.
    """

    def __init__(self, path: str | Path, max_bytes: int | None = None):
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.offset = 0
        self.size = 0  # the file's size at the last call
        self.bad_lines = 0
        self.reset = False
        self.more = False
        self._partial = b""
        self._identity: tuple[int, int] | None = None  # (device, inode) of the file being read

    @property
    def fraction_read(self) -> float:
        return self.offset / self.size if self.size else 1.0

    def read_new(self) -> tuple[list[dict[str, Any]], int]:
        """Return (new records, bad lines found in this call)."""
        self.reset = self.more = False
        try:
            st = self.path.stat()
        except OSError:
            return [], 0
        self.size = st.st_size
        identity = (st.st_dev, st.st_ino)
        replaced = self._identity is not None and identity != self._identity
        self._identity = identity
        if self.size < self.offset or replaced:
            self.offset, self._partial, self.reset = 0, b"", True
        if self.size == self.offset:
            return [], 0
        want = self.size - self.offset if self.max_bytes is None else min(self.max_bytes, self.size - self.offset)
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read(want)
        except OSError:  # deleted or replaced between the stat and the open: the next call sees what is there
            return [], 0
        self.offset += len(chunk)
        self.more = self.offset < self.size
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()  # b"" when the chunk ended on a newline
        records, bad = parse_lines(lines)
        self.bad_lines += bad
        return records, bad


def parse_lines(lines: Iterable[bytes | str]) -> tuple[list[dict[str, Any]], int]:
    """(JSON objects, bad lines) of complete lines; blank lines are neither.

    Bytes lines are parsed with one json.loads of them all as a JSON array (a
    megabyte in ~10 ms); line by line only when some line is not an object.
    """
    lines = [line for line in lines if line and not line.isspace()]
    if lines and all(isinstance(line, bytes) for line in lines):
        try:
            objects = json.loads(b"[" + b",".join(lines) + b"]")  # type: ignore[arg-type]
        except ValueError:
            objects = None
        if objects is not None and len(objects) == len(lines) and all(type(o) is dict for o in objects):
            return objects, 0
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
