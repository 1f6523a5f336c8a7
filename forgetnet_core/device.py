"""Device choice: auto picks CUDA, then Apple MPS, then CPU; an absent device is a clear error."""

from __future__ import annotations

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
    """A short human label: the GPU's name, 'Apple MPS', or 'CPU (N threads)'."""
    import torch

    try:
        device = resolve_device(name)
    except DeviceError as exc:
        return f"unavailable ({exc})"
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
