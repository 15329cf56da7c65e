"""SSHTransport against a real OpenSSH server on 127.0.0.1 (the session fixture ``sshd``).

The server runs on this machine, so the device's paths are local paths: each test keeps
its remote work dir under ``tmp_path`` and can look at what arrived there directly.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import psutil
import pytest

from hwnas.devices.ssh import SSHTransport, fingerprint, known_hosts_name
from hwnas.errors import (
    AuthenticationError,
    ConnectionLostError,
    DeviceError,
    HostKeyError,
    RunnerError,
    UnreachableError,
)
from hwnas.profiler.batch import RUNNER_PATH, parse_runner_output
from tests.sshd import HOST, SSHServer, free_port, make_key

PY = sys.executable


@pytest.fixture(autouse=True)
def _no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the keys a test names take part: no ssh-agent of whoever runs the tests."""
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture
def known_hosts(sshd: SSHServer, tmp_path: Path) -> Path:
    return sshd.known_hosts(tmp_path)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path / "device"


@pytest.fixture
def ssh(sshd: SSHServer, known_hosts: Path, workdir: Path) -> Iterator[SSHTransport]:
    transport = SSHTransport(sshd.device_spec(known_hosts=known_hosts, workdir=workdir))
    yield transport
    transport.close()


def _other_key_b64(tmp_path: Path) -> str:
    key = make_key(tmp_path / "other_ed25519")
    return Path(f"{key}.pub").read_text(encoding="utf-8").split()[1]


def _ssh_keygen_fingerprint(pub: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", str(pub)], capture_output=True, text=True)
    return out.stdout.split()[1]


# -- commands ---------------------------------------------------------------------------


def test_runs_commands_with_returncode_stdout_and_stderr(ssh: SSHTransport) -> None:
    done = ssh.run(["echo", "hello"])
    assert (done.returncode, done.stdout, done.stderr) == (0, "hello\n", "")
    assert done.argv == ("echo", "hello")

    code = "import sys; print('out é'); print('err', file=sys.stderr); sys.exit(3)"
    done = ssh.run([PY, "-c", code])
    assert (done.returncode, done.stdout, done.stderr) == (3, "out é\n", "err\n")
    assert ssh.python == PY


def test_stdin_is_closed_and_a_signal_death_is_not_a_lost_connection(
    ssh: SSHTransport,
) -> None:
    done = ssh.run([PY, "-c", "import sys; print(len(sys.stdin.read()))"], timeout=10)
    assert done.stdout == "0\n"
    done = ssh.run(["sh", "-c", 'echo before; kill -9 "$$"'], timeout=10)
    assert (done.returncode, done.stdout) == (-1, "before\n")
    assert ssh.run(["echo", "still here"]).stdout == "still here\n"


def test_arguments_arrive_verbatim_and_nothing_is_executed(
    ssh: SSHTransport, tmp_path: Path
) -> None:
    canary = tmp_path / "canary"
    args = [
        "a b  c",
        "",
        "it's",
        'say "hi"',
        f"; touch {canary}",
        f"$(touch {canary})",
        f"`touch {canary}`",
        f"&& touch {canary}",
        f"| touch {canary}",
        f"\ntouch {canary}\n",
        f"> {canary}",
        "$HOME",
        "~",
        "*",
        "\\",
        "-c",
        "tab\there",
        "ünïcødé 字",
    ]
    done = ssh.run([PY, "-c", "import json, sys; print(json.dumps(sys.argv[1:]))", *args])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == args
    assert not canary.exists()


def test_large_stdout_and_stderr_are_read_together(ssh: SSHTransport) -> None:
    # 4 MB on each stream, interleaved: reading one after the other would deadlock.
    code = (
        "import sys\n"
        "for _ in range(64):\n"
        "    sys.stdout.write('o' * 65536); sys.stderr.write('e' * 65536)\n"
    )
    done = ssh.run([PY, "-c", code], timeout=30)
    assert done.returncode == 0
    assert (len(done.stdout), len(done.stderr)) == (64 * 65536, 64 * 65536)
    assert set(done.stdout) == {"o"} and set(done.stderr) == {"e"}


def test_command_timeout_stops_the_remote_process(ssh: SSHTransport, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    start = time.monotonic()
    with pytest.raises(RunnerError, match="did not finish within 1 s"):
        ssh.run([PY, "-c", code], timeout=1)
    assert time.monotonic() - start < 6
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the timed-out remote process {pid} is still running")
    # The connection is still good for the next model.
    assert ssh.run(["echo", "next"]).stdout == "next\n"


def test_dropped_connection_is_reported_quickly_and_reconnect_recovers(
    ssh: SSHTransport, sshd: SSHServer
) -> None:
    assert ssh.run(["true"]).returncode == 0
    killer = threading.Timer(1.0, sshd.kill_sessions)
    killer.start()
    start = time.monotonic()
    try:
        with pytest.raises(ConnectionLostError, match="dropped.*reconnect") as info:
            ssh.run(["sleep", "30"], timeout=60)
    finally:
        killer.join()
    assert not isinstance(info.value, UnreachableError)
    assert time.monotonic() - start < 10
    assert "loopback" in str(info.value)

    ssh.reconnect()
    assert ssh.run(["echo", "back"]).stdout == "back\n"

    # A drop between two commands is reported by the next one.
    sshd.kill_sessions()
    with pytest.raises(ConnectionLostError):
        ssh.run(["echo", "never"])
    ssh.reconnect()
    assert ssh.run(["echo", "again"]).stdout == "again\n"


def test_close_is_idempotent_and_a_closed_transport_says_so(ssh: SSHTransport) -> None:
    ssh.close()
    ssh.close()
    with pytest.raises(DeviceError, match="closed"):
        ssh.run(["true"])


# -- files ------------------------------------------------------------------------------


def test_put_and_get_round_trip(ssh: SSHTransport, tmp_path: Path) -> None:
    data = os.urandom(300_000)
    local = tmp_path / "blob.bin"
    local.write_bytes(data)
    remote = tmp_path / "device" / "deep" / "er" / "blob.bin"
    ssh.put(local, str(remote))
    assert remote.read_bytes() == data
    back = tmp_path / "back" / "blob.bin"
    ssh.get(str(remote), back)
    assert back.read_bytes() == data
    with pytest.raises(DeviceError, match="fetching") as info:
        ssh.get(str(tmp_path / "missing"), tmp_path / "x")
    assert not isinstance(info.value, ConnectionLostError)


def test_stage_sends_a_file_once(
    sshd: SSHServer, ssh: SSHTransport, known_hosts: Path, workdir: Path, tmp_path: Path
) -> None:
    data = os.urandom(200_000)
    local = tmp_path / "model.onnx"
    local.write_bytes(data)
    remote = ssh.stage(local, content_hash="abc123", suffix=".onnx")
    assert remote == f"{workdir}/files/abc123.onnx"
    assert Path(remote).read_bytes() == data
    assert (ssh.uploads, ssh.bytes_uploaded) == (1, len(data))

    assert ssh.stage(local, content_hash="abc123", suffix=".onnx") == remote
    assert ssh.uploads == 1

    with SSHTransport(sshd.device_spec(known_hosts=known_hosts, workdir=workdir)) as other:
        assert other.stage(local, content_hash="abc123", suffix=".onnx") == remote
        assert other.uploads == 0
    assert sorted(p.name for p in (workdir / "files").iterdir()) == ["abc123.onnx"]


def test_stage_replaces_a_truncated_file(
    sshd: SSHServer, known_hosts: Path, workdir: Path, tmp_path: Path
) -> None:
    local = tmp_path / "model.onnx"
    local.write_bytes(b"x" * 5000)
    (workdir / "files").mkdir(parents=True)
    (workdir / "files" / "h1.onnx").write_bytes(b"x" * 100)  # left by an older tool
    with SSHTransport(sshd.device_spec(known_hosts=known_hosts, workdir=workdir)) as ssh:
        remote = ssh.stage(local, content_hash="h1", suffix=".onnx")
        assert ssh.uploads == 1
    assert Path(remote).read_bytes() == b"x" * 5000
    assert sorted(p.name for p in (workdir / "files").iterdir()) == ["h1.onnx"]


def test_stage_replaces_a_file_of_the_same_size_with_other_content(
    sshd: SSHServer, known_hosts: Path, workdir: Path, tmp_path: Path
) -> None:
    local = tmp_path / "model.onnx"
    local.write_bytes(os.urandom(5000))
    stale = workdir / "files" / "h2.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(os.urandom(5000))  # corrupt: only the size matches
    with SSHTransport(sshd.device_spec(known_hosts=known_hosts, workdir=workdir)) as ssh:
        assert ssh.stage(local, content_hash="h2", suffix=".onnx") == str(stale)
        assert ssh.uploads == 1
        assert stale.read_bytes() == local.read_bytes()
        stale.write_bytes(os.urandom(5000))  # changed behind this connection's back:
        ssh.stage(local, content_hash="h2", suffix=".onnx")  # checked once per connection
        assert ssh.uploads == 1
        ssh.reconnect()  # a new connection checks again
        ssh.stage(local, content_hash="h2", suffix=".onnx")
        assert ssh.uploads == 2
    assert stale.read_bytes() == local.read_bytes()
    assert sorted(p.name for p in stale.parent.iterdir()) == ["h2.onnx"]


def test_stage_refuses_a_hash_that_is_not_a_file_name(ssh: SSHTransport, tmp_path: Path) -> None:
    local = tmp_path / "f"
    local.write_bytes(b"1")
    with pytest.raises(ValueError, match="content_hash"):
        ssh.stage(local, content_hash="../../etc/evil")


def test_default_workdir_is_the_cache_in_the_remote_home(
    sshd: SSHServer, known_hosts: Path
) -> None:
    import pwd

    home = pwd.getpwnam(sshd.user).pw_dir
    with SSHTransport(sshd.device_spec(known_hosts=known_hosts)) as ssh:
        assert ssh.workdir == f"{home}/.cache/hwnas"
    with SSHTransport(sshd.device_spec(known_hosts=known_hosts, workdir="~/elsewhere")) as ssh:
        assert ssh.workdir == f"{home}/elsewhere"


def test_the_hwnas_runner_runs_over_ssh(ssh: SSHTransport, conv_onnx: Path) -> None:
    runner = ssh.stage(RUNNER_PATH, content_hash="runner", suffix=".py")
    model = ssh.stage(conv_onnx, content_hash="conv", suffix=".onnx")
    done = ssh.run(
        [ssh.python, runner, model, "--max-seconds", "0.5", "--target-ci", "0.05"], timeout=120
    )
    doc = parse_runner_output(done.stdout, done.stderr, done.returncode)
    assert doc["ok"] is True
    assert {"median", "p90", "ci_low", "ci_high"} <= set(doc["latency_ms"])
    assert doc["latency_ms"]["median"] > 0


# -- host keys --------------------------------------------------------------------------


def test_unknown_host_key_is_refused_with_a_trust_hint(sshd: SSHServer, tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    before = f"[{HOST}]:1 ssh-ed25519 {_other_key_b64(tmp_path)}\n"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(HostKeyError) as info:
        SSHTransport(sshd.device_spec(known_hosts=path))
    message = str(info.value)
    assert f"{HOST}:{sshd.port}" in message
    assert "ssh-ed25519" in message
    assert _ssh_keygen_fingerprint(sshd.host_key_pub) in message
    assert str(path) in message
    assert "hwnas devices check loopback --trust-on-first-use" in message
    assert f"ssh-keyscan -p {sshd.port} {HOST} >> {path}" in message
    assert path.read_text(encoding="utf-8") == before


def test_known_hosts_argument_and_default_location(
    sshd: SSHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The spec names none: the argument is used, else ~/.ssh/known_hosts (never created).
    spec = sshd.device_spec()
    with SSHTransport(spec, known_hosts=sshd.known_hosts(tmp_path)) as ssh:
        assert ssh.run(["true"]).returncode == 0
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(HostKeyError, match=str(tmp_path / "home" / ".ssh" / "known_hosts")):
        SSHTransport(spec)
    assert not (tmp_path / "home").exists()


def test_trust_on_first_use_records_the_key(sshd: SSHServer, tmp_path: Path) -> None:
    path = tmp_path / "new" / "dir" / "known_hosts"
    spec = sshd.device_spec(known_hosts=path)
    with SSHTransport(spec, trust_on_first_use=True) as ssh:
        assert ssh.run(["echo", "ok"]).stdout == "ok\n"
    assert path.read_text(encoding="utf-8") == sshd.host_key_line + "\n"
    assert path.stat().st_mode & 0o777 == 0o600
    # The recorded line verifies the next connection without trust on first use.
    with SSHTransport(spec) as ssh:
        assert ssh.run(["true"]).returncode == 0
    assert path.read_text(encoding="utf-8") == sshd.host_key_line + "\n"


def test_trust_on_first_use_appends_to_an_existing_file(sshd: SSHServer, tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    other = f"otherhost ssh-ed25519 {_other_key_b64(tmp_path)}"
    path.write_text(other, encoding="utf-8")  # no final newline
    with SSHTransport(sshd.device_spec(known_hosts=path), trust_on_first_use=True):
        pass
    assert path.read_text(encoding="utf-8").splitlines() == [other, sshd.host_key_line]


def test_hashed_known_hosts_entries_are_understood(sshd: SSHServer, tmp_path: Path) -> None:
    hashed = paramiko.HostKeys.hash_host(known_hosts_name(HOST, sshd.port))
    _, key_type, key_b64 = sshd.host_key_line.split()
    path = tmp_path / "known_hosts"
    path.write_text(f"{hashed} {key_type} {key_b64}\n", encoding="utf-8")
    with SSHTransport(sshd.device_spec(known_hosts=path)) as ssh:
        assert ssh.run(["true"]).returncode == 0


@pytest.mark.parametrize("tofu", [False, True])
def test_changed_host_key_is_refused_even_with_trust_on_first_use(
    sshd: SSHServer, tmp_path: Path, tofu: bool
) -> None:
    path = tmp_path / "known_hosts"
    before = f"[{HOST}]:{sshd.port} ssh-ed25519 {_other_key_b64(tmp_path)}\n"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(HostKeyError, match="CHANGED") as info:
        SSHTransport(sshd.device_spec(known_hosts=path), trust_on_first_use=tofu)
    message = str(info.value)
    assert "man-in-the-middle" in message and "reinstalled" in message
    assert f"ssh-keygen -R '[{HOST}]:{sshd.port}' -f {path}" in message
    assert _ssh_keygen_fingerprint(sshd.host_key_pub) in message
    assert path.read_text(encoding="utf-8") == before


def test_fingerprint_matches_ssh_keygen(sshd: SSHServer) -> None:
    key_type, key_b64 = sshd.host_key_pub.read_text(encoding="utf-8").split()[:2]
    key = paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
    assert fingerprint(key) == _ssh_keygen_fingerprint(sshd.host_key_pub)


# -- authentication and reachability ------------------------------------------------------


def test_wrong_user_key_is_an_authentication_error(
    sshd: SSHServer, known_hosts: Path, tmp_path: Path
) -> None:
    wrong = make_key(tmp_path / "wrong_ed25519")
    with pytest.raises(AuthenticationError, match=f"{sshd.user}@{HOST}") as info:
        SSHTransport(sshd.device_spec(known_hosts=known_hosts, key=wrong))
    assert "authorized_keys" in str(info.value)
    with pytest.raises(AuthenticationError, match="does not exist"):
        SSHTransport(sshd.device_spec(known_hosts=known_hosts, key=tmp_path / "nokey"))


def test_closed_port_is_unreachable(sshd: SSHServer, known_hosts: Path) -> None:
    port = free_port()
    start = time.monotonic()
    with pytest.raises(UnreachableError, match=f"{HOST}:{port}.*refused"):
        SSHTransport(sshd.device_spec(known_hosts=known_hosts, port=port), connect_timeout=2)
    assert time.monotonic() - start < 2


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose SYNs go unanswered, like a host that is off: a listener with
    a full accept queue (Linux drops SYNs then), so a connect to it times out."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind((HOST, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        filler.connect((HOST, port))  # takes the one place in the queue
        yield port


@pytest.mark.parametrize("where", ["blackhole", "silent-port", "dns"])
def test_unreachable_address_fails_within_the_connect_timeout(
    sshd: SSHServer, known_hosts: Path, unanswered_port: int, where: str
) -> None:
    address, port = {
        "blackhole": ("10.255.255.1", 22),  # unroutable; some networks refuse at once
        "silent-port": (HOST, unanswered_port),
        "dns": ("no-such-device.invalid", 22),
    }[where]
    spec = sshd.device_spec(known_hosts=known_hosts, address=address, port=port)
    start = time.monotonic()
    with pytest.raises(UnreachableError, match="cannot reach device 'loopback'") as info:
        SSHTransport(spec, connect_timeout=1)
    assert time.monotonic() - start < 1 + 2
    if where == "silent-port":
        assert f"{HOST}:{port}: no answer within 1 s" in str(info.value)


def test_a_port_that_does_not_speak_ssh_fails_within_the_connect_timeout(
    sshd: SSHServer, known_hosts: Path
) -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never says a word
        silent.bind((HOST, 0))
        silent.listen(4)
        port = silent.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(UnreachableError, match="handshake"):
            SSHTransport(sshd.device_spec(known_hosts=known_hosts, port=port), connect_timeout=1)
        assert time.monotonic() - start < 1 + 2


def test_paramiko_log_records_do_not_reach_the_terminal() -> None:
    """paramiko logs a traceback when a reconnect meets a server that resets before its
    banner; with no handler configured, Python's last-resort handler would print it."""
    import subprocess
    import sys

    code = (
        "import logging, hwnas.devices.ssh\n"
        "logging.getLogger('paramiko.transport').error('Exception (client): boom')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
