"""known_hosts read as OpenSSH reads it: ``@revoked`` and ``@cert-authority`` lines,
hashed names, wildcards and ``[host]:port``, against the real sshd of tests/sshd.py.

Where a file's meaning is in question, OpenSSH's own client is the oracle: each case is
tried with ``ssh -o StrictHostKeyChecking=yes`` and with SSHTransport, and both must
accept or both refuse.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import paramiko
import pytest

from hwnas.devices.known_hosts import KnownHosts, hosts_match
from hwnas.devices.ssh import SSHTransport
from hwnas.errors import HostKeyError
from hwnas.events import Event
from tests.sshd import HOST, SSHServer, make_key


@pytest.fixture(autouse=True)
def _no_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture(scope="module")
def other_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``ssh-ed25519 AAAA...`` of a key the server does not have."""
    key = make_key(tmp_path_factory.mktemp("other") / "other_ed25519")
    return " ".join(Path(f"{key}.pub").read_text(encoding="utf-8").split()[:2])


def server_key(sshd: SSHServer) -> str:
    """``ssh-ed25519 AAAA...`` of the server's host key."""
    return " ".join(sshd.host_key_pub.read_text(encoding="utf-8").split()[:2])


def name(sshd: SSHServer) -> str:
    return f"[{HOST}]:{sshd.port}"


def openssh_accepts(sshd: SSHServer, known_hosts: Path) -> bool:
    """Whether OpenSSH's client, verifying strictly against ``known_hosts``, logs in."""
    done = subprocess.run(
        [
            "ssh",
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            f"UserKnownHostsFile={known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "UpdateHostKeys=no",
            "-o",
            "CheckHostIP=no",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "IdentityAgent=none",
            "-o",
            "ConnectTimeout=10",
            "-i",
            str(sshd.user_key),
            "-p",
            str(sshd.port),
            f"{sshd.user}@{HOST}",
            "true",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return done.returncode == 0


def hwnas_accepts(sshd: SSHServer, known_hosts: Path, *, tofu: bool = False) -> bool:
    try:
        with SSHTransport(sshd.device_spec(known_hosts=known_hosts), trust_on_first_use=tofu):
            return True
    except HostKeyError:
        return False


OK, NO = True, False
CASES = {
    # name -> (whether the key is accepted, the lines), {name}, {hashed}, {server} and
    # {other} filled in: [127.0.0.1]:PORT, that hashed, the server's key, another key.
    "plain": (OK, ["{name} {server}"]),
    "hashed": (OK, ["{hashed} {server}"]),
    "wildcard": (OK, [f"[{HOST[:-1]}?]:* {{server}}"]),
    "star": (OK, ["* {server}"]),
    "in a list": (OK, ["pi.local,{name},10.0.0.9 {server}"]),
    # Negated for [host]:port, so OpenSSH looks the key up under the plain host: "*".
    "negated": (OK, ["*,!{name} {server}"]),
    "negated both": (NO, [f"*,!{{name}},!{HOST} {{server}}"]),
    "port 22 form only": (OK, [f"{HOST} {{server}}"]),
    "port 22 form changed": (NO, [f"{HOST} {{other}}"]),
    "changed": (NO, ["{name} {other}"]),
    "revoked star": (NO, ["{name} {server}", "@revoked * {server}"]),
    "revoked by name": (NO, ["@revoked {name} {server}", "{name} {server}"]),
    "revoked hashed": (NO, ["{name} {server}", "@revoked {hashed} {server}"]),
    "revoked for another host": (OK, ["{name} {server}", "@revoked pi.local {server}"]),
    "revoked other key": (OK, ["{name} {server}", "@revoked * {other}"]),
    "revoked in port 22 form only": (OK, ["{name} {server}", f"@revoked {HOST} {{server}}"]),
    "revoked in port 22 form, unknown": (NO, [f"@revoked {HOST} {{server}}"]),
    "cert-authority only": (NO, ["@cert-authority * {other}"]),
    "cert-authority and plain": (OK, ["@cert-authority * {other}", "{name} {server}"]),
    "unknown marker": (NO, ["@foo {name} {server}"]),
    "comment and junk": (OK, ["# {name} {server}", "garbage", "{name} {server} a comment"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hwnas_accepts_exactly_what_openssh_accepts(
    sshd: SSHServer, tmp_path: Path, other_key: str, case: str
) -> None:
    accepted, template = CASES[case]
    hashed = paramiko.HostKeys.hash_host(name(sshd))
    lines = [
        line.format(name=name(sshd), hashed=hashed, server=server_key(sshd), other=other_key)
        for line in template
    ]
    path = tmp_path / "known_hosts"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert openssh_accepts(sshd, path) is accepted  # the oracle agrees with the table
    assert hwnas_accepts(sshd, path) is accepted
    assert path.read_text(encoding="utf-8") == "\n".join(lines) + "\n"


@pytest.mark.parametrize("tofu", [False, True])
@pytest.mark.parametrize("form", ["star", "name", "hashed", "port 22 form"])
def test_a_revoked_key_is_refused_always_naming_the_line(
    sshd: SSHServer, tmp_path: Path, tofu: bool, form: str
) -> None:
    host = {
        "star": "*",
        "name": name(sshd),
        "hashed": paramiko.HostKeys.hash_host(name(sshd)),
        "port 22 form": HOST,  # OpenSSH looks a key new for [host]:port up under host too
    }
    path = tmp_path / "known_hosts"
    # Only the revocation: the key is not recorded, so it would look unknown and
    # trust on first use would record it if @revoked lines were skipped.
    before = f"# revoked after the laptop was stolen\n@revoked {host[form]} {server_key(sshd)}\n"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(HostKeyError, match="REVOKED") as info:
        SSHTransport(sshd.device_spec(known_hosts=path), trust_on_first_use=tofu)
    message = str(info.value)
    assert f"{path} line 2" in message and "@revoked" in message
    assert "--trust-on-first-use does not override it" in message
    assert "ssh-keygen -A" in message
    assert path.read_text(encoding="utf-8") == before


def test_a_revoked_key_beats_the_same_key_recorded_as_plain(
    sshd: SSHServer, tmp_path: Path, other_key: str
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(
        f"{name(sshd)} {server_key(sshd)}\n@revoked * {other_key}\n@revoked * {server_key(sshd)}\n"
    )
    with pytest.raises(HostKeyError, match=f"REVOKED: {path} line 3"):
        SSHTransport(sshd.device_spec(known_hosts=path))


@pytest.mark.parametrize("tofu", [False, True])
def test_a_host_only_a_certificate_authority_vouches_for_is_refused_clearly(
    sshd: SSHServer, tmp_path: Path, other_key: str, tofu: bool
) -> None:
    path = tmp_path / "known_hosts"
    before = f"@cert-authority *.lab,{name(sshd)} {other_key}\n"
    path.write_text(before, encoding="utf-8")
    with pytest.raises(HostKeyError, match="certificate") as info:
        SSHTransport(sshd.device_spec(known_hosts=path), trust_on_first_use=tofu)
    message = str(info.value)
    assert "@cert-authority" in message and f"{path} line 1" in message
    assert "cannot verify SSH host certificates" in message
    assert f"ssh-keyscan -p {sshd.port} {HOST} >> {path}" in message
    assert "SHA256:" in message
    assert path.read_text(encoding="utf-8") == before


def _hint_command(message: str) -> str:
    match = re.search(r"record it yourself with `([^`]+)`", message)
    assert match, message
    return match.group(1)


def test_the_keyscan_hint_works_where_the_ssh_directory_does_not_exist(
    sshd: SSHServer, tmp_path: Path
) -> None:
    path = tmp_path / "home" / ".ssh" / "known_hosts"  # no ~/.ssh yet
    spec = sshd.device_spec(known_hosts=path)
    with pytest.raises(HostKeyError) as info:
        SSHTransport(spec)
    command = _hint_command(str(info.value))
    assert command.startswith(f"mkdir -p -m 700 {path.parent} && ssh-keyscan -p {sshd.port}")
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert path.parent.stat().st_mode & 0o777 == 0o700
    with SSHTransport(spec) as ssh:  # what the hint recorded verifies the device
        assert ssh.run(["true"]).returncode == 0


def test_trust_on_first_use_says_what_it_recorded(sshd: SSHServer, tmp_path: Path) -> None:
    path = tmp_path / "known_hosts"
    events: list[Event] = []
    spec = sshd.device_spec(known_hosts=path)
    with SSHTransport(spec, trust_on_first_use=True, progress=events.append) as ssh:
        recorded = ssh.recorded_host_key
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(sshd.host_key_pub)], capture_output=True, text=True
    ).stdout.split()[1]
    assert recorded is not None
    assert recorded.to_dict() == {
        "file": str(path),
        "host": name(sshd),
        "key_type": "ssh-ed25519",
        "fingerprint": fingerprint,
    }
    assert [e.kind for e in events] == ["note"]
    note = events[0].message or ""
    assert "ssh-ed25519" in note and fingerprint in note and str(path) in note
    # Known now: nothing recorded, nothing reported.
    events.clear()
    with SSHTransport(spec, trust_on_first_use=True, progress=events.append) as ssh:
        assert ssh.recorded_host_key is None
    assert events == []


@pytest.mark.parametrize(
    ("hosts", "host", "expected"),
    [
        ("pi.local", "PI.LOCAL", True),
        ("*.lab", "a.b.lab", True),
        ("?.lab", "ab.lab", False),
        ("[10.0.0.?]:2222", "[10.0.0.7]:2222", True),
        ("[10.0.0.7]:2222", "10.0.0.7", False),
        ("*,!bad.lab", "bad.lab", False),
        ("!bad.lab", "good.lab", False),
        ("a.lab,b.lab", "b.lab", True),
        ("|1|bad", "pi.local", False),
        ("[a+b].lab", "[a+b].lab", True),
    ],
)
def test_host_patterns(hosts: str, host: str, expected: bool) -> None:
    assert hosts_match(hosts, host) is expected


def test_a_hashed_name_matches_only_its_host(tmp_path: Path, other_key: str) -> None:
    hashed = paramiko.HostKeys.hash_host("[pi.local]:2222")
    assert hosts_match(hashed, "[PI.local]:2222")
    assert not hosts_match(hashed, "[pi.local]:22")
    path = tmp_path / "known_hosts"
    path.write_text(f"@revoked {hashed} {other_key}\n")
    (line,) = KnownHosts.load(path).lines
    assert (line.marker, line.lineno, line.key_type) == ("@revoked", 1, "ssh-ed25519")


def test_keys_paramiko_cannot_load_are_skipped_not_fatal(
    sshd: SSHServer, tmp_path: Path, other_key: str
) -> None:
    blob = other_key.split()[1]
    path = tmp_path / "known_hosts"
    path.write_text(
        f"{name(sshd)} sk-ssh-ed25519@openssh.com {blob}\n"
        f"{name(sshd)} ecdsa-sha2-nistp256 {blob}\n"
        f"{name(sshd)} ssh-ed25519 AAAA\n"
        f"{name(sshd)} {server_key(sshd)}\n"
    )
    known = KnownHosts.load(path)
    assert [key.get_name() for key in known.trusted_keys(name(sshd))] == ["ssh-ed25519"]
    with SSHTransport(sshd.device_spec(known_hosts=path)) as ssh:
        assert ssh.run(["true"]).returncode == 0
