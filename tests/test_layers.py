"""The import layers of DESIGN.md, checked by walking every module's AST.

core (hwnas.*, less the rest) <- hwnas.devices <- hwnas.profiler <- hwnas.predictors <-
hwnas.search <- api (the package's own ``hwnas/__init__.py``, which re-exports the
workflows lazily) <- hwnas.cli: a module may import its own layer or a lower one, never a
higher one. The root folders devices/, profiler/, predictors/ and search/ are the
subpackages hwnas.devices ... (setuptools package-dir), and every import says so.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The repository folders of the one installed package ``hwnas``.
FOLDERS = ("hwnas", "devices", "profiler", "predictors", "search")
SUBPACKAGES = ("devices", "profiler", "predictors", "search")
RANK = {"core": 0, "devices": 1, "profiler": 2, "predictors": 3, "search": 4, "api": 5, "cli": 6}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "hwnas":
        return None
    if module == "hwnas":
        return "api"
    if module == "hwnas.__main__" or parts[1] == "cli":
        return "cli"
    return parts[1] if parts[1] in SUBPACKAGES else "core"


def module_name(path: Path) -> str:
    """The installed module name of a repository file (``devices/ssh.py``: hwnas.devices.ssh)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] != "hwnas":
        parts.insert(0, "hwnas")
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
            found += imports(
                ast.Module(body=list(ast.iter_child_nodes(node)), type_ignores=[]),
                top_level_only=True,
            )
    return found


def all_modules() -> list[Path]:
    return sorted(p for pkg in FOLDERS for p in (ROOT / pkg).rglob("*.py"))


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
    tree = ast.parse("def f():\n    from hwnas.search.nsga import run\n")
    assert [m for _, m in imports(tree)] == ["hwnas.search.nsga"]
    assert RANK[layer_of("hwnas.search.nsga") or ""] > RANK["core"]
    assert [m for _, m in imports(tree, top_level_only=True)] == []


def test_module_names_are_the_installed_ones() -> None:
    assert module_name(ROOT / "devices" / "ssh.py") == "hwnas.devices.ssh"
    assert module_name(ROOT / "search" / "__init__.py") == "hwnas.search"
    assert module_name(ROOT / "hwnas" / "cli" / "__init__.py") == "hwnas.cli"
    assert layer_of("hwnas.devices.ssh") == "devices"
    assert layer_of("hwnas.predictors") == "predictors"
    assert layer_of("hwnas.store") == "core"
    assert layer_of("hwnas") == "api"
    assert layer_of("devices.ssh") is None  # not ours: the bare name is a stranger's package


BARE = ("devices", "profiler", "predictors", "search")


def bare_imports(tree: ast.AST) -> list[tuple[int, str]]:
    """Imports of the root folders by their folder name, which the wheel does not install."""
    return [(line, m) for line, m in imports(tree) if m.split(".")[0] in BARE]


def test_checker_sees_bare_imports() -> None:
    tree = ast.parse("import profiler.runner\ndef f():\n    from search import nsga\n")
    assert bare_imports(tree) == [(1, "profiler.runner"), (3, "search")]
    assert bare_imports(ast.parse("from hwnas.search import nsga\n")) == []


def test_every_import_names_the_hwnas_package() -> None:
    folders = (*FOLDERS, "tests", "benchmarks")
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for folder in folders
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, target in bare_imports(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not offenders, f"write `from hwnas.<package> import ...`: {offenders}"


def test_wheel_installs_one_top_level_name(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys
    import zipfile

    src = tmp_path / "src"
    for name in (*FOLDERS, "pyproject.toml", "README.md"):
        item = ROOT / name
        if item.is_dir():
            shutil.copytree(item, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(item, src / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path / "dist"),
            str(src),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = (tmp_path / "dist").glob("hwnas-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        top_level = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        assert zf.read(top_level).decode().split() == ["hwnas"]
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"hwnas"}
    for expected in (
        "hwnas/py.typed",
        "hwnas/devices/ssh.py",
        "hwnas/profiler/runner.py",
        "hwnas/predictors/lgbm.py",
        "hwnas/search/nsga.py",
        "hwnas/data/nb201.parquet",
    ):
        assert expected in names


def test_every_error_class_lives_in_the_one_exception_tree() -> None:
    """httpx's model: one documented module of exceptions; others only re-export them."""
    import importlib
    import pkgutil

    import hwnas
    from hwnas.errors import HwnasError

    for info in pkgutil.walk_packages(hwnas.__path__, "hwnas."):
        if info.name != "hwnas.__main__":
            importlib.import_module(info.name)
    for sub in ("devices", "profiler", "predictors", "search"):
        package = importlib.import_module(f"hwnas.{sub}")
        for info in pkgutil.walk_packages(package.__path__, f"hwnas.{sub}."):
            importlib.import_module(info.name)

    def subclasses(cls: type) -> set[type]:
        found = set(cls.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    private = {"RunInterrupted"}  # internal control flow of a batch, never reaches a user
    elsewhere = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in subclasses(HwnasError)
        if cls.__module__.startswith("hwnas.")
        and cls.__module__ != "hwnas.errors"
        and cls.__name__ not in private
    )
    assert not elsewhere, f"define these in hwnas/errors.py (re-export where needed): {elsewhere}"
