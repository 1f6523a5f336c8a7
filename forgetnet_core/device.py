"""Device choice (auto picks CUDA, then Apple MPS, then CPU; an absent device is a clear error) and CPU threads."""

from __future__ import annotations

import os
from typing import Any


class DeviceError(ValueError):
    """The asked-for device is not available here; str() is one line."""


def resolve_device(name: str = "auto") -> Any:
    """Return a torch.device for 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."""
    import torch

    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device '{name}' is not available: torch sees no CUDA GPU (use --device cpu or auto)")
        if ":" in name:
            try:
                index = int(name.split(":", 1)[1])
            except ValueError:
                raise DeviceError(f"bad device '{name}' (expected cuda or cuda:N)") from None
            if not 0 <= index < torch.cuda.device_count():
                raise DeviceError(f"device '{name}' is not available: {torch.cuda.device_count()} CUDA device(s)")
        return torch.device(name)
    if name == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' is not available: no Apple Metal backend here (use --device cpu or auto)")
        return torch.device("mps")
    raise DeviceError(f"unknown device '{name}' (choose from auto, cpu, cuda, cuda:N, mps)")


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def describe_device(name: str = "auto") -> str:
    """A short human label: the GPU's name, 'Apple MPS', or 'CPU (N thread(s) per run)' (run_threads)."""
    import torch

    try:
        device = resolve_device(name)
    except DeviceError as exc:
        return f"unavailable ({exc})"
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    threads = run_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''} per run)"


# --------------------------------------------------------------------------- CPU threads
# One policy for how many CPU threads a run (train, eval, demo, a sweep cell, a run the lab launches, the lab's
# evaluation worker) uses. These models are small: one thread trains as fast as torch's default (one per core)
# when the machine is idle, and beside any other busy process the default's threads stall on each other
# (2 cores and one other torch job: `forgetnet train --steps 100` 83.5 s with the default, 14.5 s with one).
DEFAULT_THREADS = 1
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what OpenMP and MKL in a child read when they start


def run_threads(requested: int | None = None) -> int:
    """The CPU threads a run uses: `requested` (--threads) when given, else OMP_NUM_THREADS when set to a
    positive integer (so `OMP_NUM_THREADS=4 forgetnet-lab` reaches the runs it launches), else 1."""
    if requested is not None:
        if int(requested) < 1:
            raise ValueError(f"threads must be at least 1, got {requested}")
        return int(requested)
    text = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()  # OpenMP allows "4,2" (nested levels)
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_THREADS


def use_threads(requested: int | None = None) -> int:
    """Set this process's torch CPU threads by run_threads(); return the count (record it with the run)."""
    import torch

    threads = run_threads(requested)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads


def thread_env(requested: int | None = None) -> dict[str, str]:
    """The environment a child process gets so that it, and the OpenMP/MKL it loads, use run_threads() threads."""
    threads = str(run_threads(requested))
    return {name: threads for name in THREAD_ENV}


def run_device(name: str = "auto", threads: int | None = None) -> Any:
    """resolve_device(name), after setting this process's CPU threads by the policy (use_threads)."""
    use_threads(threads)
    return resolve_device(name)
