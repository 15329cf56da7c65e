"""A real OpenSSH server on 127.0.0.1 for tests (the recipe of FACTS.md, "Real servers").

``SSHServer.start(directory)`` makes an ed25519 host key and a user key in
``directory``, authorizes the user key for the current user, writes an
``sshd_config`` and runs ``/usr/sbin/sshd -D -e`` on a free loopback port until
:meth:`SSHServer.stop`. The server runs on this machine, so a path on the "device"
is a local path: tests keep remote work dirs under their ``tmp_path``.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from hwnas.records import DeviceSpec

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
HOST = "127.0.0.1"
_SETUP_HINT = "run `bash .ci/setup` (it installs openssh-server) and try again"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def make_key(path: Path) -> Path:
    """A fresh ed25519 key pair without passphrase at ``path`` (and ``path.pub``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "hwnas-test", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def _sshd_version() -> tuple[int, int]:
    out = subprocess.run([str(SSHD), "-V"], capture_output=True, text=True, check=False)
    match = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def _banner_shell(directory: Path, banner: str) -> Path:
    """A ForceCommand that prints ``banner`` and then runs the client's command, as a
    login shell whose start-up file prints (``conda activate`` chatter, a motd) does.
    Like such a shell in front of an external sftp-server, it breaks SFTP."""
    path = directory / "banner-shell"
    path.write_text(
        f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(banner)}\n"
        'exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"\n',
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


def _config(directory: Path, port: int, *, sftp: bool = True, banner: str | None = None) -> str:
    lines = [
        f"Port {port}",
        f"ListenAddress {HOST}",
        f"HostKey {directory / 'host_ed25519'}",
        f"AuthorizedKeysFile {directory / 'authorized_keys'}",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UsePAM no",
        f"PidFile {directory / 'sshd.pid'}",
        "LogLevel VERBOSE",
        "MaxStartups 200",
        "MaxSessions 100",
        "MaxAuthTries 20",
        "ClientAliveInterval 5",
        "ClientAliveCountMax 3",
        "UseDNS no",
        "PrintMotd no",
    ]
    if sftp:
        lines.append("Subsystem sftp internal-sftp")
    if banner is not None:
        lines.append(f"ForceCommand {_banner_shell(directory, banner)}")
    if _sshd_version() >= (9, 8):
        # Killed sessions and failed logins would otherwise get 127.0.0.1 refused.
        lines.append("PerSourcePenalties no")
    return "\n".join(lines) + "\n"


def _wait_for_banner(port: int, process: subprocess.Popen[bytes], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


@dataclass
class SSHServer:
    """A running sshd on 127.0.0.1: its port, keys and process."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes]
    user: str
    user_key: Path
    host_key_pub: Path

    @classmethod
    def start(
        cls,
        directory: Path,
        *,
        attempts: int = 3,
        sftp: bool = True,
        banner: str | None = None,
    ) -> SSHServer:
        """Start a server in ``directory``; fails (never skips) if sshd is not installed.

        ``sftp=False`` leaves out ``Subsystem sftp``, like Dropbear without sftp-server or
        a busybox system: only exec channels work. ``banner``: every session prints this
        line on stdout before the command runs (a chatty shell start-up file; SFTP breaks).
        """
        if not SSHD.exists():
            raise RuntimeError(f"the SSH tests need OpenSSH's server at {SSHD}; {_SETUP_HINT}.")
        directory.mkdir(parents=True, exist_ok=True)
        host_key = make_key(directory / "host_ed25519")
        user_key = make_key(directory / "user_ed25519")
        (directory / "authorized_keys").write_text(
            Path(f"{user_key}.pub").read_text(encoding="utf-8"), encoding="utf-8"
        )
        # sshd's privilege-separation directory; only root can (and must) make it.
        if os.geteuid() == 0:
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
        log_path = directory / "sshd.log"
        for _ in range(attempts):
            port = free_port()
            config = directory / "sshd_config"
            config.write_text(_config(directory, port, sftp=sftp, banner=banner), encoding="utf-8")
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    [str(SSHD), "-D", "-e", "-f", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if _wait_for_banner(port, process, timeout=10.0):
                return cls(
                    directory=directory,
                    port=port,
                    process=process,
                    user=getpass.getuser(),
                    user_key=user_key,
                    host_key_pub=Path(f"{host_key}.pub"),
                )
            process.kill()
            process.wait()
        log_tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(
            f"sshd did not start on {HOST} after {attempts} attempts; its log "
            f"({log_path}) ends with:\n{log_tail}\nIf sshd is missing or broken, {_SETUP_HINT}."
        )

    @property
    def host_key_line(self) -> str:
        """The server's known_hosts line: ``[127.0.0.1]:PORT ssh-ed25519 AAAA...``."""
        key_type, key_b64 = self.host_key_pub.read_text(encoding="utf-8").split()[:2]
        return f"[{HOST}]:{self.port} {key_type} {key_b64}"

    def known_hosts(self, tmp_path: Path, name: str = "known_hosts") -> Path:
        """Write a known_hosts file that trusts this server; return its path."""
        path = tmp_path / name
        path.write_text(self.host_key_line + "\n", encoding="utf-8")
        return path

    def device_spec(
        self,
        name: str = "loopback",
        *,
        known_hosts: Path | None = None,
        workdir: Path | str | None = None,
        key: Path | None = None,
        python: str = sys.executable,
        port: int | None = None,
        address: str = HOST,
    ) -> DeviceSpec:
        """A ``ssh`` DeviceSpec for this server (the test's own key and Python by default)."""
        return DeviceSpec(
            name=name,
            transport="ssh",
            address=address,
            user=self.user,
            port=port or self.port,
            key=str(key or self.user_key),
            known_hosts=str(known_hosts) if known_hosts is not None else None,
            python=python,
            workdir=str(workdir) if workdir is not None else None,
        )

    def session_processes(self) -> list[psutil.Process]:
        """The per-connection sshd processes (not the listener, not user commands)."""
        try:
            children = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        found = []
        for child in children:
            try:
                if child.name().startswith("sshd"):
                    found.append(child)
            except psutil.NoSuchProcess:
                continue
        return found

    def kill_sessions(self) -> int:
        """SIGKILL every connection's sshd processes, as a dropped link would end them.

        The listener stays up, so a reconnect works; commands the sessions ran are left
        alone (as on a real device whose network went away). Returns how many died.
        """
        victims = self.session_processes()
        for proc in victims:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(victims, timeout=5)
        return len(victims)

    def stop(self) -> None:
        """Stop the listener and every session. Safe to call twice."""
        if self.process.poll() is None:
            self.kill_sessions()
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
