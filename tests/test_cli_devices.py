"""`hwnas devices add | list | remove | check` and the registry file."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.cli.devices_cmd import missing_and_fixes, parse_ssh_target
from hwnas.devices.registry import load_registry


def run_cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def registry() -> Path:
    return Path(os.environ["HWNAS_HOME"]) / "devices.toml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pi@192.168.1.20", ("pi", "192.168.1.20", None)),
        ("u0_a123@phone.local:8022", ("u0_a123", "phone.local", 8022)),
        ("pi@[fe80::1]:2222", ("pi", "fe80::1", 2222)),
    ],
)
def test_ssh_targets_parse(text: str, expected: tuple[str, str, int | None]) -> None:
    assert parse_ssh_target(text) == expected


def test_add_list_remove_round_trip_keeps_comments(capsys, tmp_path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key")
    code, out, err = run_cli(
        capsys,
        "devices",
        "add",
        "pi4",
        "--ssh",
        "pi@10.0.0.7:2222",
        "--key",
        key,
        "--workdir",
        "/home/pi/hwnas",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["device"]["port"] == 2222
    text = registry().read_text()
    registry().write_text(text + "# my own note\n")
    assert run_cli(capsys, "devices", "add", "phone", "--adb", "R5CT10ABC")[0] == 0
    assert "# my own note" in registry().read_text()
    devices = load_registry()
    assert devices["pi4"].user == "pi" and devices["pi4"].key == str(key.resolve())
    assert devices["phone"].transport == "adb" and devices["phone"].address == "R5CT10ABC"
    code, out, _ = run_cli(capsys, "devices", "list", "--json")
    assert [d["name"] for d in json.loads(out)["devices"]] == ["local", "pi4", "phone"]
    code, out, _ = run_cli(capsys, "devices", "list")
    assert "pi@10.0.0.7:2222" in out and "this machine" in out
    assert run_cli(capsys, "devices", "remove", "phone")[0] == 0
    assert set(load_registry()) == {"local", "pi4"}
    assert "# my own note" in registry().read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--ssh", "no-at-sign"], "is not USER@HOST[:PORT]"),
        (["x", "--ssh", "pi@host:70000"], "port 70000 is not in 1..65535"),
        (["x"], "exactly one of --ssh"),
        (["x", "--ssh", "pi@h", "--adb", "S"], "exactly one of --ssh"),
        (["x", "--ssh", "pi@h", "--key", "/nonexistent/key"], "no such file"),
        (["x", "--adb", "S", "--key", "k"], "for --ssh devices only"),
        (["local", "--ssh", "pi@h"], "'local' is built in"),
        (["bad name", "--ssh", "pi@h"], "without spaces"),
        (["x", "--ssh", "pi@h", "--threads", "0"], "threads must be >= 1"),
    ],
)
def test_bad_device_definitions_are_refused(capsys, args: list[str], message: str) -> None:
    code, _, err = run_cli(capsys, "devices", "add", *args)
    assert code == 2 and message in err and "Traceback" not in err
    assert not registry().exists()


def test_duplicates_need_replace_and_unknown_removals_list_devices(capsys) -> None:
    assert run_cli(capsys, "devices", "add", "pi", "--ssh", "pi@a")[0] == 0
    code, _, err = run_cli(capsys, "devices", "add", "pi", "--ssh", "pi@b")
    assert code == 2 and "already registered" in err and "--replace" in err
    assert run_cli(capsys, "devices", "add", "pi", "--ssh", "pi@b", "--replace")[0] == 0
    assert load_registry()["pi"].address == "b"
    code, _, err = run_cli(capsys, "devices", "remove", "nope")
    assert code == 2 and "unknown device 'nope'; known devices: local, pi" in err


def test_a_broken_registry_is_reported_not_overwritten(capsys) -> None:
    registry().parent.mkdir(parents=True, exist_ok=True)
    registry().write_text("[devices.pi\ntransport = ")
    code, _, err = run_cli(capsys, "devices", "add", "x", "--ssh", "pi@h")
    assert code == 2 and "is not valid TOML" in err
    assert registry().read_text() == "[devices.pi\ntransport = "


def test_check_the_local_device(capsys) -> None:
    code, out, err = run_cli(capsys, "devices", "check", "local", "--json")
    assert code == 0, err
    doc = json.loads(out)
    report = doc["report"]
    assert doc["ready"] is True and report["numpy"] and report["onnxruntime"]
    assert report["cores"] >= 1 and report["disk_free_mb"] > 0
    assert isinstance(report["energy_meters"], list)
    code, out, err = run_cli(capsys, "devices", "check", "local")
    assert code == 0 and "onnxruntime" in out and "ready to profile" in err


def test_missing_packages_come_with_the_command_that_installs_them() -> None:
    report = {
        "python": "3.11.2",
        "numpy": "1.26",
        "onnxruntime": None,
        "pip": "23",
        "governor": "ondemand",
        "disk_free_mb": 50.0,
        "disk_checked": "/home/pi",
    }
    problems = {p["what"]: p["fix"] for p in missing_and_fixes(report, "python3")}
    assert problems["onnxruntime not importable by python3"] == (
        "python3 -m pip install --user onnxruntime"
    )
    assert any("governor is 'ondemand'" in w for w in problems)
    assert any("only 50 MB free" in w for w in problems)
    old = missing_and_fixes({"python": "3.6.9", "numpy": None, "onnxruntime": None}, "py")
    assert "too old" in old[0]["what"] and "ensurepip" in old[1]["fix"]


def test_check_reports_meters_from_a_fake_sysfs(tmp_path) -> None:
    from hwnas.profiler.runner import device_report

    root = tmp_path / "root"
    rapl = root / "sys/class/powercap/intel-rapl:0"
    rapl.mkdir(parents=True)
    (rapl / "energy_uj").write_text("123456\n")
    battery = root / "sys/class/power_supply/battery"
    battery.mkdir(parents=True)
    (battery / "current_now").write_text("-350000\n")
    (battery / "voltage_now").write_text("3900000\n")
    hwmon = root / "sys/class/hwmon/hwmon2"
    hwmon.mkdir(parents=True)
    (hwmon / "power1_input").write_text("2100000\n")
    report = device_report(str(root), str(tmp_path / "work" / "not-yet"))["check"]
    meters = {m["meter"]: m for m in report["energy_meters"]}
    assert set(meters) == {"rapl", "power_supply", "hwmon"}
    assert meters["power_supply"]["files"] == ["current_now", "voltage_now"]
    assert report["disk_checked"] == str(tmp_path) and report["disk_free_mb"] > 0
    assert report["caches_kb"] == {} and report["llc_kb"] is None  # none exported


def test_check_reports_the_caches_a_fake_sysfs_exports(tmp_path, capsys) -> None:
    """A Raspberry Pi 4's cpu0 (Cortex-A72: 32 KiB L1d, 48 KiB L1i, a 1 MiB L2 shared
    by the four cores and no L3), written as its kernel writes sysfs; the last level a
    kernel predictor amortises shared weights against is the L2."""
    from hwnas.cli.devices_cmd import _caches
    from hwnas.profiler.runner import device_report, last_level_cache_kb, read_caches_kb

    root = tmp_path / "root"
    cache = root / "sys/devices/system/cpu/cpu0/cache"
    for index, (level, kind, size) in enumerate(
        [("1", "Data", "32K"), ("1", "Instruction", "48K"), ("2", "Unified", "1024K")]
    ):
        folder = cache / f"index{index}"
        folder.mkdir(parents=True)
        for name, value in (("level", level), ("type", kind), ("size", size)):
            (folder / name).write_text(value + "\n")
    (cache / "uevent").write_text("")  # not an index* folder: ignored
    report = device_report(str(root))["check"]
    assert report["caches_kb"] == {"L1d": 32, "L1i": 48, "L2": 1024}
    assert report["llc_kb"] == 1024
    assert _caches(report["caches_kb"]) == "L1d 32 KiB, L1i 48 KiB, L2 1 MiB"
    # an x86 L3 given in MiB; an instruction cache is never the last level; a folder
    # with an unreadable size is skipped
    (cache / "index3").mkdir()
    for name, value in (("level", "3"), ("type", "Unified"), ("size", "32M")):
        (cache / "index3" / name).write_text(value)
    (cache / "index4").mkdir()
    for name, value in (("level", "4"), ("type", "Unified"), ("size", "n/a")):
        (cache / "index4" / name).write_text(value)
    assert read_caches_kb(str(root))["L3"] == 32768
    assert last_level_cache_kb(read_caches_kb(str(root))) == 32768
    assert last_level_cache_kb({"L1i": 32}) is None and _caches(None) == "unknown"


def test_check_install_pip_installs_what_is_missing(capsys, tmp_path) -> None:
    # A faithful fake of a device whose Python lacks onnxruntime: until `pip install`
    # has run, a shadow package on its path makes `import onnxruntime` fail.
    shadow = tmp_path / "shadow" / "onnxruntime"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named onnxruntime')\n")
    marker, log = tmp_path / "installed", tmp_path / "pip.log"
    shim = tmp_path / "device-python"
    shim.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo "$@" >> {log}; '
        f"touch {marker}; exit 0; fi\n"
        f"if [ ! -e {marker} ]; then export PYTHONPATH={shadow.parent}; fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    shim.chmod(0o755)
    registry().parent.mkdir(parents=True, exist_ok=True)
    registry().write_text(f'[devices.fakepi]\ntransport = "local"\npython = "{shim}"\n')
    code, out, err = run_cli(capsys, "devices", "check", "fakepi", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["ready"] is False and doc["report"]["onnxruntime"] is None
    # The shim runs this virtualenv's Python: pip installs into the venv, never --user
    # (pip refuses --user in a venv whose user site is hidden).
    assert doc["report"]["venv"] is True
    assert doc["problems"][0]["fix"] == f"{shim} -m pip install onnxruntime"
    code, out, err = run_cli(capsys, "devices", "check", "fakepi", "--install", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["ready"] is True and doc["installed"] == ["onnxruntime"]
    assert log.read_text().split() == ["-m", "pip", "install", "onnxruntime"]


#: What pip 23+ prints on Debian 12 / Raspberry Pi OS Bookworm (stderr, exit 1).
PEP668_ERROR = """error: externally-managed-environment

× This environment is externally managed
╰─> To install Python packages system-wide, try apt install
    python3-xyz, where xyz is the package you are trying to
    install.

note: If you believe this is a mistake, please contact your Python installation or OS
distribution provider. You can override this, at the risk of breaking your Python
installation or OS, by passing --break-system-packages.
hint: See PEP 668 for the detailed specification.
"""


def _pep668_device(tmp_path: Path, pip_error: str = PEP668_ERROR) -> tuple[Path, Path, Path]:
    """A fake Bookworm device: a system Python (not a venv) lacking onnxruntime, whose
    pip refuses to install (PEP 668) unless --break-system-packages is given, and whose
    `-m venv` makes a venv whose pip installs. Returns (shim, pip log, workdir)."""
    import sysconfig

    shadow = tmp_path / "shadow" / "onnxruntime"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named onnxruntime')\n")
    log, work = tmp_path / "pip.log", tmp_path / "work"
    (tmp_path / "pip-error.txt").write_text(pip_error)
    system = f"{shadow.parent}:{sysconfig.get_path('purelib')}"
    venv_python = (
        "#!/bin/sh\n"
        f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo venv "$@" >> {log}; '
        f"touch {tmp_path}/venv-installed; exit 0; fi\n"
        f"if [ ! -e {tmp_path}/venv-installed ]; then export PYTHONPATH={shadow.parent}; fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    (tmp_path / "venv-python").write_text(venv_python)
    shim = tmp_path / "device-python"
    shim.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then echo system "$@" >> {log}; '
        'case "$*" in *--break-system-packages*) exit 0;; esac; '
        f"cat {tmp_path}/pip-error.txt >&2; exit 1; fi\n"
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then echo system "$@" >> '
        f'{log}; mkdir -p "$4/bin"; cp {tmp_path}/venv-python "$4/bin/python"; '
        'chmod +x "$4/bin/python"; exit 0; fi\n'
        f"export PYTHONPATH={system}\n"
        f'exec {sys._base_executable} "$@"\n'
    )
    shim.chmod(0o755)
    registry().parent.mkdir(parents=True, exist_ok=True)
    registry().write_text(
        f'[devices.fakepi]\ntransport = "local"\npython = "{shim}"\nworkdir = "{work}"\n'
    )
    return shim, log, work


def test_check_install_on_externally_managed_python_uses_a_venv(capsys, tmp_path) -> None:
    shim, log, work = _pep668_device(tmp_path)
    venv_python = f"{work}/venv/bin/python"
    code, out, err = run_cli(capsys, "devices", "check", "fakepi", "--json")
    doc = json.loads(out)
    assert doc["report"]["venv"] is False
    code, out, err = run_cli(capsys, "devices", "check", "fakepi", "--install", "--json")
    assert code == 1, err  # installed, but the registered python still lacks it
    doc = json.loads(out)
    assert doc["installed"] == ["onnxruntime"] and doc["report"]["onnxruntime"]
    assert f"--python {venv_python} --replace" in doc["problems"][0]["fix"]
    assert log.read_text().splitlines() == [
        "system -m pip install --user onnxruntime",
        f"system -m venv --system-site-packages {work}/venv",
        "venv -m pip install onnxruntime",
    ]
    code, out, err = run_cli(
        capsys, "devices", "check", "fakepi", "--install", "--register-venv", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["ready"] is True
    assert load_registry()["fakepi"].python == venv_python
    code, out, err = run_cli(capsys, "devices", "check", "fakepi", "--json")
    assert code == 0 and json.loads(out)["report"]["venv"] is True


def test_check_install_breaks_system_packages_only_when_asked(capsys, tmp_path) -> None:
    _, log, _ = _pep668_device(tmp_path)
    args = ("devices", "check", "fakepi", "--install", "--break-system-packages", "--json")
    run_cli(capsys, *args)
    assert log.read_text().splitlines() == [
        "system -m pip install --user --break-system-packages onnxruntime"
    ]


def test_check_install_shows_pips_own_error(capsys, tmp_path) -> None:
    error = (
        "Defaulting to user installation because normal site-packages is not writeable\n"
        "ERROR: Could not find a version that satisfies the requirement onnxruntime "
        "(from versions: none)\nERROR: No matching distribution found for onnxruntime\n"
    )
    _pep668_device(tmp_path, pip_error=error)
    code, out, err = run_cli(capsys, "devices", "check", "fakepi", "--install")
    assert code != 0
    assert "Could not find a version that satisfies the requirement onnxruntime" in err
    assert "No matching distribution found for onnxruntime" in err


def _add_ssh_device(capsys, sshd, tmp_path: Path, known_hosts: Path) -> None:
    code, _, err = run_cli(
        capsys,
        "devices",
        "add",
        "box",
        "--ssh",
        f"{sshd.user}@127.0.0.1:{sshd.port}",
        "--key",
        sshd.user_key,
        "--known-hosts",
        known_hosts,
        "--python",
        sys.executable,
        "--workdir",
        tmp_path / "box-work",
    )
    assert code == 0, err


def test_trust_on_first_use_says_what_it_recorded(capsys, sshd, tmp_path, monkeypatch) -> None:
    import subprocess

    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    known = tmp_path / "no-ssh-dir-yet" / "known_hosts"
    _add_ssh_device(capsys, sshd, tmp_path, known)
    # Refused, with a hint that works although the directory does not exist yet.
    code, _, err = run_cli(capsys, "devices", "check", "box")
    assert code == 2 and "Traceback" not in err
    assert f"mkdir -p -m 700 {known.parent} && ssh-keyscan -p {sshd.port} 127.0.0.1" in err
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(sshd.host_key_pub)], capture_output=True, text=True
    ).stdout.split()[1]
    code, out, err = run_cli(capsys, "devices", "check", "box", "--trust-on-first-use", "--json")
    assert code == 0, err
    assert json.loads(out)["host_key_recorded"] == {
        "file": str(known),
        "host": f"[127.0.0.1]:{sshd.port}",
        "key_type": "ssh-ed25519",
        "fingerprint": fingerprint,
    }
    assert "recorded the ssh-ed25519 host key" in err and fingerprint in err and str(known) in err
    # Recorded: the next check needs no flag and records (and says) nothing.
    code, out, err = run_cli(capsys, "devices", "check", "box", "--trust-on-first-use")
    assert code == 0, err
    assert "recorded" not in err
    assert known.read_text().count("ssh-ed25519") == 1


def test_devices_add_takes_every_energy_meter_and_refuses_an_unknown_one(capsys) -> None:
    from hwnas.devices.registry import get_device

    code = main(
        ["devices", "add", "meter", "--ssh", "pi@10.0.0.7", "--energy", 'command:"read watts" -n 1']
    )
    assert code == 0, capsys.readouterr().err
    assert get_device("meter").energy == "command:'read watts' -n 1"  # one quoting
    assert main(["devices", "add", "pi5", "--ssh", "pi@10.0.0.8", "--energy", "pmic"]) == 0
    code = main(["devices", "add", "odd", "--ssh", "pi@10.0.0.9", "--energy", "thermocouple"])
    err = capsys.readouterr().err
    assert code == 2 and "--energy" in err and "thermocouple" in err
