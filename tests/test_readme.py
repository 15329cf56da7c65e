"""The README's Python API section runs as written, from a fresh directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(markdown: str, section: str) -> list[str]:
    """The ```python blocks of the ``## section`` of ``markdown``, in order."""
    start = markdown.index(f"## {section}\n")
    end = markdown.find("\n## ", start + 1)
    body = markdown[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_the_block_finder_reads_only_its_section() -> None:
    text = "## A\n```python\na = 1\n```\n## B\n```python\nb = 2\n```\n```bash\nx\n```\n"
    assert python_blocks(text, "A") == ["a = 1\n"]
    assert python_blocks(text, "B") == ["b = 2\n"]


def test_python_api_examples_run(tmp_path: Path) -> None:
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"), "Python API")
    assert len(blocks) >= 4, "profile, table, predictor and search examples"
    script = tmp_path / "readme_examples.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "HWNAS_STORE"}  # ./hwnas.db, as written
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert (tmp_path / "hwnas.db").exists()
    assert (tmp_path / "pred-raspi4" / "meta.json").exists()
    assert (tmp_path / "search-raspi4" / "search.json").exists()
    assert "{'" in done.stdout  # the event kinds were printed by the example itself


def readme_commands(markdown: str) -> list[list[str]]:
    """Every ``hwnas ...`` command line of the README's bash blocks, split like a shell
    (comments dropped, continuation lines joined)."""
    import shlex

    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            try:
                words = shlex.split(line, comments=True)
            except ValueError:  # a quote spanning lines (a python -c '...' program)
                continue
            while words and words[0] != "hwnas" and not words[0].endswith("/hwnas"):
                words = words[1:]  # e.g. `.venv/bin/hwnas` or `&& hwnas`
            if words:
                commands.append(words[1:])
    return commands


def unknown_options(argv: list[str]) -> list[str]:
    """The options of ``hwnas ARGV`` that its command does not have (empty: all exist)."""
    import typer

    from hwnas.cli import app

    command = typer.main.get_command(app)
    words = list(argv)
    # Typer bundles its own Click; a group is a command with subcommands.
    while getattr(command, "commands", None) and words and not words[0].startswith("-"):
        sub = command.commands.get(words[0])  # type: ignore[attr-defined]
        if sub is None:
            return [f"no command {words[0]!r}"]
        command, words = sub, words[1:]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    known.add("--help")
    given = [w.split("=", 1)[0] for w in words if w.startswith("-") and w != "-"]
    return [w for w in given if w not in known]


def test_the_option_checker_catches_a_missing_option() -> None:
    assert unknown_options(["profile", "m.onnx", "--threads", "2"]) == []
    assert unknown_options(["profile", "m.onnx", "--energy-idle-second", "1"]) == [
        "--energy-idle-second"
    ]
    assert unknown_options(["profile", "m.onnx", "--energy-idle-seconds", "1"]) == []
    assert unknown_options(["nosuch"]) == ["no command 'nosuch'"]
    assert readme_commands("```bash\nx && .venv/bin/hwnas profile a.onnx  # c\n```\n") == [
        ["profile", "a.onnx"]
    ]


def test_every_option_the_readme_names_exists() -> None:
    commands = readme_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(commands) > 20
    wrong = {" ".join(c): bad for c in commands if (bad := unknown_options(c))}
    assert not wrong, wrong


def test_every_option_the_readme_mentions_exists_somewhere() -> None:
    """Prose too: an option named anywhere in the README belongs to an hwnas command or
    to a benchmark script (the README quotes both)."""
    import typer

    from hwnas.cli import app

    known: set[str] = set()

    def collect(command: object) -> None:
        for param in getattr(command, "params", []):
            known.update((*param.opts, *param.secondary_opts))
        for sub in getattr(command, "commands", {}).values():
            collect(sub)

    collect(typer.main.get_command(app))
    for script in (ROOT / "benchmarks").glob("*.py"):
        code = script.read_text()
        known.update(re.findall(r"add_argument\(\s*\"(--[a-z0-9-]+)\"", code))
        negated = r"add_argument\(\s*\"--([a-z0-9-]+)\",\s*action=argparse.BooleanOptionalAction"
        known.update(f"--no-{name}" for name in re.findall(negated, code))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    # Command lines of other tools the README quotes (PostgreSQL's, Dask's) have theirs.
    others = re.compile(r"^\s*(sudo|dask|pip|createdb|createuser|psql)\b.*$", flags=re.M)
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", others.sub("", text)))
    assert not mentioned - known, sorted(mentioned - known)
