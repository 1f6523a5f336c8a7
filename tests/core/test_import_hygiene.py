"""forgetnet_core never imports the UI: importing every core module leaves textual (and rich) unloaded."""

import pkgutil
import subprocess
import sys

import forgetnet_core


def test_core_modules_do_not_import_textual():
    names = sorted(m.name for m in pkgutil.walk_packages(forgetnet_core.__path__, "forgetnet_core."))
    assert "forgetnet_core.train" in names and "forgetnet_core.models.forgetnet" in names
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'plotext', 'forgetnet_tui'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == ""


def test_config_and_launch_do_not_import_torch():
    code = "import sys, forgetnet_core.config, forgetnet_core.launch, forgetnet_core.runs; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
