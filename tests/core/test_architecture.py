"""The architecture holds: no import cycles in forgetnet_core (function-level imports included), no module over
600 lines in either package, and every module that claims to be torch-free imports no torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "forgetnet_core"
MAX_LINES = 600
# Modules the TUI reads on its UI thread, or that validate input before torch is needed: no torch when imported.
TORCH_FREE = (
    "forgetnet_core.config",
    "forgetnet_core.config.names",
    "forgetnet_core.config.knobs",
    "forgetnet_core.config.training",
    "forgetnet_core.config.evaluation",
    "forgetnet_core.config.model",
    "forgetnet_core.checkpoints",
    "forgetnet_core.difficulty",
    "forgetnet_core.errors",
    "forgetnet_core.generators",
    "forgetnet_core.launch",
    "forgetnet_core.listing",
    "forgetnet_core.matrix",
    "forgetnet_core.results",
    "forgetnet_core.runs",
    "forgetnet_core.stats",
    "forgetnet_core.sweep",
    "forgetnet_core.vocab",
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The forgetnet_core modules `path` imports anywhere (functions included, TYPE_CHECKING blocks not)."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("forgetnet_core"):
                    found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("forgetnet_core"):
                for alias in node.names:  # `from pkg import submodule` imports the submodule
                    sub = f"{mod}.{alias.name}"
                    found.add(sub if sub in known else mod)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known}


def core_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in CORE.rglob("*.py")}
    known = set(files)
    return {name: imports_of(path, known) - {name} for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_forgetnet_core_has_no_import_cycles():
    graph = core_graph()
    assert "forgetnet_core.cli" in graph and graph["forgetnet_core.cli"]  # the reader sees the imports
    assert cycles(graph) == []


@pytest.mark.parametrize("package", ["forgetnet_core", "forgetnet_tui"])
def test_no_module_is_over_600_lines(package):
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / package).rglob("*.py")
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_torch_free_modules_import_no_torch():
    code = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in TORCH_FREE)
    code += "print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert proc.stdout.strip() == "False"
