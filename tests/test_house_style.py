"""House rules of DESIGN.md that a machine can check: the library prints nothing (the CLI
renders), and functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("hwnas", "devices", "profiler", "predictors", "search")
#: Lines of a function's body (after its docstring) that are "about 60".
MAX_BODY_LINES = 60


def modules() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def is_library(path: Path) -> bool:
    """Everything but the CLI and the on-device runner (a script whose stdout is its answer)."""
    rel = path.relative_to(ROOT).as_posix()
    return not (rel.startswith("hwnas/cli/") or rel in ("hwnas/__main__.py", "profiler/runner.py"))


def printing(tree: ast.AST) -> list[str]:
    """Calls of print, uses of sys.stdout/sys.stderr and Rich imports, by line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id == "print":
                found.append(f"line {node.lineno}: print()")
        elif isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr"):
            if isinstance(node.value, ast.Name) and node.value.id == "sys":
                found.append(f"line {node.lineno}: sys.{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            module = node.module if isinstance(node, ast.ImportFrom) else None
            if any(n.split(".")[0] == "rich" for n in [*names, module or ""]):
                found.append(f"line {node.lineno}: imports rich")
    return found


def long_functions(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        first = body[0]
        if len(body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            body = body[1:]
        lines = (node.end_lineno or node.lineno) - body[0].lineno + 1
        if lines > MAX_BODY_LINES:
            found.append(f"{node.name} (line {node.lineno}): {lines} lines")
    return found


def test_the_checks_see_what_they_look_for() -> None:
    tree = ast.parse("import sys\nfrom rich.table import Table\ndef f():\n    print(1)\n")
    assert printing(tree) == ["line 2: imports rich", "line 4: print()"]
    assert printing(ast.parse("sys.stderr.write('x')\n")) == ["line 1: sys.stderr"]
    assert printing(ast.parse("fingerprint(key)\n")) == []
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_BODY_LINES + 1))
    assert long_functions(ast.parse(f'def g():\n    """doc"""\n{body}\n')) == [
        f"g (line 1): {MAX_BODY_LINES + 1} lines"
    ]
    short = "\n".join(f"    x{i} = {i}" for i in range(MAX_BODY_LINES))
    assert long_functions(ast.parse(f'def g():\n    """doc"""\n{short}\n')) == []


@pytest.mark.parametrize(
    "path", [p for p in modules() if is_library(p)], ids=lambda p: str(p.relative_to(ROOT))
)
def test_the_library_prints_nothing(path: Path) -> None:
    found = printing(ast.parse(path.read_text(encoding="utf-8")))
    assert not found, f"{path.relative_to(ROOT)}: report through hwnas.events instead: {found}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_functions_stay_small(path: Path) -> None:
    found = long_functions(ast.parse(path.read_text(encoding="utf-8")))
    assert not found, f"{path.relative_to(ROOT)}: split into named helpers: {found}"
