"""Where sweep cells run: a device list (--devices cpu | cuda:0,cuda:1,...), K runs per device (--per-device),
placed round-robin: each new cell goes to the device with the fewest cells running on it, first in the list on a tie.

>>> placer = Placer(["cuda:0", "cuda:1"], per_device=2)
>>> [placer.acquire() for _ in range(5)]
['cuda:0', 'cuda:1', 'cuda:0', 'cuda:1', None]
>>> placer.release("cuda:1"); placer.acquire()
'cuda:1'
"""

from __future__ import annotations

DEVICE_KINDS = ("cpu", "cuda", "mps")


def parse_devices(text: str) -> list[str]:
    """'cpu', 'cuda', 'mps' or a comma list such as 'cuda:0,cuda:1' -> the list; ValueError (one line) otherwise."""
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not items:
        raise ValueError(f"--devices: give at least one device (cpu, cuda, cuda:N, mps), got {text!r}")
    for item in items:
        kind, _, index = item.partition(":")
        if kind not in DEVICE_KINDS or (index and (kind != "cuda" or not index.isdigit())):
            raise ValueError(f"--devices: unknown device '{item}' (choose from cpu, cuda, cuda:N, mps)")
    if len(set(items)) != len(items):
        raise ValueError(f"--devices: a device is listed twice in {text!r} (use --per-device for several runs on one)")
    return items


class Placer:
    """Hands out devices to cells, at most `per_device` cells on each at once."""

    def __init__(self, devices: list[str | None], per_device: int = 1) -> None:
        if not devices:
            raise ValueError("no devices to place cells on")
        if per_device < 1:
            raise ValueError(f"--per-device must be at least 1, got {per_device}")
        self.devices = list(devices)
        self.per_device = per_device
        self.running: dict[str | None, int] = {d: 0 for d in self.devices}

    @property
    def capacity(self) -> int:
        return len(self.devices) * self.per_device

    @property
    def busy(self) -> int:
        return sum(self.running.values())

    def acquire(self) -> str | None:
        """A device with a free slot (the least loaded, first in the list on a tie), or None when all are full.

        A placer made with the device list [None] hands out None: the cell keeps its own config's device.
        """
        free = [d for d in self.devices if self.running[d] < self.per_device]
        if not free:
            return None
        device = min(free, key=lambda d: (self.running[d], self.devices.index(d)))
        self.running[device] += 1
        return device

    def has_room(self) -> bool:
        return self.busy < self.capacity

    def release(self, device: str | None) -> None:
        if self.running.get(device, 0) > 0:
            self.running[device] -= 1


__all__ = ["DEVICE_KINDS", "Placer", "parse_devices"]
