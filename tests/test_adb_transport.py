"""AdbTransport against a fake ``adb`` (tests/fake_adb.py) that behaves like the real one.

The fake hands ``adb shell``'s arguments, joined with spaces, to ``sh -c`` as adb
does, so the quoting tests below would catch a command that reaches the device
unquoted.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import hwnas.devices.adb as adb_module
from hwnas.devices.adb import DEFAULT_WORKDIR, AdbTransport
from hwnas.errors import ConnectionLostError, DeviceError, RunnerError, UnreachableError
from hwnas.profiler.batch import RUNNER_PATH, parse_runner_output
from hwnas.records import DeviceSpec

SERIAL = "R58M12ABC"
FAKE_ADB = Path(__file__).with_name("fake_adb.py")
ECHO_ARGV = "import sys, json; print(json.dumps(sys.argv[1:]))"


@pytest.fixture
def echo_argv(tmp_path: Path) -> str:
    """A script that prints its arguments as JSON, at a path free of shell syntax.

    (``python -c CODE`` would do, but CODE's own parentheses would make a wrongly
    quoted command a syntax error before any injected command could run.)
    """
    script = tmp_path / "echo_argv.py"
    script.write_text(ECHO_ARGV + "\n")
    return str(script)


@dataclass
class FakeDevice:
    root: Path
    workdir: Path
    adb: Path
    log: Path

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def transport(self, serial: str = SERIAL, **kwargs: Any) -> AdbTransport:
        spec = DeviceSpec(
            name="phone",
            transport="adb",
            address=serial,
            python=sys.executable,
            workdir=str(self.workdir),
        )
        return AdbTransport(spec, adb=str(self.adb), **kwargs)


@pytest.fixture
def device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDevice:
    root = tmp_path / "device"
    workdir = root / "data" / "local" / "tmp" / "hwnas"
    root.mkdir()
    shim = tmp_path / "bin" / "adb"
    shim.parent.mkdir()
    shim.write_text(
        f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_ADB))} "$@"\n'
    )
    shim.chmod(0o755)
    log = tmp_path / "adb-calls.jsonl"
    monkeypatch.setenv("FAKE_ADB_ROOT", str(root))
    monkeypatch.setenv("FAKE_ADB_LOG", str(log))
    monkeypatch.setenv("FAKE_ADB_SERIALS", f"emulator-5554,{SERIAL}")
    for name in ("FAKE_ADB_OFFLINE", "FAKE_ADB_LEGACY", "FAKE_ADB_PUSH_FAIL"):
        monkeypatch.delenv(name, raising=False)
    return FakeDevice(root, workdir, shim, log)


# -- how adb is called ----------------------------------------------------------------


def test_every_adb_call_is_an_argument_list_naming_the_serial(
    device: FakeDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[Any, dict[str, Any]]] = []
    real_run = subprocess.run

    def spy(cmd: Any, **kwargs: Any) -> Any:
        seen.append((cmd, kwargs))
        return real_run(cmd, **kwargs)

    monkeypatch.setattr(adb_module.subprocess, "run", spy)
    src = tmp_path / "src.bin"
    src.write_bytes(b"x" * 10)
    with device.transport() as t:
        t.run(["echo", "hi"])
        t.put(src, str(device.workdir / "a.bin"))
        t.get(str(device.workdir / "a.bin"), tmp_path / "back.bin")
        t.stage(src, content_hash="abc", suffix=".bin")

    assert seen and all(isinstance(cmd, list) for cmd, _ in seen)
    assert not any(kw.get("shell") for _, kw in seen)
    calls = device.calls()
    assert len(calls) == len(seen)
    assert all(call[:2] == ["-s", SERIAL] for call in calls)
    assert calls[0] == ["-s", SERIAL, "shell", "echo hi; echo __HWNAS_EXIT__$?"]
    assert {call[2] for call in calls} == {"shell", "push", "pull"}


def test_defaults_and_bad_arguments() -> None:
    spec = DeviceSpec(name="phone", transport="adb", address=SERIAL)
    t = AdbTransport(spec)
    assert (t.workdir, t.python, t.serial, t.adb) == (DEFAULT_WORKDIR, "python3", SERIAL, "adb")
    with pytest.raises(ValueError, match="transport 'adb'"):
        AdbTransport(DeviceSpec(name="pi", transport="ssh", address="pi.local"))
    with pytest.raises(ValueError, match="timeout"):
        AdbTransport(spec, timeout=0)
    with pytest.raises(ValueError, match="argv"):
        t.run([])
    with pytest.raises(ValueError, match="plain file name"):
        t.stage(Path(__file__), content_hash="../../etc/passwd")


# -- run ------------------------------------------------------------------------------


def test_run_returns_output_and_exit_status(device: FakeDevice) -> None:
    code = "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"
    with device.transport() as t:
        done = t.run([sys.executable, "-c", code])
        assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")
        assert done.argv == (sys.executable, "-c", code)
        # Output without a final newline keeps its last line, minus the marker.
        done = t.run([sys.executable, "-c", "print('partial', end='')"])
        assert (done.returncode, done.stdout) == (0, "partial")
        # Output comes back byte for byte: no newline translation without a pty.
        done = t.run([sys.executable, "-c", "import sys; sys.stdout.write('a\\rb\\r\\n')"])
        assert done.stdout == "a\rb\r\n"


def test_exit_status_survives_an_old_adb_that_loses_it(
    device: FakeDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ADB_LEGACY", "1")
    code = "import sys; print('line 1'); print('line 2'); sys.exit(7)"
    with device.transport() as t:
        done = t.run([sys.executable, "-c", code])
    assert done.returncode == 7
    assert done.stdout == "line 1\nline 2\n"  # the pty's \r\n undone


WEIRD = [
    "two words",
    "it's",
    '"double"',
    "semi; touch {canary}",
    "$(touch {canary})",
    "`touch {canary}`",
    "&& touch {canary}",
    "| touch {canary}",
    "> {canary}",
    "$HOME",
    "*",
    "back\\slash",
    "new\nline",
    "",
    "--flag",
    "~",
    "tab\there",
    "ünïcödé",
]


def test_arguments_reach_the_program_verbatim_and_never_run(
    device: FakeDevice, echo_argv: str
) -> None:
    canary = device.root.parent / "CANARY"
    weird = [w.format(canary=canary) for w in WEIRD]
    with device.transport() as t:
        done = t.run([sys.executable, echo_argv, *weird])
    assert not canary.exists()
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == weird


@pytest.mark.parametrize("template", [w for w in WEIRD if "{canary}" in w])
def test_each_injection_alone_is_passed_as_data(
    device: FakeDevice, echo_argv: str, template: str
) -> None:
    # One at a time, so that no other argument's syntax error could mask an injection.
    canary = device.root.parent / "CANARY"
    arg = template.format(canary=canary)
    with device.transport() as t:
        done = t.run([sys.executable, echo_argv, arg])
    assert not canary.exists()
    assert json.loads(done.stdout) == [arg]


def test_the_fake_adb_really_runs_unquoted_metacharacters(device: FakeDevice) -> None:
    # The control for the test above: real adb (and the fake) joins shell arguments
    # with spaces and hands them to sh, so an unquoted `;` runs a second command.
    canary = device.root.parent / "CANARY"
    subprocess.run(
        [str(device.adb), "-s", SERIAL, "shell", "echo", "hi;", "touch", str(canary)],
        capture_output=True,
        check=True,
    )
    assert canary.exists()


def test_a_hanging_program_times_out_as_a_runner_error(device: FakeDevice) -> None:
    start = time.monotonic()
    with device.transport() as t, pytest.raises(RunnerError, match="did not finish within"):
        t.run([sys.executable, "-c", "import time; time.sleep(3)"], timeout=0.5)
    assert time.monotonic() - start < 2.5


# -- files ----------------------------------------------------------------------------


def test_put_and_get_round_trip_binary_files(device: FakeDevice, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 40 + b"\r\n\x00end"
    src = tmp_path / "payload.bin"
    src.write_bytes(payload)
    remote = str(device.workdir / "deep" / "dir with space" / "payload.bin")
    with device.transport() as t:
        t.put(src, remote)
        assert Path(remote).read_bytes() == payload
        t.get(remote, tmp_path / "out" / "copy.bin")
        # A relative remote path lies under the workdir.
        t.put(src, "rel/p.bin")
        assert (device.workdir / "rel" / "p.bin").read_bytes() == payload
    assert (tmp_path / "out" / "copy.bin").read_bytes() == payload
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "copy.bin"]


def test_get_of_a_missing_file_names_it(device: FakeDevice, tmp_path: Path) -> None:
    missing = str(device.workdir / "nope.json")
    with device.transport() as t, pytest.raises(DeviceError, match="no file .*nope.json"):
        t.get(missing, tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_stage_pushes_each_hash_once(device: FakeDevice, tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"onnx bytes")
    with device.transport() as t:
        remote = t.stage(model, content_hash="deadbeef", suffix=".onnx")
        assert remote == f"{device.workdir}/files/deadbeef.onnx"
        assert Path(remote).read_bytes() == b"onnx bytes"
        assert t.stage(model, content_hash="deadbeef", suffix=".onnx") == remote
        assert t.pushes == 1
        t.stage(model, content_hash="cafe", suffix=".onnx")
        assert t.pushes == 2
    # A new transport (a new batch) finds the file on the device and does not resend it.
    with device.transport() as t:
        assert t.stage(model, content_hash="deadbeef", suffix=".onnx") == remote
        assert t.pushes == 0
    # A file of another size under the same name is replaced.
    model.write_bytes(b"other, longer onnx bytes")
    with device.transport() as t:
        t.stage(model, content_hash="deadbeef", suffix=".onnx")
        assert t.pushes == 1
    assert Path(remote).read_bytes() == b"other, longer onnx bytes"
    assert sorted(p.name for p in Path(remote).parent.iterdir()) == [
        "cafe.onnx",
        "deadbeef.onnx",
    ]


def test_a_staged_file_of_the_same_size_but_other_content_is_replaced(
    device: FakeDevice, tmp_path: Path
) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"the real model bytes")
    stale = device.workdir / "files" / "deadbeef.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"X" * model.stat().st_size)  # a corrupt copy: only the size matches
    with device.transport() as t:
        assert t.stage(model, content_hash="deadbeef", suffix=".onnx") == str(stale)
        assert t.pushes == 1
        # Checked once per connection: staging it again asks the device nothing.
        calls = len(device.calls())
        t.stage(model, content_hash="deadbeef", suffix=".onnx")
        assert len(device.calls()) == calls
    assert stale.read_bytes() == b"the real model bytes"
    # The right content is kept: a new connection checks it and sends nothing.
    with device.transport() as t:
        t.stage(model, content_hash="deadbeef", suffix=".onnx")
        assert t.pushes == 0


def _path_without_sha256sum(tmp_path: Path) -> str:
    """A PATH with the tools staging needs but no ``sha256sum`` (an old toybox)."""
    bin_dir = tmp_path / "nosha-bin"
    bin_dir.mkdir()
    for tool in ("sh", "mkdir", "mv", "wc", "cat", "rm"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_without_sha256sum_the_devices_python_checks_the_content(
    device: FakeDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"0123456789")
    stale = device.workdir / "files" / "h2.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"9876543210")
    monkeypatch.setenv("PATH", _path_without_sha256sum(tmp_path))
    with device.transport() as t:
        t.stage(model, content_hash="h2", suffix=".onnx")
        assert t.pushes == 1
    assert stale.read_bytes() == b"0123456789"
    with device.transport() as t:
        t.stage(model, content_hash="h2", suffix=".onnx")
        assert t.pushes == 0  # the Python fallback confirmed the content
    # Neither sha256sum nor a Python: the content cannot be checked, so it is sent again.
    spec = DeviceSpec(
        name="phone",
        transport="adb",
        address=SERIAL,
        python="/no/such/python",
        workdir=str(device.workdir),
    )
    with AdbTransport(spec, adb=str(device.adb)) as t:
        t.stage(model, content_hash="h2", suffix=".onnx")
        assert t.pushes == 1
    assert stale.read_bytes() == b"0123456789"


def test_an_interrupted_push_never_leaves_a_file_under_the_final_name(
    device: FakeDevice, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"0123456789" * 100)
    monkeypatch.setenv("FAKE_ADB_PUSH_FAIL", "1")
    with device.transport() as t, pytest.raises(ConnectionLostError, match="dropped"):
        t.stage(model, content_hash="h1", suffix=".onnx")
    assert not (device.workdir / "files" / "h1.onnx").exists()
    monkeypatch.delenv("FAKE_ADB_PUSH_FAIL")
    with device.transport() as t:
        remote = t.stage(model, content_hash="h1", suffix=".onnx")
    assert Path(remote).read_bytes() == model.read_bytes()


# -- reaching the device --------------------------------------------------------------


def test_an_unknown_serial_is_unreachable_and_says_what_to_check(device: FakeDevice) -> None:
    with device.transport("0123456789ABCDEF") as t:
        with pytest.raises(UnreachableError) as info:
            t.run(["true"])
    assert "0123456789ABCDEF" in info.value.message
    assert "`adb devices`" in info.value.message


def test_an_offline_device_is_unreachable(
    device: FakeDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ADB_OFFLINE", "1")
    with device.transport() as t, pytest.raises(UnreachableError, match="offline") as info:
        t.run(["true"])
    assert SERIAL in info.value.message and "`adb devices`" in info.value.message


def test_a_device_lost_after_answering_is_a_lost_connection(
    device: FakeDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    with device.transport() as t:
        assert t.run(["true"]).returncode == 0
        monkeypatch.setenv("FAKE_ADB_OFFLINE", "1")
        with pytest.raises(ConnectionLostError, match="offline") as info:
            t.run(["true"])
    assert not isinstance(info.value, UnreachableError)


@pytest.mark.parametrize("missing", ["adb-that-is-not-installed", "/nonexistent/bin/adb"])
def test_a_missing_adb_says_to_install_platform_tools(missing: str) -> None:
    spec = DeviceSpec(name="phone", transport="adb", address=SERIAL)
    with AdbTransport(spec, adb=missing) as t, pytest.raises(DeviceError) as info:
        t.run(["true"])
    assert "platform-tools" in info.value.message and missing in info.value.message


def test_reconnect_waits_for_the_device_and_rechecks_staged_files(
    device: FakeDevice, tmp_path: Path
) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"m")
    with device.transport() as t:
        t.stage(model, content_hash="m1", suffix=".onnx")
        before = len(device.calls())
        t.reconnect()
        t.stage(model, content_hash="m1", suffix=".onnx")
        assert t.pushes == 1
        t.close()
        t.close()
    after = [call[2] for call in device.calls()[before:]]
    # wait, answer, size check, content check (once per connection)
    assert after == ["wait-for-device", "shell", "shell", "shell"]
    assert "sha256sum" in device.calls()[-1][3]


def test_reconnect_to_a_device_that_stays_away_is_unreachable(
    device: FakeDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ADB_OFFLINE", "1")
    start = time.monotonic()
    with device.transport(timeout=0.5) as t, pytest.raises(UnreachableError) as info:
        t.reconnect()
    assert time.monotonic() - start < 5
    assert SERIAL in info.value.message and "`adb devices`" in info.value.message


def test_reconnect_reconnects_a_tcp_device_first(
    device: FakeDevice, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_ADB_SERIALS", "192.168.1.50:5555")
    with device.transport("192.168.1.50:5555") as t:
        t.reconnect()
    assert [call[2] for call in device.calls()] == ["connect", "wait-for-device", "shell"]
    assert device.calls()[0] == ["-s", "192.168.1.50:5555", "connect", "192.168.1.50:5555"]


# -- end to end -----------------------------------------------------------------------


def test_the_runner_measures_a_model_through_adb(device: FakeDevice, conv_onnx: Path) -> None:
    with device.transport() as t:
        runner = t.stage(RUNNER_PATH, content_hash="runner", suffix=".py")
        model = t.stage(conv_onnx, content_hash="conv0001", suffix=".onnx")
        done = t.run(
            [t.python, runner, model, "--max-seconds", "0.5", "--target-ci", "0.05"],
            timeout=120,
        )
    doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
    assert doc["ok"] is True
    assert {"n", "median", "ci_low", "ci_high"} <= set(doc["latency_ms"])
    assert doc["latency_ms"]["median"] > 0
    assert runner.startswith(str(device.workdir)) and model.startswith(str(device.workdir))
