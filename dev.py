#!/usr/bin/env python3
"""Set up a local virtual environment and run the lab or the tests: `python3 dev.py lab|test|setup`."""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
# torch is installed first, pinned, so pip never resolves the open range in
# pyproject.toml to a multi-GB build; set FORGETNET_TORCH to choose another.
TORCH = os.environ.get("FORGETNET_TORCH", "torch==2.13.0")
# Extras installed with the project: dev (pytest) always; FORGETNET_EXTRAS=dev,ray,cuda adds Ray and Triton
# (CI does, for their tests: a local Ray instance, and the Triton kernels through its interpreter on CPU).
EXTRAS = os.environ.get("FORGETNET_EXTRAS", "dev")


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def setup() -> None:
    """Create .venv and install the project with its extras (FORGETNET_EXTRAS, default dev); skip when nothing changed."""
    stamp = VENV / ".forgetnet-stamp"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + TORCH.encode() + EXTRAS.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        _run(sys.executable, "-m", "venv", VENV)
    _run(PY, "-m", "pip", "install", "-q", "--upgrade", "pip")
    probe = subprocess.run([str(PY), "-c", "import torch"], capture_output=True)
    if probe.returncode != 0:
        _run(PY, "-m", "pip", "install", "-q", *shlex.split(TORCH))
    _run(PY, "-m", "pip", "install", "-q", "-e", f".[{EXTRAS}]")
    stamp.write_text(want)


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "lab"
    rest = argv[1:]
    if what not in {"lab", "test", "setup"}:
        print("usage: python3 dev.py lab|test|setup [args...]", file=sys.stderr)
        return 2
    setup()
    if what == "setup":
        return 0
    if what == "test":
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    return subprocess.call([str(BIN / "forgetnet-lab"), *rest], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
