"""`--jobs` and `--executor`, declared once (hwnas/cli/_common.py) for every command that
takes them: an `--executor` that names no executor is refused while the options are
parsed, with the values it takes, before anything runs (no store opened, no worker, no
search started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hwnas.cli import main

#: Every command that takes --executor, with the other options it needs.
COMMANDS = {
    "search": ["search", "--space", "nb201"],
    "worker": ["worker", "--device", "local", "--exit-when-idle"],
    "profile": ["profile", "--space", "nb201", "--sample", "2"],
    "lut build": ["lut", "build", "--space", "nb201", "--device", "local"],
}


def test_every_command_with_executor_is_listed() -> None:
    import hwnas.cli as cli

    folder = Path(cli.__file__).parent
    declaring = {p.stem for p in folder.glob("*_cmd.py") if "executor_option(" in p.read_text()}
    assert declaring == {"search_cmd", "worker_cmd", "profile_cmd", "lut_cmd"}
    for path in folder.glob("*.py"):  # declared once, in _common.py
        if path.name != "_common.py":
            assert '"--executor"' not in path.read_text() and '"--jobs"' not in (
                path.read_text().replace('"--jobs", help="List the pending jobs too."', "")
            ), path


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("bad", ["ftp://x", "dask://", "dask://host", "tcp://:8786"])
def test_an_executor_that_names_none_is_refused_before_anything_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: str, bad: str
) -> None:
    import hwnas.profiler.api
    import hwnas.profiler.worker
    import hwnas.search.api

    def ran(*args: object, **kwargs: object) -> None:
        raise AssertionError("the command ran")

    for module, name in [
        (hwnas.search.api, "search"),
        (hwnas.profiler.worker, "run_worker"),
        (hwnas.profiler.api, "profile_space"),
        (hwnas.profiler.api, "profile"),
    ]:
        monkeypatch.setattr(module, name, ran)
    code = main([*COMMANDS[command], "--executor", bad])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Invalid value for '--executor'" in err and repr(bad) in err
    assert "must be 'local' or a Dask scheduler's address such as dask://HOST:8786" in err
    assert not Path(os.environ["HWNAS_STORE"]).exists()  # no store opened, let alone used


def test_jobs_and_executor_help_is_kept_per_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "--jobs" in text and "-j" in text and "Export (and quantize) the queued" in text
    assert "Export on this Dask cluster (dask://HOST:PORT;" in text
    assert main(["search", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    assert "Evaluate a package.module:function accuracy on this Dask cluster" in text
