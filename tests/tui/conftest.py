"""Fixtures for the TUI tests: a temp runs directory, an in-process launcher, and an app factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forgetnet_tui.app import ForgetNetLab
from forgetnet_tui.launchers import InProcessLauncher


@pytest.fixture
def runs_dir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    root.mkdir()
    return root


@pytest.fixture
def launcher():
    launcher = InProcessLauncher()
    yield launcher
    launcher.shutdown(timeout=30)


@pytest.fixture
def make_app(runs_dir: Path, launcher: InProcessLauncher):
    """ForgetNetLab on the temp runs dir with the in-process launcher and fast polling; no torch import for the header."""

    def make(**kwargs: Any) -> ForgetNetLab:
        options = dict(
            runs_dir=runs_dir,
            launcher=launcher,
            poll_interval=0.1,
            tail_interval=0.05,
            redraw_interval=0.1,
            resolve_device=False,
        )
        options.update(kwargs)
        return ForgetNetLab(**options)

    return make
