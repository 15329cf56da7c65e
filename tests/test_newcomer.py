"""What a new user meets first: the version, the cache location, a space of their own in
the current directory, and measurement tables that tell settings apart."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hwnas
from hwnas.cli import main
from hwnas.config import cache_dir

ROOT = Path(__file__).resolve().parents[1]
HWNAS_SCRIPT = Path(sys.executable).with_name("hwnas")


def test_version_from_python_and_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert hwnas.__version__ == version("hwnas")
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hwnas {hwnas.__version__}"


def test_import_hwnas_is_cheap_and_names_resolve_lazily() -> None:
    code = (
        "import sys, hwnas\n"
        "assert 'torch' not in sys.modules and 'sqlalchemy' not in sys.modules, 'eager'\n"
        "assert callable(hwnas.open_store) and callable(hwnas.search)\n"
        "print(sorted(n for n in ('profile', 'train_predictor', 'search') if n in dir(hwnas)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['profile', 'search', 'train_predictor']"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        hwnas.nothing_here  # noqa: B018


def test_cache_lives_in_the_user_cache_directory(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("HWNAS_HOME", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "hwnas"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "hwnas"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec: absolute only
    assert cache_dir() == tmp_path / ".cache" / "hwnas"
    monkeypatch.setenv("HWNAS_HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / "cache"


def test_spaces_check_finds_a_module_in_the_current_directory(tmp_path: Path) -> None:
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    shutil.copy(ROOT / "tests" / "toy_space.py", pkg / "spaces.py")
    env = {"PATH": str(HWNAS_SCRIPT.parent), "HOME": str(tmp_path), "HWNAS_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(HWNAS_SCRIPT), "spaces", "check", "mypkg.spaces:ToySpace"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    missing = subprocess.run(
        [str(HWNAS_SCRIPT), "spaces", "check", "otherpkg.spaces:ToySpace"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode != 0
    assert "cannot import 'otherpkg.spaces'" in missing.stderr
    assert "current directory" in missing.stderr


def test_export_tells_batch_sizes_and_settings_apart(tmp_path: Path, capsys) -> None:
    from tests.onnx_models import conv_model

    model = conv_model(tmp_path / "dyn.onnx", channels=4, size=8, batch="batch")
    store = tmp_path / "m.db"
    fast = ["--max-seconds", "0.3", "--target-ci", "0.2", "--warmup", "1", "--store", store]
    for batch, threads in ((1, 1), (4, 2)):
        args = ["profile", model, "--shape", f"x={batch}x3x8x8", "--threads", threads, *fast]
        assert main([str(a) for a in args]) == 0, capsys.readouterr().err
    out = tmp_path / "t.csv"
    assert main(["measurements", "export", "-o", str(out), "--store", str(store)]) == 0
    import pandas as pd

    frame = pd.read_csv(out)
    assert sorted(frame["input_shapes"]) == ["x=1x3x8x8", "x=4x3x8x8"]
    assert sorted(frame["threads"]) == [1, 2]
    settings = [json.loads(s) for s in frame["settings"]]
    assert sorted(s["shapes"]["x"][0] for s in settings) == [1, 4]
    assert all("stop_reason" not in s for s in settings)


def test_read_only_commands_create_no_store_and_name_the_one_they_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent = tmp_path / "absent.db"
    assert main(["measurements", "list", "--store", str(absent)]) == 0
    err = capsys.readouterr().err
    assert "no measurements" in err and str(absent) in err
    assert main(["measurements", "list", "--json", "--store", str(absent)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"] == 0 and doc["store"] == str(absent)
    assert main(["measurements", "show", "1", "--store", str(absent)]) != 0
    assert (
        main(["measurements", "export", "-o", str(tmp_path / "t.csv"), "--store", str(absent)]) == 2
    )
    assert "nothing to export" in capsys.readouterr().err
    assert not absent.exists() and not (tmp_path / "t.csv").exists()


def test_nb201_latency_table_is_a_measurement_table(tmp_path: Path) -> None:
    import hwnas.data
    from hwnas.errors import ParameterError
    from hwnas.tables import read_table

    table = hwnas.data.nb201_latency_table("gold_6226")
    assert list(table.columns) == ["arch", "latency_ms"] and len(table) == 15625
    assert (table["latency_ms"] > 0).all()
    with pytest.raises(ParameterError, match="device must be one of raspi4, gold_6226"):
        hwnas.data.nb201_latency_table("pixel")
    table.to_csv(tmp_path / "gold.csv", index=False)
    read = read_table(tmp_path / "gold.csv", metric="latency_ms")  # what training reads
    assert len(read) == 15625 and read["latency_ms"].tolist() == table["latency_ms"].tolist()


def test_energy_idle_seconds_the_readme_names_is_a_setting(
    conv_onnx: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hwnas.profiler.settings import ProfileSettings

    args = ProfileSettings(energy="rapl", energy_idle_seconds=2.5).runner_args()
    assert args[args.index("--energy-idle-seconds") + 1] == "2.5"
    assert "--energy-idle-seconds" not in ProfileSettings().runner_args()  # no meter, no idle
    code = main(["profile", str(conv_onnx), "--energy-idle-seconds", "0"])
    assert code == 2
    assert "--energy-idle-seconds must be > 0" in capsys.readouterr().err
