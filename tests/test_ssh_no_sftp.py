"""Devices without SFTP: files go through exec channels (``cat > PATH``, ``cat PATH``).

Two real OpenSSH servers on 127.0.0.1 (tests/sshd.py): one without ``Subsystem sftp``
(as Dropbear without sftp-server, or a busybox system), and one whose sessions print a
banner before every command (a chatty shell start-up file), which breaks SFTP and would
corrupt any file read naively from stdout.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwnas.cli import main
from hwnas.devices.ssh import SSHTransport
from hwnas.errors import ConnectionLostError, DeviceError
from hwnas.profiler.batch import RUNNER_PATH, parse_runner_output
from tests.sshd import SSHServer

BANNER = "Welcome! hwnas-pid:1 (conda) base activated"


@pytest.fixture(autouse=True)
def _no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    server = SSHServer.start(tmp_path_factory.mktemp("sshd-nosftp"), sftp=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chatty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SSHServer]:
    server = SSHServer.start(tmp_path_factory.mktemp("sshd-banner"), banner=BANNER)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["bare", "chatty"])
def server(request: pytest.FixtureRequest) -> SSHServer:
    return request.getfixturevalue(request.param)


def transport(
    server: SSHServer, tmp_path: Path, *, workdir: Path | str | None = None
) -> SSHTransport:
    known = server.known_hosts(tmp_path, name=f"known_hosts_{server.port}")
    return SSHTransport(server.device_spec(known_hosts=known, workdir=workdir))


def test_files_round_trip_over_exec_channels(server: SSHServer, tmp_path: Path) -> None:
    # Binary, larger than a channel window, with lines a reader might take for the
    # wrapper's PID line or the banner.
    data = os.urandom(3_000_000) + b"\nhwnas-pid:42\n" + BANNER.encode() + b"\n\x00"
    local = tmp_path / "blob.bin"
    local.write_bytes(data)
    remote = tmp_path / "device" / "deep" / "dir with space" / "blob.bin"
    with transport(server, tmp_path) as ssh:
        assert ssh.file_channel == "exec"
        ssh.put(local, str(remote))
        assert remote.read_bytes() == data
        ssh.get(str(remote), tmp_path / "back" / "blob.bin")
        assert (tmp_path / "back" / "blob.bin").read_bytes() == data
        assert list((tmp_path / "back").iterdir()) == [tmp_path / "back" / "blob.bin"]
        with pytest.raises(DeviceError, match="fetching .*No such file") as info:
            ssh.get(str(tmp_path / "missing"), tmp_path / "x")
        assert not isinstance(info.value, ConnectionLostError)
        assert not (tmp_path / "x").exists()
        assert ssh.run(["echo", "still fine"]).returncode == 0


def test_staging_over_exec_channels_checks_size_and_content(
    server: SSHServer, tmp_path: Path
) -> None:
    workdir = tmp_path / "device"
    local = tmp_path / "model.onnx"
    local.write_bytes(os.urandom(100_000))
    stale = workdir / "files" / "m1.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(os.urandom(100_000))  # same size, other bytes
    with transport(server, tmp_path, workdir=workdir) as ssh:
        assert ssh.stage(local, content_hash="m1", suffix=".onnx") == str(stale)
        assert ssh.uploads == 1
        ssh.stage(local, content_hash="m1", suffix=".onnx")
        assert ssh.uploads == 1
    assert stale.read_bytes() == local.read_bytes()
    with transport(server, tmp_path, workdir=workdir) as ssh:
        ssh.stage(local, content_hash="m1", suffix=".onnx")
        assert ssh.uploads == 0
    assert sorted(p.name for p in stale.parent.iterdir()) == ["m1.onnx"]


def test_the_default_workdir_resolves_the_home_without_sftp(
    server: SSHServer, tmp_path: Path
) -> None:
    import pwd

    home = os.path.realpath(pwd.getpwnam(server.user).pw_dir)
    with transport(server, tmp_path, workdir="~/elsewhere") as ssh:
        assert ssh.workdir == f"{home}/elsewhere"


def test_a_failing_file_command_says_what_the_device_said(bare: SSHServer, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    local = tmp_path / "model.onnx"
    local.write_bytes(b"onnx")
    with transport(bare, tmp_path, workdir=blocker / "work") as ssh:
        with pytest.raises(DeviceError, match="Not a directory") as info:
            ssh.stage(local, content_hash="m2", suffix=".onnx")
        assert not isinstance(info.value, ConnectionLostError)
        assert "free space and permissions" in str(info.value)
        # `cat > PATH` that fails before reading its stdin, with more to send than a
        # channel window holds: the upload stops, and the error says why.
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(5_000_000))
        (tmp_path / "a-dir").mkdir()
        with pytest.raises(DeviceError, match="Is a directory"):
            ssh.put(big, str(tmp_path / "a-dir"))
        assert ssh.run(["true"]).returncode == 0


def test_the_runner_measures_without_sftp(
    server: SSHServer, tmp_path: Path, conv_onnx: Path
) -> None:
    with transport(server, tmp_path, workdir=tmp_path / "device") as ssh:
        runner = ssh.stage(RUNNER_PATH, content_hash="runner", suffix=".py")
        model = ssh.stage(conv_onnx, content_hash="conv", suffix=".onnx")
        done = ssh.run(
            [ssh.python, runner, model, "--max-seconds", "0.3", "--target-ci", "0.05"],
            timeout=120,
        )
    assert Path(runner).read_bytes() == RUNNER_PATH.read_bytes()
    assert Path(model).read_bytes() == conv_onnx.read_bytes()
    stdout = done.stdout.replace(BANNER + "\n", "")  # framing the output is another matter
    assert parse_runner_output(stdout, done.stderr, done.returncode)["ok"] is True


def test_devices_check_and_profile_work_on_a_device_without_sftp(
    capsys: pytest.CaptureFixture[str], bare: SSHServer, tmp_path: Path, conv_onnx: Path
) -> None:
    def cli(*args: object) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    known = bare.known_hosts(tmp_path)
    target = f"{bare.user}@127.0.0.1:{bare.port}"
    code, _, err = cli(
        "devices",
        "add",
        "dropbear",
        "--ssh",
        target,
        "--key",
        bare.user_key,
        "--known-hosts",
        known,
        "--python",
        sys.executable,
        "--workdir",
        tmp_path / "w",
    )
    assert code == 0, err
    code, out, err = cli("devices", "check", "dropbear", "--json")
    assert code == 0, err
    assert json.loads(out)["report"]["onnxruntime"]
    code, out, err = cli(
        "profile",
        conv_onnx,
        "--device",
        "dropbear",
        "--max-seconds",
        "0.3",
        "--target-ci",
        "0.05",
        "--json",
        "--store",
        tmp_path / "s.db",
    )
    assert code == 0, err
    (record,) = json.loads(out)["measurements"]
    assert record["device"] == "dropbear" and record["latency_ms"]["median"] > 0
