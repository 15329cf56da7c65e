"""The import layers of DESIGN.md, checked by walking every module's AST.

core (hwnas, less hwnas.cli) <- devices <- profiler <- predictors <- search <- hwnas.cli:
a module may import its own layer or a lower one, never a higher one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("hwnas", "devices", "profiler", "predictors", "search")
RANK = {"core": 0, "devices": 1, "profiler": 2, "predictors": 3, "search": 4, "cli": 5}


def layer_of(module: str) -> str | None:
    top = module.split(".")[0]
    if top not in PACKAGES:
        return None
    if module in {"hwnas.cli", "hwnas.__main__"} or module.startswith("hwnas.cli."):
        return "cli"
    return "core" if top == "hwnas" else top


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(tree: ast.AST, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) for every import; with top_level_only, not those inside functions."""
    found = []
    nodes = ast.iter_child_nodes(tree) if top_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif top_level_only and isinstance(node, (ast.If, ast.Try, ast.With)):
            found += imports(ast.Module(body=list(ast.iter_child_nodes(node)), type_ignores=[]),
                             top_level_only=True)  # fmt: skip
    return found


def all_modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down_the_layers(path: Path) -> None:
    source = module_name(path)
    own = layer_of(source)
    assert own is not None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    upward = [
        f"line {line}: {target} ({layer_of(target)})"
        for line, target in imports(tree)
        if (layer := layer_of(target)) is not None and RANK[layer] > RANK[own]
    ]
    assert not upward, f"{source} ({own}) imports from a higher layer: {upward}"


def test_core_does_not_import_torch_at_import_time() -> None:
    offenders = []
    for path in all_modules():
        if layer_of(module_name(path)) != "core":
            continue
        for line, target in imports(ast.parse(path.read_text()), top_level_only=True):
            if target.split(".")[0] in {"torch", "onnxscript", "torchvision"}:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, offenders


def test_runner_imports_only_stdlib_numpy_onnxruntime() -> None:
    import sys

    tree = ast.parse((ROOT / "profiler" / "runner.py").read_text())
    allowed = set(sys.stdlib_module_names) | {"numpy", "onnxruntime", "__future__"}
    bad = [f"line {ln}: {m}" for ln, m in imports(tree) if m.split(".")[0] not in allowed]
    assert not bad, f"profiler/runner.py is copied to devices and may not import {bad}"


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    # The walk must see imports nested in functions, or it guards nothing.
    tree = ast.parse("def f():\n    from search.nsga import run\n")
    assert [m for _, m in imports(tree)] == ["search.nsga"]
    assert RANK[layer_of("search.nsga") or ""] > RANK["core"]
    assert [m for _, m in imports(tree, top_level_only=True)] == []
